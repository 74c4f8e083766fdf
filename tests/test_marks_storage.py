"""tinycnn.marks.storage and records: the status rule, one transaction per sheet, conflicts,
corrections, schema migration, and several processes writing at once. No model needed."""

import json
import multiprocessing
import sqlite3

import pytest

from tinycnn.marks import storage as storage_module
from tinycnn.marks.records import Correction, FieldReading, Sheet
from tinycnn.marks.storage import SCHEMA_VERSION, SQLiteStorage, StorageError, migrate

SPECS = {"roll": {"digits": [6, 6], "key": True}, "subject": {"digits": [3, 3], "key": True},
         "marks": {"range": [0, 100]}}


def make_sheet(sha, roll="204518", subject="307", marks="64", problems=None, error=""):
    """A sheet as the reader would produce it; `problems` maps a field name to its problem list."""
    problems = problems or {}
    fields = [FieldReading(name, text, [{"label": int(ch), "prob": 0.99, "alternatives": [[7, 0.01]],
                                         "box": [10 * i, 5, 8, 12]} for i, ch in enumerate(text)],
                           problems.get(name, []), SPECS[name])
              for name, text in (("roll", roll), ("subject", subject), ("marks", marks))]
    return Sheet(f"/photos/{sha}.jpg", sha, fields, "form.json", "model.npz", "2024-05-02T09:00:00+00:00", error)


@pytest.fixture
def db(tmp_path):
    with SQLiteStorage(tmp_path / "marks.db") as store:
        yield store


def test_a_sheet_comes_back_as_it_was_stored(db):
    stored, added = db.add(make_sheet("a1"))
    assert added and stored.id == 1 and stored.status == "ok"
    again = db.get(1)
    assert again.values() == {"roll": "204518", "subject": "307", "marks": "64"}
    assert again.field_named("roll").digits[0] == {"label": 2, "prob": 0.99, "alternatives": [[7, 0.01]], "box": [0, 5, 8, 12]}
    assert again.field_named("marks").spec == {"range": [0, 100]}
    assert (again.image_path, again.template, again.model, again.read_at) == \
        ("/photos/a1.jpg", "form.json", "model.npz", "2024-05-02T09:00:00+00:00")


def test_the_same_image_is_stored_once(db):
    first, _ = db.add(make_sheet("same"))
    second, added = db.add(make_sheet("same", roll="999999"))
    assert not added and second.id == first.id and second.values()["roll"] == "204518"
    assert len(db.sheets()) == 1
    assert db.find("same").id == first.id and db.find("other") is None


@pytest.mark.parametrize("problems, error, status", [
    ({}, "", "ok"),
    ({"marks": ["uncertain digit 1: 6 (p=0.62)"]}, "", "needs_review"),
    ({"roll": ["expected 6 digits, got 5"]}, "", "needs_review"),
])
def test_status_follows_the_problems(db, problems, error, status):
    stored, _ = db.add(make_sheet("s", problems=problems, error=error))
    assert stored.status == status


def test_a_field_with_no_digits_fails_the_sheet_until_someone_types_it(db):
    stored, _ = db.add(make_sheet("empty", marks="", problems={"marks": ["no digits found"]}))
    assert stored.status == "failed" and stored.key() == ("204518", "307")
    fixed = db.correct(stored.id, "marks", Correction("71", "alice", "2024-05-02T10:00:00+00:00"))
    assert fixed.status == "corrected" and fixed.values()["marks"] == "71"


def test_an_unreadable_image_is_stored_as_failed_with_its_reason(db):
    stored, _ = db.add(make_sheet("bad", roll="", subject="", marks="", error="bad.jpg: not an image file"))
    assert stored.status == "failed" and stored.key() is None
    assert stored.review_reasons() == ["bad.jpg: not an image file"]


def test_a_correction_is_kept_beside_the_machine_reading(db):
    stored, _ = db.add(make_sheet("r", marks="164", problems={"marks": ["164 is outside 0-100"]}))
    assert stored.status == "needs_review" and stored.review_reasons() == ["marks: 164 is outside 0-100"]
    fixed = db.correct(stored.id, "marks", Correction("64", "alice", "2024-05-02T10:00:00+00:00"))
    marks = fixed.field_named("marks")
    assert (marks.value, marks.text, marks.problems) == ("64", "164", ["164 is outside 0-100"])
    assert marks.corrections == [Correction("64", "alice", "2024-05-02T10:00:00+00:00")]
    assert fixed.status == "corrected" and fixed.review_reasons() == []
    again = db.correct(stored.id, "marks", Correction("65", "bob", "2024-05-02T11:00:00+00:00"))
    assert again.values()["marks"] == "65" and [c.by for c in again.field_named("marks").corrections] == ["alice", "bob"]


def test_correcting_a_field_the_sheet_lacks_is_refused(db):
    db.add(make_sheet("r"))
    with pytest.raises(StorageError, match="no field 'mark'"):
        db.correct(1, "mark", Correction("64", "alice", "now"))
    with pytest.raises(StorageError, match="no sheet 7"):
        db.correct(7, "marks", Correction("64", "alice", "now"))


def test_the_same_roll_and_subject_on_two_sheets_is_a_conflict_not_an_overwrite(db):
    first, _ = db.add(make_sheet("one", marks="64"))
    second, _ = db.add(make_sheet("two", marks="71"))
    assert second.status == "needs_review" and second.conflicts == [first.id]
    assert "same roll and subject as sheet 1" in second.review_reasons()
    assert db.get(first.id).status == "needs_review" and db.get(first.id).conflicts == [second.id]
    assert db.get(first.id).values()["marks"] == "64"  # nothing overwritten
    db.add(make_sheet("three", subject="308"))  # another subject: no conflict
    assert db.get(3).status == "ok"
    # The second photo was misread: correcting its roll number ends the conflict for both.
    db.correct(second.id, "roll", Correction("204519", "alice", "now"))
    assert db.get(first.id).status == "ok" and db.get(second.id).status == "corrected"


