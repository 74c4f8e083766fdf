"""Score the digit reader on a set made by make_digit_strings.py, per condition.

    python scripts/eval_reader.py eval/strings
    python scripts/eval_reader.py eval/strings --model model.npz --limit 140 --json report.json --uncertain-report

Prints a Markdown table, one row per condition and an overall row:

| column | meaning |
|---|---|
| number acc | the reading's digits equal the truth's, line by line (spaces ignored) |
| exact acc | the text is identical, word-gap spaces and line breaks included |
| digit acc | aligned digit matches / truth digits (see `align`) |
| missed, extra, merged, split | segmentation errors, from the predicted boxes (see `match_boxes`) |
| ms/image | mean time of one `read_digits` call, loading the image included |

The truth never contains separators (. , -), only digits, spaces and line breaks.
"""

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path


# --- metrics ----------------------------------------------------------------------------
def digits_only(text):
    """The digits of a text, lines and spaces dropped: "12 5\\n7" -> "1257"."""
    return "".join(ch for ch in text if not ch.isspace())


def number_correct(truth, predicted):
    """Same digits on the same lines: spaces within a line are ignored, the line breaks are not."""
    def lines(text):
        return [line.replace(" ", "") for line in text.strip("\n").split("\n")]
    return lines(truth) == lines(predicted)


def align(truth, predicted):
    """Levenshtein alignment of two digit strings -> counts {"match", "wrong", "missed", "extra"}.

    wrong = substitutions, missed = deletions (a truth digit with nothing read for it),
    extra = insertions (a digit read that is not there). The alignment has the fewest edits,
    and among those the most matches; match + wrong + missed == len(truth),
    match + wrong + extra == len(predicted).
    """
    n, m = len(truth), len(predicted)
    # cost[i][j] = (edits, -matches) to turn truth[:i] into predicted[:j]
    cost = [[(0, 0)] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0] = (i, 0)
    for j in range(1, m + 1):
        cost[0][j] = (j, 0)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            same = truth[i - 1] == predicted[j - 1]
            diagonal = cost[i - 1][j - 1]
            cost[i][j] = min((diagonal[0] + (not same), diagonal[1] - same),
                             (cost[i - 1][j][0] + 1, cost[i - 1][j][1]),
                             (cost[i][j - 1][0] + 1, cost[i][j - 1][1]))
    counts = {"match": 0, "wrong": 0, "missed": 0, "extra": 0}
    i, j = n, m
    while i or j:  # walk back along one optimal path
        if i and j:
            same = truth[i - 1] == predicted[j - 1]
            diagonal = cost[i - 1][j - 1]
            if cost[i][j] == (diagonal[0] + (not same), diagonal[1] - same):
                counts["match" if same else "wrong"] += 1
                i, j = i - 1, j - 1
                continue
        if i and cost[i][j] == (cost[i - 1][j][0] + 1, cost[i - 1][j][1]):
            counts["missed"] += 1
            i -= 1
        else:
            counts["extra"] += 1
            j -= 1
    return counts


def _centre(box):
    x, y, w, h = box
    return x + w / 2, y + h / 2


def _inside(point, box):
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def _nearest(point, boxes, candidates):
    """Among the indexes `candidates`, the box whose centre is nearest to `point` (None if no candidates)."""
    def distance(k):
        cx, cy = _centre(boxes[k])
        return (cx - point[0]) ** 2 + (cy - point[1]) ** 2
    return min(candidates, key=distance, default=None)


def match_boxes(truth_boxes, predicted_boxes):
    """Segmentation errors from boxes (x, y, w, h) -> counts {"missed", "extra", "merged", "split"}.

    Each predicted box is assigned to the truth box that contains its centre (the nearest
    such, when truth boxes overlap), and each truth box to the predicted box that contains
    its centre (likewise). Then:
      merged = predicted boxes holding the centres of 2+ truth boxes (one count per such box)
      split  = truth boxes holding the centres of 2+ predicted boxes (one count per such box)
      missed = truth boxes with no predicted centre inside and whose centre no predicted box holds
      extra  = predicted boxes whose centre is in no truth box and that hold no truth centre
    A correct segmentation scores all zeros, also with touching or overlapping truth boxes.
    """
    truth_of = [_nearest(_centre(p), truth_boxes, [j for j, t in enumerate(truth_boxes) if _inside(_centre(p), t)])
                for p in predicted_boxes]
    pred_of = [_nearest(_centre(t), predicted_boxes,
                        [i for i, p in enumerate(predicted_boxes) if _inside(_centre(t), p)])
               for t in truth_boxes]
    preds_in = defaultdict(int)  # truth index -> predicted centres assigned to it
    for j in truth_of:
        if j is not None:
            preds_in[j] += 1
    truths_in = defaultdict(int)  # predicted index -> truth centres assigned to it
    for i in pred_of:
        if i is not None:
            truths_in[i] += 1
    return {
        "missed": sum(1 for j in range(len(truth_boxes)) if preds_in[j] == 0 and pred_of[j] is None),
        "extra": sum(1 for i in range(len(predicted_boxes)) if truth_of[i] is None and truths_in[i] == 0),
        "merged": sum(1 for i in range(len(predicted_boxes)) if truths_in[i] >= 2),
        "split": sum(1 for j in range(len(truth_boxes)) if preds_in[j] >= 2),
    }


def score(record, text, boxes):
    """All metrics of one image: `record` from truth.jsonl, the reading's text and digit boxes."""
    counts = align(digits_only(record["text"]), digits_only(text))
    return {"number": number_correct(record["text"], text), "exact": record["text"] == text.strip("\n"),
            "truth_digits": len(digits_only(record["text"])), **counts,
            **{"seg_" + k: v for k, v in match_boxes(record["boxes"], boxes).items()}}


