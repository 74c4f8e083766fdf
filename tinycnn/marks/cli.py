"""`python -m tinycnn.marks` (or `tinycnn marks`): photos of answer sheets -> marks in a database.

    tinycnn marks blank --out form.png                          # a blank form to print, and form.json
    tinycnn marks add photos/ --template form.json              # read every photo into marks.db
    tinycnn marks review                                        # what a person should check
    tinycnn marks fix 7 marks 57                                # type the right value
    tinycnn marks export --csv marks.csv                        # for the spreadsheet

Exit codes (all commands): 0 done; 1 done, but a person is needed: a sheet of the `add`
batch needs review or failed (or there was no image), `review` shows sheets; 2 bad input
or usage (a missing file, a bad template or model, a database that cannot be used), with
a one-line error naming the file.
"""

import argparse
import csv
import getpass
import hashlib
import io
import json
import os
import sqlite3
import sys
from collections import Counter
from pathlib import Path

from ..fileio import atomic_write
from ..model import ModelFileError, load_models
from ..progress import ProgressBar
from ..read import DEFAULT_MODEL, MIN_CONFIDENCE, shipped_model
from . import forms, reading, records
from .storage import SQLiteStorage, StorageError

DEFAULT_DB = "marks.db"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".gif", ".webp"}
NEEDS_A_PERSON = (records.NEEDS_REVIEW, records.FAILED)
EXIT_OK, EXIT_NEEDS_A_PERSON, EXIT_BAD_INPUT = 0, 1, 2
EPILOG = ("Exit codes: 0 done; 1 done, but a person is needed (a sheet needs review or failed, "
          "or there was nothing to do); 2 bad input or usage.")


class UsageError(Exception):
    """Bad input found by a command after argparse; the message is one line naming the file."""


def open_storage(args, create=False):
    """The database of --db; only `add` creates it."""
    return SQLiteStorage(args.db, create=create)


# --- add ---------------------------------------------------------------------------------------
def find_images(paths):
    """The image files named by `paths`: a file as it is, a folder as the images in it, sorted."""
    images = []
    for path in map(Path, paths):
        if path.is_dir():
            images += sorted(p for p in path.iterdir()
                             if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file())
        elif path.exists():
            images.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    return images


def load_reader(paths):
    """(model, name to store): the model files at `paths` (several: their Ensemble), else the reader's default."""
    if paths:
        return load_models(paths), "+".join(str(Path(path).resolve()) for path in paths)
    return shipped_model(), "+".join(DEFAULT_MODEL)  # what read_digits uses when given none; loaded now to fail early


