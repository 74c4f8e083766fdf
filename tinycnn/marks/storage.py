"""Where the marks are kept: a small storage interface, and SQLite behind it.

The marks command talks only to `Storage`: find a sheet by its image hash, add one,
list them, correct a field, delete one. `SQLiteStorage` implements it with the
standard library's sqlite3; another SQL database would be one more subclass.

Safety, in three rules:

1. Each sheet is written in one transaction (`BEGIN IMMEDIATE ... COMMIT`): a crash or
   kill in the middle of a batch leaves every earlier sheet stored and no half-written
   one, and running the batch again skips what is stored (same SHA-256) and adds the rest.
2. WAL mode (write-ahead log): readers never block the writer, so `list` works while
   `add` runs. Writers take turns; one waits up to BUSY_TIMEOUT seconds for another.
3. The hash check and the conflict check happen inside the same transaction as the
   insert, so two processes adding at once cannot both store one image.

The schema has a version number (SQLite's PRAGMA user_version). MIGRATIONS[n] holds the
statements that take version n to n + 1; opening a database applies the missing ones in
one transaction, so an old file moves forward and a new file is built the same way.
All SQL of the package is in this file.
"""

import abc
import contextlib
import json
import sqlite3
from pathlib import Path

from .records import Correction, FieldReading, Sheet

BUSY_TIMEOUT = 30.0  # seconds a writer waits for another process to commit

# --- the schema, one migration per version ---------------------------------------------------
MIGRATIONS = [
    # version 0 -> 1: the sheets, and what the machine read in each field
    ["""CREATE TABLE sheets (
            id INTEGER PRIMARY KEY,
            image_path TEXT NOT NULL,       -- the photo, as an absolute path
            sha256 TEXT NOT NULL UNIQUE,    -- of the file's bytes: one photo is stored once
            status TEXT NOT NULL CHECK (status IN ('ok', 'needs_review', 'corrected', 'failed')),
            error TEXT NOT NULL,            -- why the image could not be read ('' if it could)
            template TEXT NOT NULL,         -- the template file, or 'default'
            model TEXT NOT NULL,            -- the model file, or the shipped model's name
            read_at TEXT NOT NULL,          -- ISO 8601, UTC
            key TEXT                        -- JSON of the key fields' values, e.g. '["20731", "101"]'
        )""",
     """CREATE TABLE fields (
            sheet_id INTEGER NOT NULL REFERENCES sheets (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,      -- the field's place in the template
            name TEXT NOT NULL,
            text TEXT NOT NULL,             -- the digits the machine read ('' if none)
            digits TEXT NOT NULL,           -- JSON [{"label", "prob", "alternatives", "box"}, ...]
            problems TEXT NOT NULL,         -- JSON list of reasons for a person to look
            spec TEXT NOT NULL,             -- JSON rule from the template: {"digits", "range", "key"}
            PRIMARY KEY (sheet_id, name)
        )""",
     "CREATE INDEX sheets_by_key ON sheets (key)"],
    # version 1 -> 2: corrections typed by people, kept beside the machine's reading;
    # and an index for `review`, which asks for sheets by status
    ["""CREATE TABLE corrections (
            id INTEGER PRIMARY KEY,
            sheet_id INTEGER NOT NULL REFERENCES sheets (id) ON DELETE CASCADE,
            field TEXT NOT NULL,
            value TEXT NOT NULL,
            by TEXT NOT NULL,               -- who typed it
            at TEXT NOT NULL                -- when, ISO 8601, UTC
        )""",
     "CREATE INDEX corrections_by_sheet ON corrections (sheet_id)",
     "CREATE INDEX sheets_by_status ON sheets (status)"],
]
SCHEMA_VERSION = len(MIGRATIONS)

# --- the queries -------------------------------------------------------------------------------
INSERT_SHEET = """INSERT INTO sheets (image_path, sha256, status, error, template, model, read_at, key)
                  VALUES (:image_path, :sha256, :status, :error, :template, :model, :read_at, :key)"""
INSERT_FIELD = """INSERT INTO fields (sheet_id, position, name, text, digits, problems, spec)
                  VALUES (?, ?, ?, ?, ?, ?, ?)"""
