"""Score `tinycnn marks add` on answer sheets made by make_sheets.py: right, flagged, wrong without a flag.

    python scripts/make_sheets.py --out sheets --count 60 --seed 3
    python scripts/eval_sheets.py sheets
    python scripts/eval_sheets.py sheets --model model.npz --min-confidence 0.95

Adds every sheet of the folder to a fresh database in a temporary folder (with the
folder's form.json, or without one the default template: --layout plain), then compares
each stored sheet with truth.jsonl. Prints one line per sheet read wrong (the fields that
differ, truth -> stored, and its status), then `right/total right, N flagged, M silent`:
a *silent* sheet holds a wrong value but is not flagged for review, the one kind of error
a teacher would never see.
"""

import argparse
import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

FIELDS = ("roll", "subject", "marks")


def score(db, records):
    """Each truth record's sheet as stored in the database `db`: a list of
    {"file", "right", "flagged", "wrong": {field: [truth, stored]}, "status"}, in the records' order."""
    from tinycnn.marks.storage import SQLiteStorage

    with SQLiteStorage(db, create=False) as storage:
        by_image = {Path(sheet.image_path).name: sheet for sheet in storage.sheets()}
    missing = [r["file"] for r in records if r["file"] not in by_image]
    if missing:
        raise ValueError(f"{db}: no sheet stored for {', '.join(missing)}")
    results = []
    for record in records:
        sheet = by_image[record["file"]]
        values = sheet.values()
        wrong = {name: [record[name], values[name]] for name in FIELDS if values[name] != record[name]}
        results.append({"file": record["file"], "right": not wrong, "wrong": wrong, "status": sheet.status,
                        "flagged": sheet.status in ("needs_review", "failed")})
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a folder made by make_sheets.py (sheets, truth.jsonl, form.json)")
    parser.add_argument("--model", action="append", help="a saved model (.npz), passed on to `marks add` "
                        "(several times: their average); default: the reader's own")
    parser.add_argument("--min-confidence", help="passed on to `marks add`")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    try:
        records = [json.loads(line) for line in (folder / "truth.jsonl").read_text().splitlines()]
    except (OSError, ValueError) as error:
        sys.exit(f"eval_sheets: {folder / 'truth.jsonl'}: {error}")
    from tinycnn.marks import cli

    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "marks.db"
        argv = ["add", str(folder), "--db", str(db)]
        argv += ["--template", str(folder / "form.json")] if (folder / "form.json").exists() else []  # plain layout
        argv += [arg for path in args.model or [] for arg in ("--model", path)]
        argv += ["--min-confidence", args.min_confidence] if args.min_confidence else []
        with contextlib.redirect_stdout(io.StringIO()):
            if cli.main(argv) == 2:
                sys.exit(f"eval_sheets: `tinycnn marks {' '.join(argv)}` failed (exit 2)")
        results = score(db, records)
    for result in results:
        if not result["right"]:
            changes = ", ".join(f"{name} {truth} -> {got}" for name, (truth, got) in result["wrong"].items())
            print(f"{result['file']}: {changes} ({result['status']})")
    right = sum(r["right"] for r in results)
    flagged = sum(r["flagged"] for r in results)
    silent = sum(not r["right"] and not r["flagged"] for r in results)
    print(f"{right}/{len(results)} right, {flagged} flagged, {silent} silent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