def file_sha256(path):
    """SHA-256 of the file's bytes, as hex: the same photo copied or renamed has the same hash."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def add_one(storage, path, template, model, model_name, min_confidence):
    """Read and store one sheet, unless its image is stored already.

    Returns (outcome, stored Sheet or None, one line about it); outcome is the new sheet's
    status, "already stored", or "unreadable" (the file cannot be opened: nothing stored).
    """
    try:
        sha256 = file_sha256(path)
    except OSError as error:
        return "unreadable", None, f"{path}: cannot open the file ({error.strerror or error}); not stored"
    stored = storage.find(sha256)
    if stored is not None:
        return "already stored", stored, f"{path}: already stored as sheet {stored.id} ({_status(stored)})"
    sheet = reading.read_sheet(os.path.abspath(path), sha256, template, model, model_name, min_confidence, records.now())
    stored, added = storage.add(sheet)  # added is False if another process stored it meanwhile
    return (stored.status if added else "already stored"), stored, describe(path, stored)


def describe(path, sheet):
    """One line about a stored sheet: its id, status, values and what to review."""
    values = ", ".join(f"{name} {value or '-'}" for name, value in sheet.values().items())
    reasons = "; ".join(sheet.review_reasons())
    return f"{path}: sheet {sheet.id} {_status(sheet)}: {values}" + (f" ({reasons})" if reasons else "")


def _status(sheet):
    return sheet.status.replace("_", " ")


class BatchReport:
    """Progress of `add`. On a terminal: a bar redrawn in place, and a line above it for each
    sheet that needs a person. In a log file or pipe: one line per sheet, as it is stored."""

    def __init__(self, total, stream):
        self.stream = stream
        self.bar = ProgressBar(total, stream) if stream.isatty() else None

    def sheet(self, step, line, needs_a_person):
        if self.bar is None:
            print(line, file=self.stream, flush=True)
            return
        if needs_a_person:
            self.stream.write("\r\x1b[K" + line + "\n")
        self.bar.update(step, {})

    def finish(self):
        if self.bar is not None:
            self.bar.finish({})


def summary(counts, db):
    """'20 sheets: 16 ok, 3 need review, 1 failed (marks.db)', plus any skipped."""
    parts = [f"{counts[records.OK] + counts[records.CORRECTED]} ok", f"{counts[records.NEEDS_REVIEW]} need review",
             f"{counts[records.FAILED]} failed"]
    parts += [f"{counts[what]} {what}" for what in ("already stored", "unreadable") if counts[what]]
    total = sum(counts.values())
    return f"{total} sheet{'s' if total != 1 else ''}: {', '.join(parts)} ({db})"


def cmd_add(args):
    template = forms.load_template(args.template) if args.template else forms.DEFAULT_TEMPLATE
    images = find_images(args.sheets)
    if not images:
        print(f"no images in {', '.join(args.sheets)} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})",
              file=sys.stderr)
        return EXIT_NEEDS_A_PERSON
    model, model_name = load_reader(args.model)
    counts, attention = Counter(), False
    report = BatchReport(len(images), sys.stdout)
    with open_storage(args, create=True) as storage:
        for step, path in enumerate(images, start=1):
            outcome, sheet, line = add_one(storage, path, template, model, model_name, args.min_confidence)
            counts[outcome] += 1
            needs_a_person = sheet is None or sheet.status in NEEDS_A_PERSON
            attention |= needs_a_person
            report.sheet(step, line, needs_a_person)
    report.finish()
    print(summary(counts, args.db))
    return EXIT_NEEDS_A_PERSON if attention else EXIT_OK


# --- list and review ---------------------------------------------------------------------------
def sheet_json(sheet):
    """A sheet as one JSON-ready dict, for --json."""
    fields = {f.name: {"value": f.value, "read": f.text, "problems": f.problems, "digits": f.digits,
                       "corrections": [vars(c) for c in f.corrections]} for f in sheet.fields}
    return {"sheet": sheet.id, "status": sheet.status, "image": sheet.image_path, "sha256": sheet.sha256,
            "read_at": sheet.read_at, "model": sheet.model, "template": sheet.template, "error": sheet.error,
            "fields": fields, "conflicts": sheet.conflicts, "review": sheet.review_reasons()}


def field_names(sheets):
    """Every field name of these sheets, in the order they first appear."""
    return list(dict.fromkeys(name for sheet in sheets for name in sheet.values()))


def shown_path(path):
    """The image path relative to the current folder when it is inside it, else as stored."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def print_table(sheets):
    names = field_names(sheets)
    rows = [["sheet", "status", *names, "image"]]
    rows += [[str(s.id), s.status, *(s.values().get(n) or "-" for n in names), shown_path(s.image_path)]
             for s in sheets]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])


def digits_line(field):
    """Each digit with its probability and its runners-up: '4 0.99  9 0.62 (or 4 0.30, 7 0.05)'."""
    parts = []
    for digit in field.digits:
        others = ", ".join(f"{label} {prob:.2f}" for label, prob in digit["alternatives"] if prob >= 0.01)
        parts.append(f"{digit['label']} {digit['prob']:.2f}" + (f" (or {others})" if others else ""))
    return "   ".join(parts)