# --- report -----------------------------------------------------------------------------
SUMMED = ("truth_digits", "match", "wrong", "missed", "extra", "seg_missed", "seg_extra", "seg_merged", "seg_split")


def summarize(rows):
    """Per-image rows -> {condition: totals}, with "overall" last."""
    groups = defaultdict(list)
    for row in rows:
        groups[row["condition"]].append(row)
    groups = dict(groups)
    groups["overall"] = rows
    summary = {}
    for name, group in groups.items():
        n = len(group)
        totals = {k: sum(r[k] for r in group) for k in SUMMED}
        summary[name] = {
            "images": n,
            "number_acc": sum(r["number"] for r in group) / n,
            "exact_acc": sum(r["exact"] for r in group) / n,
            "digit_acc": totals["match"] / max(1, totals["truth_digits"]),
            "ms_per_image": 1000 * sum(r["seconds"] for r in group) / n,
            "errors": sum(1 for r in group if r.get("error")),
            "wrong_numbers": sum(1 for r in group if not r["number"]),
            "wrong_flagged": sum(1 for r in group if not r["number"] and r["uncertain"]),
            "right_numbers": sum(1 for r in group if r["number"]),
            "right_flagged": sum(1 for r in group if r["number"] and r["uncertain"]),
            **totals,
        }
    return summary


def markdown_table(summary):
    lines = ["| condition | images | number acc | exact acc | digit acc | missed | extra | merged | split | ms/image |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, s in summary.items():
        bold = "**" if name == "overall" else ""
        lines.append(f"| {bold}{name}{bold} | {s['images']} | {100 * s['number_acc']:.1f}% | {100 * s['exact_acc']:.1f}% "
                     f"| {100 * s['digit_acc']:.1f}% | {s['seg_missed']} | {s['seg_extra']} | {s['seg_merged']} "
                     f"| {s['seg_split']} | {s['ms_per_image']:.0f} |")
    return "\n".join(lines)


def uncertain_table(summary):
    """How well the reader's `uncertain` flag catches its wrong numbers (the marks application relies on it)."""
    lines = ["| condition | wrong numbers | flagged uncertain | right numbers | flagged uncertain |",
             "|---|---|---|---|---|"]
    for name, s in summary.items():
        def share(k, n):
            return f"{s[k]} ({100 * s[k] / s[n]:.0f}%)" if s[n] else "0"
        lines.append(f"| {name} | {s['wrong_numbers']} | {share('wrong_flagged', 'wrong_numbers')} "
                     f"| {s['right_numbers']} | {share('right_flagged', 'right_numbers')} |")
    return "\n".join(lines)


def read_truth(folder, limit=None):
    path = Path(folder) / "truth.jsonl"
    if not path.is_file():
        sys.exit(f"eval_reader: {path}: not found (make a set with scripts/make_digit_strings.py --out {folder})")
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    return records[:limit] if limit else records


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a folder made by make_digit_strings.py (images + truth.jsonl)")
    parser.add_argument("--model", action="append",
                        help="a saved model (.npz); several times: their average (tinycnn.load_models); "
                             "default: the reader's own")
    parser.add_argument("--limit", type=int, help="score only the first N images (conditions take turns, so all get some)")
    parser.add_argument("--json", help="write the summary and every image's result here")
    parser.add_argument("--uncertain-report", action="store_true",
                        help="also show how many wrong numbers the reader flagged as uncertain")
    args = parser.parse_args(argv)
    try:
        from tinycnn.read import read_digits
    except ImportError as e:
        sys.exit(f"eval_reader: the reader is not available yet (from tinycnn.read import read_digits: {e})")
    import tinycnn
    model = None
    if args.model:
        try:
            model = tinycnn.load_models(args.model)
        except (OSError, ValueError) as e:
            sys.exit(f"eval_reader: --model: {e}")
    records = read_truth(args.folder, args.limit)
    if not records:
        sys.exit(f"eval_reader: {args.folder}/truth.jsonl has no images")
    folder = Path(args.folder)
    try:  # warm up: the default model loads on the first call, and should not count in the times
        read_digits(folder / records[0]["file"], model=model)
    except tinycnn.ModelFileError as e:
        sys.exit(f"eval_reader: the reader's model cannot be loaded: {e} (pass --model PATH)")
    except Exception:  # noqa: BLE001 -- the loop below records it against the image
        pass
    rows = []
    for k, record in enumerate(records):
        start = time.perf_counter()
        try:
            reading = read_digits(folder / record["file"], model=model)
            text, boxes, uncertain, error = reading.text, [list(d.box) for d in reading.digits], bool(reading.uncertain), None
        except Exception as e:  # a crash on one image is a result, not the end of the run
            text, boxes, uncertain, error = "", [], True, f"{type(e).__name__}: {e}"
        seconds = time.perf_counter() - start
        rows.append({"file": record["file"], "condition": record["condition"], "truth": record["text"], "read": text,
                     "uncertain": uncertain, "seconds": seconds, "error": error, **score(record, text, boxes)})
        if sys.stderr.isatty():
            print(f"\r{k + 1}/{len(records)}", end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    summary = summarize(rows)
    print(markdown_table(summary))
    errors = summary["overall"]["errors"]
    if errors:
        first = next(r for r in rows if r["error"])
        print(f"\n{errors} image(s) raised an error, scored as read empty; first: {first['file']}: {first['error']}")
    if args.uncertain_report:
        print("\n" + uncertain_table(summary))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"folder": str(folder), "model": args.model, "summary": summary, "images": rows}, f, indent=1)
        print(f"\nWrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
