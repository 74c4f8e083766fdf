"""Tests of scripts/make_digit_strings.py (the evaluation set) and of the metrics in scripts/eval_reader.py."""

import json
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from script_loader import load_script

make = load_script("make_digit_strings")
evaluate = load_script("eval_reader")

SEED = 3
TEXT = re.compile(r"^\d+( \d+)*(\n\d+( \d+)*)*$")  # digits, single spaces inside lines, lines joined by \n


def _generate(out, mnist_dir, seed=SEED):
    assert make.main(["--out", str(out), "--count", str(len(make.CONDITIONS)), "--seed", str(seed),
                      "--data-dir", str(mnist_dir)]) == 0
    with open(out / "truth.jsonl") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, mnist_dir):
    """One image per condition: (folder, records)."""
    out = tmp_path_factory.mktemp("strings")
    return out, _generate(out, mnist_dir)


@pytest.fixture(scope="module")
def test_split(mnist_dir):
    return make.load_test_digits(mnist_dir)


# --- the generator ----------------------------------------------------------------------
def test_each_condition_renders_once(dataset):
    out, records = dataset
    assert [r["condition"] for r in records] == list(make.CONDITIONS)
    for r in records:
        assert r["file"].endswith(".jpg" if r["condition"] == "jpeg" else ".png")
        with Image.open(out / r["file"]) as image:
            if r["condition"] == "colour_ink":
                assert image.mode == "RGB"
            assert 28 <= image.width <= 1100 and 28 <= image.height <= 700, (r["file"], image.size)
            gray = np.asarray(image.convert("L"))
        if r["condition"] == "light_on_dark":
            assert np.median(gray) < 110, "a blackboard is dark"
        else:
            assert np.median(gray) > 120, "paper is light"


def test_truth_format(dataset):
    _, records = dataset
    for r in records:
        assert set(r) >= {"file", "text", "condition", "digits", "boxes", "seed"}
        assert TEXT.match(r["text"]), repr(r["text"])
        digits = r["text"].replace(" ", "").replace("\n", "")
        assert r["digits"] == len(digits) == len(r["boxes"]) == len(r["mnist_test_index"])
        assert 1 <= len(r["text"].split("\n")) <= 3 and r["lines"] == len(r["text"].split("\n"))
        assert all(1 <= len(line.replace(" ", "")) <= 10 for line in r["text"].split("\n"))
        assert isinstance(r["seed"], int)
    multiline = next(r for r in records if r["condition"] == "multiline")
    assert multiline["lines"] >= 2