def print_review(sheet):
    print(f"sheet {sheet.id}  {_status(sheet)}  {shown_path(sheet.image_path)}")
    if sheet.error and sheet.missing():
        print(f"  {sheet.error}")
    width = max(len(f.name) for f in sheet.fields)
    for field in sheet.fields:
        print(f"  {field.name:<{width}}  {field.value or '-':<10} {'; '.join(field.open_problems)}".rstrip())
        if field.open_problems and field.digits:
            print(f"  {'':<{width}}  digits: {digits_line(field)}")
    if sheet.conflicts:
        print(f"  {sheet.review_reasons()[-1]}")
    first = next((f.name for f in sheet.fields if f.open_problems or not f.value), "FIELD")
    print(f"  fix with: tinycnn marks fix {sheet.id} {first} VALUE\n")


def cmd_list(args):
    with open_storage(args) as storage:
        sheets = storage.sheets([args.status] if args.status else None)
    if args.json:
        for sheet in sheets:
            print(json.dumps(sheet_json(sheet)))
    elif sheets:
        print_table(sheets)
    else:
        print(f"no sheets{' with status ' + args.status if args.status else ''} in {args.db}", file=sys.stderr)
    return EXIT_OK


def cmd_review(args):
    with open_storage(args) as storage:
        sheets = storage.sheets(NEEDS_A_PERSON)
    for sheet in sheets:
        if args.json:
            print(json.dumps(sheet_json(sheet)))
        else:
            print_review(sheet)
    if not sheets:
        print(f"nothing to review in {args.db}", file=sys.stderr)
    return EXIT_NEEDS_A_PERSON if sheets else EXIT_OK


# --- fix, delete, export, blank ----------------------------------------------------------------
def login_name():
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment or the password database
        return "unknown"


def cmd_fix(args):
    value = args.value.strip()
    if not value.isdigit():
        raise UsageError(f"{args.value!r}: a value is digits only, like 57 or 204518")
    with open_storage(args) as storage:
        sheet = storage.get(args.sheet)
        if args.field not in sheet.values():
            raise UsageError(f"sheet {args.sheet} has no field {args.field!r} (it has {', '.join(sheet.values())})")
        field = sheet.field_named(args.field)
        broken = forms.rule_problems(value, field.spec)
        if broken and not args.force:
            raise UsageError(f"sheet {args.sheet} {args.field}: {'; '.join(broken)} (use --force to store it anyway)")
        by = args.by or login_name()
        sheet = storage.correct(args.sheet, args.field, records.Correction(value, by, records.now()))
    print(f"sheet {sheet.id} {args.field}: {value} (read as {field.text or 'nothing'}), by {by};"
          f" the sheet is now {_status(sheet)}")
    return EXIT_OK


def cmd_delete(args):
    with open_storage(args) as storage:
        sheet = storage.get(args.sheet)
        storage.delete(args.sheet)
    print(f"deleted sheet {sheet.id} ({shown_path(sheet.image_path)}); add the photo again to read it afresh")
    return EXIT_OK


def csv_text(sheets):
    """The sheets as CSV: one row each, the current value of each field, the status and what to review."""
    names = field_names(sheets)
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["sheet", "status", *names, "image", "read_at", "review"])
    for s in sheets:
        writer.writerow([s.id, s.status, *(s.values().get(n, "") for n in names), s.image_path, s.read_at,
                         "; ".join(s.review_reasons())])
    return out.getvalue()


def write_atomically(path, data):
    """Write bytes to `path` in one step (a crash leaves the old file or none); UsageError naming it."""
    try:
        with atomic_write(path, "wb") as f:
            f.write(data)
    except OSError as error:
        raise UsageError(f"{path}: cannot write ({error.strerror or error})") from None


def cmd_export(args):
    with open_storage(args) as storage:
        sheets = storage.sheets()
    write_atomically(args.csv, csv_text(sheets).encode("utf-8"))
    waiting = sum(s.status in NEEDS_A_PERSON for s in sheets)
    note = f"; {waiting} still need review or failed (see the status column)" if waiting else ""
    print(f"wrote {len(sheets)} sheets to {args.csv}{note}")
    return EXIT_OK