INSERT_CORRECTION = "INSERT INTO corrections (sheet_id, field, value, by, at) VALUES (?, ?, ?, ?, ?)"
UPDATE_KEY = "UPDATE sheets SET key = ? WHERE id = ?"
UPDATE_STATUS = "UPDATE sheets SET status = ? WHERE id = ?"
DELETE_SHEET = "DELETE FROM sheets WHERE id = ?"
SAME_KEY = "SELECT id FROM sheets WHERE key = ? ORDER BY id"
# Loading sheets: the sheets that match a filter, then their fields and corrections.
SELECT_SHEETS = "SELECT * FROM sheets WHERE {where} ORDER BY id"
SELECT_FIELDS = "SELECT * FROM fields WHERE sheet_id IN (SELECT id FROM sheets WHERE {where}) ORDER BY position"
SELECT_CORRECTIONS = "SELECT * FROM corrections WHERE sheet_id IN (SELECT id FROM sheets WHERE {where}) ORDER BY id"
SELECT_CONFLICTS = """SELECT key, id FROM sheets WHERE key IN
                      (SELECT key FROM sheets WHERE key IS NOT NULL GROUP BY key HAVING COUNT(*) > 1)"""
BY_ID, BY_HASH, ALL = "id = ?", "sha256 = ?", "1"
TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"


class StorageError(Exception):
    """A database that cannot be used, or a sheet or field that is not there; one line."""