def test_boxes_lie_in_the_image_on_the_ink(dataset):
    out, records = dataset
    for r in records:
        gray = np.asarray(Image.open(out / r["file"]).convert("L"), dtype=np.float32)
        if r["condition"] == "light_on_dark":
            gray = 255 - gray
        for x, y, w, h in r["boxes"]:
            assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= gray.shape[1] and y + h <= gray.shape[0]
            # the darkest ink in the box stands out from the paper around it, even in a shadow
            around = gray[max(0, y - h // 2):y + h + h // 2, max(0, x - h // 2):x + w + h // 2]
            ink = np.percentile(gray[y:y + h, x:x + w], 5)
            assert ink < np.percentile(around, 90) - 30, (r["file"], (x, y, w, h))


def test_same_seed_same_files(dataset, mnist_dir, tmp_path):
    out, records = dataset
    again = _generate(tmp_path / "again", mnist_dir)
    assert again == records
    for r in records + [{"file": "truth.jsonl"}]:
        assert (tmp_path / "again" / r["file"]).read_bytes() == (out / r["file"]).read_bytes(), r["file"]
    other = _generate(tmp_path / "other", mnist_dir, seed=SEED + 1)
    assert [r["text"] for r in other] != [r["text"] for r in records]


def test_one_image_can_be_remade_from_its_seed(dataset, test_split):
    out, records = dataset
    r = records[0]
    image, truth = make.make_image(r["condition"], np.random.default_rng(r["seed"]), *test_split)
    assert np.array_equal(image, np.asarray(Image.open(out / r["file"])))
    assert truth["text"] == r["text"] and truth["boxes"] == r["boxes"]


def test_load_test_digits_is_the_test_split(test_split, mnist_data):
    _, (x_test, y_test) = mnist_data
    images, labels = test_split
    assert np.array_equal(images, x_test) and np.array_equal(labels, y_test)


def test_digits_come_from_the_test_split(dataset, test_split):
    _, records = dataset
    _, labels = test_split
    for r in records:
        drawn = "".join(str(labels[i]) for i in r["mnist_test_index"])
        assert drawn == r["text"].replace(" ", "").replace("\n", "")


def test_only_the_given_digits_are_drawn(test_split):
    images, labels = test_split
    fake_labels = np.full(20, 7, dtype=np.uint8)  # whatever the pictures, the labels passed in are used
    rng = np.random.default_rng(0)
    for condition in ("clean", "multiline", "separators"):
        _, truth = make.make_image(condition, rng, images[:20], fake_labels)
        assert set(truth["text"]) <= {"7", " ", "\n"}
        assert max(truth["mnist_test_index"]) < 20


@pytest.mark.parametrize("pen", [0.04, 0.08])
def test_a_thin_pen_keeps_a_filled_loop_filled(pen):
    # a "9" whose loop the writer filled in: a blot 12 px across on a stem 3 px wide
    digit = np.zeros((28, 28), np.uint8)
    rows, cols = np.mgrid[:28, :28]
    blot = np.hypot(rows - 10, cols - 14) <= 6
    digit[blot] = 255
    digit[10:24, 17:20] = 255
    height = 60
    ink = make.digit_ink(digit, height, pen * height) > 0.5
    # drawn along its skeleton alone, the blot would become a line through it (a 7 or a 1)
    top = ink[:ink.shape[0] // 2]
    assert ndimage.binary_erosion(top, iterations=round(0.15 * height)).any()  # still a blot 0.3 heights across
    stem = ink[int(0.85 * ink.shape[0])]
    assert np.count_nonzero(stem) <= pen * height + 3  # while the stem is drawn with the thin pen


def test_main_draws_from_load_test_digits(monkeypatch, tmp_path, test_split):
    images, labels = test_split
    calls = []

    def fake_loader(data_dir=None):
        calls.append(data_dir)
        return images[:30], labels[:30]

    monkeypatch.setattr(make, "load_test_digits", fake_loader)
    assert make.main(["--out", str(tmp_path), "--count", "3", "--conditions", "clean,boxes"]) == 0
    records = [json.loads(line) for line in open(tmp_path / "truth.jsonl")]
    assert calls and [r["condition"] for r in records] == ["clean", "boxes", "clean"]
    assert all(i < 30 for r in records for i in r["mnist_test_index"])


def test_unknown_condition_is_named(capsys, tmp_path):
    with pytest.raises(SystemExit):
        make.main(["--out", str(tmp_path), "--conditions", "clean,smudge"])
    assert "'smudge'" in capsys.readouterr().err


# --- the metrics ------------------------------------------------------------------------
@pytest.mark.parametrize("truth, read, expected", [
    ("1234", "1234", {"match": 4, "wrong": 0, "missed": 0, "extra": 0}),
    ("1234", "1284", {"match": 3, "wrong": 1, "missed": 0, "extra": 0}),
    ("1234", "124", {"match": 3, "wrong": 0, "missed": 1, "extra": 0}),
    ("123", "1223", {"match": 3, "wrong": 0, "missed": 0, "extra": 1}),
    ("12", "", {"match": 0, "wrong": 0, "missed": 2, "extra": 0}),
    ("", "5", {"match": 0, "wrong": 0, "missed": 0, "extra": 1}),
    ("1111", "111", {"match": 3, "wrong": 0, "missed": 1, "extra": 0}),
    ("907", "1907", {"match": 3, "wrong": 0, "missed": 0, "extra": 1}),
])
def test_align(truth, read, expected):
    counts = evaluate.align(truth, read)
    assert counts == expected
    assert counts["match"] + counts["wrong"] + counts["missed"] == len(truth)
    assert counts["match"] + counts["wrong"] + counts["extra"] == len(read)


def test_number_correct_ignores_spaces_not_lines():
    assert evaluate.number_correct("12 5", "125")
    assert evaluate.number_correct("12\n5", "1 2\n5")
    assert not evaluate.number_correct("12\n5", "125")
    assert not evaluate.number_correct("125", "126")
    row = evaluate.score({"text": "12 5", "boxes": []}, "125", [])
    assert row["number"] and not row["exact"]


def test_match_boxes():
    truth = [(0, 0, 10, 20), (12, 0, 10, 20), (24, 0, 10, 20)]
    assert evaluate.match_boxes(truth, truth) == {"missed": 0, "extra": 0, "merged": 0, "split": 0}
    merged = [(0, 0, 22, 20), (24, 0, 10, 20)]  # one box over the first two digits
    assert evaluate.match_boxes(truth, merged) == {"missed": 0, "extra": 0, "merged": 1, "split": 0}
    split = [(0, 0, 10, 20), (12, 0, 5, 20), (17, 0, 5, 20), (24, 0, 10, 20)]
    assert evaluate.match_boxes(truth, split) == {"missed": 0, "extra": 0, "merged": 0, "split": 1}
    missed_and_extra = [(0, 0, 10, 20), (24, 0, 10, 20), (50, 0, 8, 8)]
    assert evaluate.match_boxes(truth, missed_and_extra) == {"missed": 1, "extra": 1, "merged": 0, "split": 0}
    assert evaluate.match_boxes(truth, []) == {"missed": 3, "extra": 0, "merged": 0, "split": 0}
    # a thin "1" overlapped by its neighbour's box: found exactly, not merged or split
    overlapping = [(0, 0, 20, 20), (14, 0, 3, 20)]
    assert evaluate.match_boxes(overlapping, overlapping) == {"missed": 0, "extra": 0, "merged": 0, "split": 0}


def test_eval_reader_end_to_end_with_a_perfect_reader(dataset, monkeypatch, capsys, tmp_path):
    out, records = dataset
    truth = {r["file"]: r for r in records}

    def read_digits(path, model=None):  # reads the answer from truth.jsonl
        r = truth[Path(path).name]
        digits = [types.SimpleNamespace(box=tuple(b)) for b in r["boxes"]]
        return types.SimpleNamespace(text=r["text"], digits=digits, uncertain=False)

    monkeypatch.setitem(sys.modules, "tinycnn.read", types.SimpleNamespace(read_digits=read_digits))
    assert evaluate.main([str(out), "--json", str(tmp_path / "report.json"), "--uncertain-report"]) == 0
    table = capsys.readouterr().out
    assert f"| **overall** | {len(records)} | 100.0% | 100.0% | 100.0% | 0 | 0 | 0 | 0 |" in table
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"]["overall"]["truth_digits"] == sum(r["digits"] for r in records)


def test_eval_reader_without_a_reader_says_so(dataset, monkeypatch, capsys):
    out, _ = dataset
    monkeypatch.setitem(sys.modules, "tinycnn.read", None)  # makes the import fail
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main([str(out)])
    assert "tinycnn.read" in str(exit_info.value) and "\n" not in str(exit_info.value)
