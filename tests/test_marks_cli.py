"""The marks command end to end, on answer sheets rendered by scripts/make_sheets.py:
accuracy with no silent errors, re-adding, conflicts, review/fix/export, bad input,
a batch killed part-way, and two batches at once."""

import contextlib
import csv
import io
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from script_loader import load_script
from tinycnn.marks import cli, forms
from tinycnn.marks.storage import SQLiteStorage

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "tinycnn" / "weights"
MODEL = WEIGHTS / "reader_cnn.npz"  # one network of the reader's default model: --model given explicitly
FIELDS = ("roll", "subject", "marks")


make_sheets = load_script("make_sheets")
eval_sheets = load_script("eval_sheets")


@pytest.fixture(scope="session")
def test_digits(mnist_dir):
    return make_sheets.load_test_digits(mnist_dir)


@pytest.fixture(scope="session")
def sheets(tmp_path_factory, test_digits):
    """20 full-size sheets (1200 x 1600): (folder, truth records)."""
    out = tmp_path_factory.mktemp("sheets")
    return out, make_sheets.generate(out, 20, 0, *test_digits)


@pytest.fixture(scope="session")
def small_sheets(tmp_path_factory, test_digits):
    """6 small sheets (600 x 800), quick to read, for the tests that are not about accuracy."""
    out = tmp_path_factory.mktemp("small")
    return out, make_sheets.generate(out, 6, 1, *test_digits, width=600)


