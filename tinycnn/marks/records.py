"""What the marks database keeps about one answer sheet, and the rule that gives its status.

A `Sheet` holds one `FieldReading` per field of the form (roll, subject, marks, ...).
Each field keeps what the machine read next to any human `Correction`s, so nothing
the reader produced is ever overwritten:

    field.text         what the machine read ("" when it found no digits)
    field.corrections  what people typed with `fix`, oldest first
    field.value        the newest correction, else the machine's text

The status of a sheet follows from its fields, in this order:

    failed        a field has no value: the image could not be read, or a box was empty
    needs_review  a problem nobody has corrected yet (an uncertain digit, a value outside its
                  field's rule), or another sheet has the same roll number and subject
    corrected     a person fixed at least one field
    ok            the machine read everything and nothing looked wrong
"""

from dataclasses import dataclass, field
from datetime import datetime, timezone

OK, NEEDS_REVIEW, CORRECTED, FAILED = "ok", "needs_review", "corrected", "failed"
STATUSES = (OK, NEEDS_REVIEW, CORRECTED, FAILED)


def now():
    """The current time as ISO 8601 text in UTC, to the second: '2024-05-02T09:41:07+00:00'."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class Correction:
    """A value typed by a person, with who and when."""

    value: str
    by: str
    at: str  # ISO 8601, UTC


@dataclass
class FieldReading:
    """One field of one sheet: the machine's reading, its problems, and any corrections."""

    name: str
    text: str  # the digits the machine read, "" if none
    digits: list = field(default_factory=list)  # [{"label", "prob", "alternatives", "box"}], left to right
    problems: list = field(default_factory=list)  # why a person should look, e.g. "105 is outside 0-100"
    spec: dict = field(default_factory=dict)  # the field's rule from the template: {"digits": [lo, hi], "range": ...}
    corrections: list = field(default_factory=list)  # of Correction, oldest first

    @property
    def value(self):
        return self.corrections[-1].value if self.corrections else self.text

    @property
    def open_problems(self):
        """Problems still open: a correction means a person has looked at this field."""
        return [] if self.corrections else self.problems


@dataclass
class Sheet:
    """One photographed answer sheet. `id`, `status` and `conflicts` are filled in by the storage."""

    image_path: str
    sha256: str
    fields: list  # of FieldReading, in the template's order
    template: str = "default"
    model: str = ""
    read_at: str = ""
    error: str = ""  # why the image could not be read at all
    id: int = None
    status: str = None
    conflicts: list = field(default_factory=list)  # ids of other sheets with the same key

    def field_named(self, name):
        """The FieldReading called `name`; KeyError if the sheet has none."""
        for reading in self.fields:
            if reading.name == name:
                return reading
        raise KeyError(name)

    def values(self):
        """{field name: current value}."""
        return {reading.name: reading.value for reading in self.fields}

    def key_fields(self):
        """Names of the fields that identify a student's paper (the template's "key"): roll and subject."""
        return [f.name for f in self.fields if f.spec.get("key")]

    def key(self):
        """The current values of the key fields, e.g. ("20731", "101"); None if any is missing."""
        values = [self.field_named(name).value for name in self.key_fields()]
        return tuple(values) if values and all(values) else None

    def missing(self):
        """Names of the fields with no value: nothing read and nothing typed."""
        return [f.name for f in self.fields if not f.value]

    def review_reasons(self):
        """Everything a person should look at, one short line each."""
        reasons = [self.error] if self.error and self.missing() else []
        reasons += [f"{f.name}: {problem}" for f in self.fields for problem in f.open_problems]
        if self.conflicts:
            others = ", ".join(str(other) for other in self.conflicts)
            reasons.append(f"same {' and '.join(self.key_fields())} as sheet {others}")
        return reasons

    def compute_status(self):
        """The status rule of the module docstring."""
        if self.missing():
            return FAILED
        if self.review_reasons():
            return NEEDS_REVIEW
        if any(f.corrections for f in self.fields):
            return CORRECTED
        return OK