def cmd_blank(args):
    template = forms.load_template(args.template) if args.template else forms.EXAMPLE_TEMPLATE
    page = io.BytesIO()
    forms.draw_form(template, (args.width, round(args.width * 297 / 210))).save(page, format="PNG")
    written = [args.out]
    if not args.template:  # the example form: its template goes beside it, for `add --template`
        template_path = Path(args.out).with_suffix(".json")
        if template_path.exists() and template_path.read_text() != template.to_json():
            raise UsageError(f"{template_path}: exists and is another template; draw it with --template "
                             f"{template_path}, or move it away")
        write_atomically(template_path, template.to_json().encode("utf-8"))
        written.append(template_path)
    write_atomically(args.out, page.getvalue())
    print(f"wrote {' and '.join(map(str, written))}: print the form on A4, one for each student")
    return EXIT_OK


# --- the command line --------------------------------------------------------------------------
def probability(text):
    value = float(text)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1, got {text}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m tinycnn.marks",
        description="Read roll number, subject code and marks from photos of answer sheets into a database.",
        epilog=EPILOG)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", default=DEFAULT_DB, metavar="FILE", help=f"the SQLite database (default: {DEFAULT_DB})")

    def command(name, run, help_text, parents=(db,)):
        sub = commands.add_parser(name, parents=list(parents), help=help_text, description=help_text, epilog=EPILOG)
        sub.set_defaults(run=run)
        return sub

    blank = command("blank", cmd_blank, "draw an empty form as a PNG to print", parents=())
    blank.add_argument("--out", required=True, metavar="FORM.png", help="the PNG to write")
    blank.add_argument("--template", metavar="FORM.json",
                       help="the template to draw (default: the example answer sheet, whose template is "
                            "written beside the PNG as FORM.json)")
    blank.add_argument("--width", type=positive_int, default=1240, help="in pixels (default: 1240, A4 at 150 dpi)")

    add = command("add", cmd_add, "read sheets and store one row per sheet (the database is created on first use)")
    add.add_argument("sheets", nargs="+", metavar="SHEET", help="a photo or scan, or a folder: every image in it")
    add.add_argument("--template", metavar="FORM.json",
                     help="where the fields are (default: three lines on plain paper: roll, subject, marks)")
    add.add_argument("--model", metavar="PATH", action="append",
                     help="a model saved by tinycnn (default: the reader's model); several times: their average")
    add.add_argument("--min-confidence", type=probability, default=MIN_CONFIDENCE, metavar="P",
                     help=f"a digit read with a probability below P is sent to review (default: {MIN_CONFIDENCE})")

    review = command("review", cmd_review, "show the sheets that need a person, with each digit's alternatives")
    review.add_argument("--json", action="store_true", help="one JSON object per sheet")

    fix = command("fix", cmd_fix, "correct one field; the machine's reading is kept beside it")
    fix.add_argument("sheet", type=positive_int, metavar="SHEET", help="the sheet number (see list or review)")
    fix.add_argument("field", metavar="FIELD", help="roll, subject, marks, ... (the template's field names)")
    fix.add_argument("value", metavar="VALUE", help="the right value, digits only")
    fix.add_argument("--by", metavar="NAME", help="who is correcting (default: your login name)")
    fix.add_argument("--force", action="store_true", help="store a value that breaks the field's rule")

    listing = command("list", cmd_list, "show the stored sheets")
    listing.add_argument("--status", choices=records.STATUSES, help="only sheets with this status")
    listing.add_argument("--json", action="store_true", help="one JSON object per sheet")

    export = command("export", cmd_export, "write every sheet to a CSV file (replaced in one step)")
    export.add_argument("--csv", required=True, metavar="FILE", help="the CSV file to write")

    delete = command("delete", cmd_delete, "remove a sheet (a photo added twice, or by mistake)")
    delete.add_argument("sheet", type=positive_int, metavar="SHEET")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (UsageError, StorageError, forms.TemplateError, ModelFileError) as error:
        print(f"error: {error}", file=sys.stderr)
    except sqlite3.Error as error:
        print(f"error: {args.db}: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("\ninterrupted: every sheet stored so far is kept; run the same command again to finish",
              file=sys.stderr)
        return 130
    return EXIT_BAD_INPUT