def run(capsys, *argv):
    """Run the command in this process: (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def add_args(folder, db, *files):
    return ["add", *(files or [folder]), "--db", db, "--template", folder / "form.json"]  # the default reader


@pytest.fixture(scope="session")
def batch(sheets, tmp_path_factory):
    """The 20 sheets added to a fresh database: (database path, exit code, stdout)."""
    folder, _ = sheets
    db = tmp_path_factory.mktemp("db") / "marks.db"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main([str(a) for a in add_args(folder, db)])
    return db, code, out.getvalue()


def stored(db):
    with SQLiteStorage(db, create=False) as storage:
        return storage.sheets()


def copy_db(db, tmp_path):
    """A copy of a closed database (WAL mode leaves nothing outside the file once all connections close)."""
    return Path(shutil.copy(db, tmp_path / "copy.db"))


# --- the rendered sheets -------------------------------------------------------------------------
def test_sheets_come_with_truth_and_their_template(sheets, test_digits):
    folder, records = sheets
    assert (folder / "form.json").read_text() == (ROOT / "examples" / "form.json").read_text()
    _, labels = test_digits
    for record in records:
        assert len(record["roll"]) == 6 and len(record["subject"]) == 3 and 0 <= int(record["marks"]) <= 100
        for name in FIELDS:
            assert [int(labels[i]) for i in record["mnist_test_index"][name]] == [int(ch) for ch in record[name]]
        with Image.open(folder / record["file"]) as image:
            assert image.size == (1200, 1600) and image.format == "JPEG"
            gray = np.asarray(image.convert("L"))
        paper, ink = np.median(gray), np.percentile(gray, 0.5)
        assert paper > 90 and paper - ink > 50  # dark ink on lighter paper, even under a shadow
    assert [json.loads(line) for line in (folder / "truth.jsonl").read_text().splitlines()] == records


def test_the_same_seed_renders_the_same_sheet(tmp_path, test_digits):
    make_sheets.generate(tmp_path / "a", 1, 5, *test_digits, width=600)
    make_sheets.generate(tmp_path / "b", 1, 5, *test_digits, width=600)
    assert (tmp_path / "a" / "0000.jpg").read_bytes() == (tmp_path / "b" / "0000.jpg").read_bytes()


# --- end to end ----------------------------------------------------------------------------------
def score(db, records):
    """(right, flagged, silent): which sheets have the true values stored, which are flagged for a
    person, and the files of those wrong but not flagged (scored by scripts/eval_sheets.py)."""
    results = eval_sheets.score(db, records)
    assert len(stored(db)) == len(records)
    right = [r["right"] for r in results]
    flagged = [r["flagged"] for r in results]
    silent = [r["file"] for r in results if not r["right"] and not r["flagged"]]
    print(f"\nthe default reader: {sum(right)}/{len(records)} sheets right, {sum(flagged)} flagged for review, "
          f"{len(silent)} wrong and not flagged")
    return right, flagged, silent


def test_every_sheet_with_a_wrong_value_is_flagged_for_review(batch, sheets):
    db, code, output = batch
    _, flagged, silent = score(db, sheets[1])
    assert not silent, f"wrong values stored without a flag: {silent}"
    assert code == (1 if any(flagged) else 0)
    assert f"{len(sheets[1])} sheets: " in output.splitlines()[-1]


def test_at_least_95_percent_of_sheets_are_read_right(batch, sheets):
    right, _, _ = score(batch[0], sheets[1])
    assert sum(right) >= 0.95 * len(right)


def test_eval_sheets_names_each_sheet_whose_stored_value_differs_from_the_truth(small_sheets, tmp_path, capsys):
    folder, records = small_sheets
    copy = Path(shutil.copytree(folder, tmp_path / "sheets"))
    records = list(records)  # the fixture's own list stays as it is
    records[2] = {**records[2], "marks": "101"}  # a truth no sheet can match: marks go up to 100
    (copy / "truth.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert eval_sheets.main([str(copy), "--model", str(MODEL)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"{records[2]['file']}: marks 101 -> " in "\n".join(out)
    right, total = out[-1].split()[0].split("/")
    assert int(total) == len(records) and int(right) < len(records)


def test_every_sheet_gets_a_line_when_the_output_is_not_a_terminal(batch, sheets):
    _, _, output = batch
    lines = output.splitlines()
    assert len(lines) == len(sheets[1]) + 1
    assert all(" sheet " in line and ": roll " in line for line in lines[:-1])


def test_adding_the_same_photos_again_stores_nothing_new(batch, sheets, tmp_path, capsys):
    folder, records = sheets
    db = copy_db(batch[0], tmp_path)
    code, out, _ = run(capsys, *add_args(folder, db))
    assert code == batch[1]  # the same sheets, as much to review as before
    assert f"{len(records)} already stored" in out
    assert len(stored(db)) == len(records)


def test_the_same_roll_and_subject_on_another_photo_is_a_conflict(batch, sheets, tmp_path, capsys):
    folder, _ = sheets
    db = copy_db(batch[0], tmp_path)
    first = next(s for s in stored(db) if s.status == "ok")
    again = tmp_path / "same-sheet-other-file.png"  # the same pixels, other bytes: another hash
    Image.open(first.image_path).save(again)
    code, out, _ = run(capsys, "add", again, "--db", db, "--template", folder / "form.json")
    assert code == 1 and "same roll and subject as sheet" in out
    assert {s.id: s.status for s in stored(db)}[first.id] == "needs_review"


def test_review_fix_and_export(batch, sheets, tmp_path, capsys):
    _, records = sheets
    db = copy_db(batch[0], tmp_path)
    code, out, _ = run(capsys, "review", "--db", db, "--json")
    to_review = [json.loads(line) for line in out.splitlines()]
    assert code == (1 if to_review else 0)
    assert {r["sheet"] for r in to_review} == {s.id for s in stored(db) if s.status in ("needs_review", "failed")}
    truth = {r["file"]: r for r in records}
    for item in to_review:  # a person types what the photo says
        assert item["review"]
        for name, field in item["fields"].items():
            right = truth[Path(item["image"]).name][name]
            if field["value"] != right or field["problems"]:
                assert run(capsys, "fix", item["sheet"], name, right, "--db", db, "--by", "teacher")[0] == 0
    code, out, _ = run(capsys, "review", "--db", db)
    assert code == 0 and out == ""
    csv_path = tmp_path / "marks.csv"
    assert run(capsys, "export", "--csv", csv_path, "--db", db)[0] == 0
    rows = list(csv.DictReader(csv_path.open(newline="")))
    assert [(Path(r["image"]).name, r["roll"], r["subject"], r["marks"]) for r in rows] == \
        [(r["file"], r["roll"], r["subject"], r["marks"]) for r in records]
    assert {r["status"] for r in rows} <= {"ok", "corrected"}
    corrected = [s for s in stored(db) if s.status == "corrected"]
    assert len(corrected) == len(to_review)
    assert all(c.by == "teacher" for s in corrected for f in s.fields for c in f.corrections)


def test_review_shows_each_digit_and_its_alternatives(batch, capsys):
    code, out, _ = run(capsys, "review", "--db", batch[0])
    if code == 0:
        pytest.skip("no sheet needs review")
    assert "digits: " in out and " (or " in out and "fix with: tinycnn marks fix " in out


def test_list_shows_every_sheet(batch, sheets, capsys):
    code, out, _ = run(capsys, "list", "--db", batch[0])
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["sheet", "status", "roll", "subject", "marks", "image"]
    assert len(lines) == len(sheets[1]) + 1
    code, out, _ = run(capsys, "list", "--db", batch[0], "--status", "ok", "--json")
    assert all(json.loads(line)["status"] == "ok" for line in out.splitlines())


def test_the_default_template_reads_three_lines_on_plain_paper(tmp_path, test_digits, capsys):
    records = make_sheets.generate(tmp_path / "plain", 2, 2, *test_digits, width=600, layout="plain")
    assert not (tmp_path / "plain" / "form.json").exists()
    _, out, _ = run(capsys, "add", tmp_path / "plain", "--db", tmp_path / "plain.db")
    for record, sheet in zip(records, stored(tmp_path / "plain.db")):
        assert sheet.template == "default" and [f.name for f in sheet.fields] == list(FIELDS)
        right = sheet.values() == {name: record[name] for name in FIELDS}
        assert right or sheet.status in ("needs_review", "failed"), out  # never silently wrong


# --- bad input ----------------------------------------------------------------------------------
def test_bad_sheets_are_stored_as_failed_and_the_batch_goes_on(small_sheets, tmp_path, capsys):
    folder, records = small_sheets
    batch = tmp_path / "batch"
    batch.mkdir()
    for record in records[:2]:
        shutil.copy(folder / record["file"], batch)
    jpeg = (folder / records[2]["file"]).read_bytes()
    (batch / "cut-short.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    (batch / "notes.png").write_text("not an image")
    forms.draw_form(forms.load_template(folder / "form.json"), (600, 800)).save(batch / "empty-form.png")
    db = tmp_path / "marks.db"
    code, out, _ = run(capsys, *add_args(folder, db, batch))
    assert code == 1
    sheets = {Path(s.image_path).name: s for s in stored(db)}
    assert len(sheets) == 5
    assert sheets["cut-short.jpg"].status == "failed" and "cut-short.jpg" in sheets["cut-short.jpg"].error
    assert sheets["notes.png"].status == "failed" and "not an image" in sheets["notes.png"].error
    empty = sheets["empty-form.png"]
    assert empty.status == "failed" and "roll: no digits found" in empty.review_reasons()
    assert all(len(s.fields) == 3 for s in sheets.values())
    assert "3 failed" in out.splitlines()[-1]


@pytest.mark.parametrize("template_text, message", [
    ('{"fields": {"roll": [0.3, 0.2, 0.9, 0.27],,}}', "not valid JSON"),
    ('{"fields": {"roll": [0.3, 0.2, 1.9, 0.27]}}', "outside the page"),
    ('{"fields": {"roll": [0.9, 0.2, 0.3, 0.27]}}', "x0 must be less than x1"),
])
def test_a_bad_template_stops_before_anything_is_stored(small_sheets, tmp_path, capsys, template_text, message):
    folder, _ = small_sheets
    template = tmp_path / "form.json"
    template.write_text(template_text)
    db = tmp_path / "marks.db"
    code, out, err = run(capsys, "add", folder, "--db", db, "--template", template)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {template}: ") and message in err and err.count("\n") == 1
    assert not db.exists()


@pytest.mark.parametrize("argv, message", [
    (["add", "no-such-photo.jpg"], "no-such-photo.jpg: no such file or folder"),
    (["add", "{folder}", "--model", "no-such-model.npz"], "no-such-model.npz"),
    (["list"], "no such database"),
    (["fix", "1", "marks", "57"], "no such database"),
    (["export", "--csv", "out.csv"], "no such database"),
])
def test_bad_input_is_one_line_naming_the_file(small_sheets, tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *[a.format(folder=small_sheets[0]) for a in argv])
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "marks.db").exists()


@pytest.mark.parametrize("command", ["add", "list", "review", "fix", "delete", "export", "blank", None])
def test_every_command_has_help(capsys, command):
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"] if command else ["--help"])
    assert info.value.code == 0 and "Exit codes" in capsys.readouterr().out


def test_a_value_breaking_the_field_rule_needs_force(small_sheets, tmp_path, capsys):
    folder, records = small_sheets
    db = tmp_path / "marks.db"
    run(capsys, *add_args(folder, db, folder / records[0]["file"]))
    code, _, err = run(capsys, "fix", 1, "marks", 105, "--db", db)
    assert code == 2 and "105 is outside 0-100" in err and "--force" in err
    assert run(capsys, "fix", 1, "marks", 105, "--db", db, "--force", "--by", "head")[0] == 0
    assert stored(db)[0].values()["marks"] == "105"


def test_blank_draws_the_example_form_and_writes_its_template(tmp_path, capsys):
    code, _, _ = run(capsys, "blank", "--out", tmp_path / "form.png", "--width", 620)
    assert code == 0
    with Image.open(tmp_path / "form.png") as image:
        assert image.size == (620, 877)
    assert (tmp_path / "form.json").read_text() == (ROOT / "examples" / "form.json").read_text()
    (tmp_path / "form.json").write_text('{"fields": {"roll": [0.1, 0.1, 0.5, 0.2]}}')
    code, _, err = run(capsys, "blank", "--out", tmp_path / "form.png")  # never overwrites another template
    assert code == 2 and "form.json: exists and is another template" in err
    assert run(capsys, "blank", "--out", tmp_path / "mine.png", "--template", tmp_path / "form.json")[0] == 0


def test_progress_bar_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    report = cli.BatchReport(3, screen)
    for step, needs_a_person in enumerate([False, True, False], start=1):
        report.sheet(step, f"sheet {step}", needs_a_person)
    report.finish()
    text = screen.getvalue()
    assert "sheet 2\n" in text and "sheet 1" not in text and "sheet 3" not in text  # only what needs a person
    assert "\r" in text and "3/3 [" in text.splitlines()[-1]


# --- crashes and concurrency ---------------------------------------------------------------------
def count_sheets(db):
    """Rows in the sheets table, read without writing; 0 before the table exists."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
            return connection.execute("SELECT COUNT(*) FROM sheets").fetchone()[0]
    except sqlite3.Error:
        return 0