def test_deleting_one_of_two_conflicting_sheets_clears_the_other(db):
    db.add(make_sheet("one"))
    db.add(make_sheet("two"))
    db.delete(2)
    assert [s.id for s in db.sheets()] == [1] and db.get(1).status == "ok"
    with pytest.raises(StorageError):
        db.get(2)


def test_sheets_filters_by_status(db):
    db.add(make_sheet("a"))
    db.add(make_sheet("b", roll="111111", problems={"roll": ["uncertain digit 1: 1 (p=0.5)"]}))
    db.add(make_sheet("c", roll="", subject="", marks="", error="c.jpg: empty file (0 bytes)"))
    assert [s.id for s in db.sheets(["needs_review", "failed"])] == [2, 3]
    assert [s.id for s in db.sheets(["ok"])] == [1]


def test_a_failure_inside_the_transaction_leaves_nothing_behind(db):
    broken = make_sheet("half")
    broken.fields[2].digits = [object()]  # json.dumps fails after the sheet row is inserted
    with pytest.raises(TypeError):
        db.add(broken)
    assert db.sheets() == [] and db.find("half") is None
    assert db.connection.execute("SELECT COUNT(*) FROM fields").fetchone()[0] == 0
    assert db.add(make_sheet("half"))[1]  # and the database still works


def test_the_database_uses_wal_and_a_busy_timeout(db):
    assert db.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.connection.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000


# --- schema versions ------------------------------------------------------------------------
def make_v1_database(path):
    """A database as the first version of the marks command left it: schema 1, no corrections table."""
    connection = sqlite3.connect(path, isolation_level=None)
    migrate(connection, str(path), target=1)
    connection.execute("INSERT INTO sheets (image_path, sha256, status, error, template, model, read_at, key) "
                       "VALUES ('/photos/old.jpg', 'old', 'needs_review', '', 'default', 'paper_cnn.npz', "
                       "'2024-01-05T08:00:00+00:00', '[\"204518\", \"307\"]')")
    for position, (name, text, problems, spec) in enumerate([
            ("roll", "204518", [], {"key": True}), ("subject", "307", [], {"key": True}),
            ("marks", "164", ["164 is outside 0-100"], {"range": [0, 100]})]):
        connection.execute("INSERT INTO fields VALUES (1, ?, ?, ?, '[]', ?, ?)",
                           (position, name, text, json.dumps(problems), json.dumps(spec)))
    connection.close()


def test_a_version_1_database_migrates_to_the_current_schema(tmp_path):
    path = tmp_path / "old.db"
    make_v1_database(path)
    with SQLiteStorage(path, create=False) as db:
        assert db.connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        tables = {row[0] for row in db.connection.execute(storage_module.TABLES)}
        assert {"sheets", "fields", "corrections"} <= tables
        old = db.get(1)
        assert old.values() == {"roll": "204518", "subject": "307", "marks": "164"} and old.status == "needs_review"
        fixed = db.correct(1, "marks", Correction("64", "alice", "2024-05-02T10:00:00+00:00"))
        assert fixed.status == "corrected" and fixed.field_named("marks").text == "164"
    with SQLiteStorage(path, create=False) as db:  # opening again changes nothing
        assert db.get(1).values()["marks"] == "64"


def test_migration_steps_are_listed_in_order():
    assert SCHEMA_VERSION == len(storage_module.MIGRATIONS)
    assert any("CREATE TABLE corrections" in statement for statement in storage_module.MIGRATIONS[1])


@pytest.mark.parametrize("setup, message", [
    ("PRAGMA user_version = 99", "newer tinycnn"),
    ("CREATE TABLE photos (x)", "not a marks database"),
])
def test_a_database_it_cannot_use_is_refused(tmp_path, setup, message):
    path = tmp_path / "other.db"
    sqlite3.connect(path, isolation_level=None).execute(setup).connection.close()
    with pytest.raises(StorageError, match=message) as info:
        SQLiteStorage(path)
    assert str(path) in str(info.value)


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 50)
    with pytest.raises(StorageError, match="notes.db"):
        SQLiteStorage(path)


def test_only_add_creates_a_database(tmp_path):
    with pytest.raises(StorageError, match="no such database"):
        SQLiteStorage(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


# --- several processes at once -----------------------------------------------------------------
def _writer(path, first_digit, count):
    with SQLiteStorage(path) as db:
        for i in range(count):
            db.add(make_sheet(f"{first_digit}-{i}", roll=f"{first_digit}{i:05d}"))


def _reader(path, rounds, seen):
    with SQLiteStorage(path) as db:
        for _ in range(rounds):
            seen.append(len(db.sheets()))


def test_two_writers_and_a_reader_lose_nothing(tmp_path):
    path = tmp_path / "shared.db"
    context = multiprocessing.get_context("spawn")
    seen = context.Manager().list()
    workers = [context.Process(target=_writer, args=(path, first_digit, 40)) for first_digit in (1, 2)]
    workers.append(context.Process(target=_reader, args=(path, 30, seen)))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    with SQLiteStorage(path) as db:
        sheets = db.sheets()
    assert len(sheets) == 80 and len({s.sha256 for s in sheets}) == 80
    assert {s.status for s in sheets} == {"ok"}  # different roll numbers: no conflicts
    assert all(len(s.fields) == 3 for s in sheets)
    assert list(seen) == sorted(seen)  # the reader saw the count grow, never a half-written state