class Storage(abc.ABC):
    """What the marks command needs from a database. Sheets come back with id, status and conflicts set."""

    @abc.abstractmethod
    def find(self, sha256):
        """The stored Sheet whose image has this SHA-256, or None."""

    @abc.abstractmethod
    def add(self, sheet):
        """Store a new sheet in one transaction. Returns (stored Sheet, True), or (the Sheet
        already stored with the same image hash, False)."""

    @abc.abstractmethod
    def get(self, sheet_id):
        """The Sheet with this id; StorageError if there is none."""

    @abc.abstractmethod
    def sheets(self, statuses=None):
        """All sheets in the order they were added, or those whose status is in `statuses`."""

    @abc.abstractmethod
    def correct(self, sheet_id, field, correction):
        """Record a person's Correction of one field; returns the updated Sheet."""

    @abc.abstractmethod
    def delete(self, sheet_id):
        """Remove a sheet and everything about it (a photo added by mistake)."""

    def close(self):
        """Release the connection."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class SQLiteStorage(Storage):
    """Storage in one SQLite file, created (with create=True) and migrated on opening."""

    def __init__(self, path, create=True):
        self.path = str(path)
        if not create and not Path(path).is_file():
            raise StorageError(f"{path}: no such database (the add command creates it)")
        try:
            self.connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
            self.connection.row_factory = sqlite3.Row
            self.connection.execute("PRAGMA foreign_keys = ON")
            self.connection.execute("PRAGMA journal_mode = WAL")
            migrate(self.connection, self.path)
        except sqlite3.Error as error:
            raise StorageError(f"{path}: cannot open the database ({error})") from None

    def close(self):
        self.connection.close()

    @contextlib.contextmanager
    def _transaction(self):
        """BEGIN IMMEDIATE takes the write lock at once (waiting for other writers), so what
        this transaction reads cannot change before it commits."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    # --- reading ---
    def find(self, sha256):
        found = self._load(BY_HASH, (sha256,))
        return found[0] if found else None

    def get(self, sheet_id):
        found = self._load(BY_ID, (sheet_id,))
        if not found:
            raise StorageError(f"{self.path}: there is no sheet {sheet_id}")
        return found[0]

    def sheets(self, statuses=None):
        if not statuses:
            return self._load(ALL, ())
        where = f"status IN ({', '.join('?' * len(statuses))})"
        return self._load(where, tuple(statuses))

    def _load(self, where, params):
        """Sheets matching the SQL condition `where`, with their fields, corrections and conflicts."""
        rows = self.connection.execute(SELECT_SHEETS.format(where=where), params).fetchall()
        fields, corrections, conflicts = {}, {}, {}
        for row in self.connection.execute(SELECT_CORRECTIONS.format(where=where), params):
            corrections.setdefault((row["sheet_id"], row["field"]), []).append(
                Correction(row["value"], row["by"], row["at"]))
        for row in self.connection.execute(SELECT_FIELDS.format(where=where), params):
            fields.setdefault(row["sheet_id"], []).append(FieldReading(
                row["name"], row["text"], json.loads(row["digits"]), json.loads(row["problems"]),
                json.loads(row["spec"]), corrections.get((row["sheet_id"], row["name"]), [])))
        for key, sheet_id in self.connection.execute(SELECT_CONFLICTS):
            conflicts.setdefault(key, []).append(sheet_id)
        return [Sheet(row["image_path"], row["sha256"], fields.get(row["id"], []), row["template"], row["model"],
                      row["read_at"], row["error"], id=row["id"], status=row["status"],
                      conflicts=[other for other in conflicts.get(row["key"], []) if other != row["id"]])
                for row in rows]

    # --- writing: each method is one transaction ---
    def add(self, sheet):
        with self._transaction():
            existing = self.find(sheet.sha256)
            if existing:
                return existing, False
            record = {name: getattr(sheet, name) for name in ("image_path", "sha256", "error", "template", "model",
                                                             "read_at")}
            # the status before conflicts are known; _refresh adds them
            cursor = self.connection.execute(INSERT_SHEET, {**record, "status": sheet.compute_status(),
                                                            "key": _key(sheet)})
            sheet_id = cursor.lastrowid
            self.connection.executemany(INSERT_FIELD, [
                (sheet_id, position, f.name, f.text, json.dumps(f.digits), json.dumps(f.problems), json.dumps(f.spec))
                for position, f in enumerate(sheet.fields)])
            self._refresh([sheet_id], [_key(sheet)])
        return self.get(sheet_id), True

    def correct(self, sheet_id, field, correction):
        with self._transaction():
            sheet = self.get(sheet_id)
            if field not in sheet.values():
                raise StorageError(f"sheet {sheet_id} has no field {field!r} (it has {', '.join(sheet.values())})")
            old_key = _key(sheet)
            self.connection.execute(INSERT_CORRECTION, (sheet_id, field, correction.value, correction.by, correction.at))
            new_key = _key(self.get(sheet_id))
            self.connection.execute(UPDATE_KEY, (new_key, sheet_id))
            self._refresh([sheet_id], [old_key, new_key])
        return self.get(sheet_id)

    def delete(self, sheet_id):
        with self._transaction():
            key = _key(self.get(sheet_id))
            self.connection.execute(DELETE_SHEET, (sheet_id,))
            self._refresh([], [key])

    def _refresh(self, sheet_ids, keys):
        """Store the status of these sheets and of every sheet sharing one of these keys
        (a change to one sheet can start or end a conflict with another)."""
        affected = set(sheet_ids)
        for key in filter(None, keys):
            affected.update(row["id"] for row in self.connection.execute(SAME_KEY, (key,)))
        for sheet_id in sorted(affected):
            self.connection.execute(UPDATE_STATUS, (self.get(sheet_id).compute_status(), sheet_id))


def _key(sheet):
    """The key column: JSON of the sheet's key values, or None when one is missing."""
    key = sheet.key()
    return json.dumps(list(key)) if key else None


def migrate(connection, name, target=SCHEMA_VERSION):
    """Bring the database to schema version `target`, applying MIGRATIONS in one transaction.

    StorageError for a database written by a newer version, or one that holds other tables
    and no version (some other program's database).
    """
    if connection.execute("PRAGMA user_version").fetchone()[0] == target:
        return  # the usual case, with no lock taken: readers never wait for writers
    connection.execute("BEGIN IMMEDIATE")  # re-read the version under the lock: another process may migrate too
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StorageError(f"{name}: written by a newer tinycnn (schema version {version}, "
                               f"this one knows up to {SCHEMA_VERSION})")
        if version == 0 and connection.execute(TABLES).fetchall():
            raise StorageError(f"{name}: not a marks database (it has tables but no schema version)")
        for statements in MIGRATIONS[version:target]:
            for statement in statements:
                connection.execute(statement)
        if target > version:
            connection.execute(f"PRAGMA user_version = {int(target)}")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