def start_add(folder, db, *files):
    return subprocess.Popen([sys.executable, "-m", "tinycnn.marks", *map(str, add_args(folder, db, *files))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)


def test_a_batch_killed_part_way_finishes_when_run_again(small_sheets, tmp_path, capsys):
    folder, records = small_sheets
    db = tmp_path / "marks.db"
    process = start_add(folder, db)
    deadline = time.monotonic() + 60
    while count_sheets(db) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    assert process.poll() is None, "the batch ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.communicate()
    killed_at = count_sheets(db)
    assert 2 <= killed_at < len(records)
    with contextlib.closing(sqlite3.connect(db)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("SELECT COUNT(*) FROM fields").fetchone()[0] == 3 * killed_at  # no half sheet
    _, out, _ = run(capsys, *add_args(folder, db))
    assert f"{killed_at} already stored" in out
    sheets = stored(db)
    assert sorted(Path(s.image_path).name for s in sheets) == sorted(r["file"] for r in records)


def test_two_batches_at_once_lose_nothing(small_sheets, tmp_path, capsys):
    folder, records = small_sheets
    db = tmp_path / "marks.db"
    files = [folder / r["file"] for r in records]
    SQLiteStorage(db).close()  # create it, so that `list` can run from the start
    processes = [start_add(folder, db, *files[:2]), start_add(folder, db, *files[2:4])]
    counts = []
    while any(p.poll() is None for p in processes):
        code, out, _ = run(capsys, "list", "--db", db, "--json")
        assert code == 0
        counts.append(len(out.splitlines()))
    assert all(p.wait() in (0, 1) for p in processes)  # 1: a sheet needs review
    assert counts == sorted(counts)
    assert sorted(Path(s.image_path).name for s in stored(db)) == sorted(f.name for f in files[:4])


def test_a_page_in_shadow_with_a_lit_corner_is_read(test_digits, tmp_path):
    # sheet 0006 of `make_sheets.py --seed 5 --layout plain`: its pen strokes fade into the shadowed paper in a
    # 400-px preview, which once made the reader guess the digits 1,600 px tall and shrink the page to 32 x 24 px
    from tinycnn.read import read_digits

    seed = int(np.random.default_rng(5).integers(2 ** 31, size=7)[6])
    template = forms.load_template(make_sheets.FORM)  # as make_sheets.generate draws a plain page too
    image, truth = make_sheets.make_sheet(template, np.random.default_rng(seed), *test_digits, layout="plain")
    Image.fromarray(image).save(tmp_path / "0006.jpg", quality=truth["photo"]["jpeg_quality"])
    assert read_digits(tmp_path / "0006.jpg").lines == [truth["roll"], truth["subject"], truth["marks"]]
