"""Marks from photographed answer sheets into a database: `python -m tinycnn.marks`.

    records.py   Sheet, FieldReading, Correction, and the rule that gives a sheet its status
    forms.py     templates (where each field is, what it may hold) and the blank form to print
    reading.py   a photo and its template -> each field's digits and anything to review
    storage.py   the Storage interface and its SQLite implementation (schema, migrations)
    cli.py       the command: blank, add, list, review, fix, delete, export

Each module imports only those above it in this list (and the reader, tinycnn.read).
"""
