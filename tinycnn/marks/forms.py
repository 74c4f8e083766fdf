"""Form templates: where each field sits on a sheet, what it may hold, and reading it.

A template is a small JSON file. Each field names its box as fractions of the page,
(x0, y0) the top-left corner and (x1, y1) the bottom-right one, so a template fits a
photo of any resolution:

    {"title": "Class test",
     "fields": {"roll":    {"region": [0.35, 0.25, 0.85, 0.31], "label": "Roll No.", "digits": 6},
                "subject": {"region": [0.35, 0.38, 0.65, 0.44], "label": "Subject Code", "digits": 3},
                "marks":   {"region": [0.35, 0.51, 0.60, 0.57], "label": "Marks", "range": [0, 100]}},
     "key": ["roll", "subject"]}

- "region" is the printed box. The reader crops it with a margin of MARGIN (2% of the page)
  on every side, so a photo taken a little off-centre still holds the whole box; print
  labels such as "Roll No." at least that far from the box. A bare list is a region alone.
- "line": N instead of "region" takes the N-th line of writing on the whole page (0 = top).
- "digits": N or [min, max] is the expected number of digits; "range": [low, high] the
  allowed values. A reading that breaks them is flagged for review, never silently stored.
- "key" names the fields that identify one student's paper (default: roll and subject);
  two sheets with the same key are flagged as a conflict.
- "label" and "title" are printed by `draw_form`, which makes a blank form to print.

Without a template the DEFAULT_TEMPLATE reads a plain page with three lines of writing,
top to bottom: roll number, subject code and marks (0-100). Reading a sheet with a
template is in reading.py.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

MARGIN = 0.02  # the crop around a box, as a fraction of the page's width (x) and height (y)


class TemplateError(ValueError):
    """A template that cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class Field:
    """One field of a template: where it is and what it may hold."""

    name: str
    region: tuple = None  # (x0, y0, x1, y1), fractions of the page width and height
    line: int = None  # or: the line of writing, 0 = top, on a plain page
    label: str = ""  # printed left of the box by draw_form
    digits: tuple = None  # (min, max) number of digits
    range: tuple = None  # (low, high) allowed values
    key: bool = False  # part of what identifies a student's paper

    def spec(self):
        """The rule part, as stored beside each reading: {"digits": [lo, hi], "range": [lo, hi], "key": True}."""
        spec = {"digits": self.digits and list(self.digits), "range": self.range and list(self.range),
                "key": self.key or None}
        return {name: value for name, value in spec.items() if value is not None}


@dataclass(frozen=True)
class Template:
    """A named list of fields; `name` is the file it came from, or "default"."""

    fields: tuple  # of Field
    name: str = "default"
    title: str = ""

    def to_dict(self):
        """The JSON form, as `load_template` reads it."""
        fields = {}
        for f in self.fields:
            entry = {"region": list(f.region)} if f.region else {"line": f.line}
            entry.update({"label": f.label} if f.label else {})
            entry.update({name: value for name, value in f.spec().items() if name != "key"})
            if entry.get("digits") and entry["digits"][0] == entry["digits"][1]:
                entry["digits"] = entry["digits"][0]
            fields[f.name] = entry
        data = {"title": self.title} if self.title else {}
        return {**data, "fields": fields, "key": [f.name for f in self.fields if f.key]}

    def to_json(self):
        """The JSON text of the template, one field per line, as in examples/form.json."""
        data = self.to_dict()
        fields = ",\n".join(f"    {json.dumps(name)}: {json.dumps(entry)}" for name, entry in data["fields"].items())
        parts = [f'  "title": {json.dumps(self.title)}'] if self.title else []
        parts += ['  "fields": {\n' + fields + "\n  }", f'  "key": {json.dumps(data["key"])}']
        return "{\n" + ",\n".join(parts) + "\n}\n"


# --- loading and checking a template ------------------------------------------------------
def parse_template(data, name="<template>"):
    """A Template from the decoded JSON `data`; TemplateError naming `name` if anything is wrong."""
    def fail(message):
        raise TemplateError(f"{name}: {message}")

    if not isinstance(data, dict) or not isinstance(data.get("fields"), dict) or not data["fields"]:
        fail('expected an object with "fields": {"name": [x0, y0, x1, y1], ...}')
    unknown = set(data) - {"title", "fields", "key"}
    if unknown:
        fail(f"unknown entry {min(unknown)!r} (expected title, fields, key)")
    key = data.get("key", [n for n in ("roll", "subject") if n in data["fields"]])
    if not isinstance(key, list) or not all(isinstance(k, str) and k in data["fields"] for k in key):
        fail(f'"key" must list field names, got {key!r}')
    title = data.get("title", "")
    if not isinstance(title, str):
        fail(f'"title" must be text, got {title!r}')
    fields = []
    for field_name, entry in data["fields"].items():
        try:
            fields.append(_parse_field(field_name, entry, field_name in key))
        except ValueError as error:
            fail(f"field {field_name!r}: {error}")
    return Template(tuple(fields), name, title)


def _parse_field(name, entry, key):
    """One "fields" entry -> Field; ValueError with the reason."""
    if isinstance(entry, list):
        entry = {"region": entry}
    if not isinstance(entry, dict):
        raise ValueError(f"expected [x0, y0, x1, y1] or an object, got {entry!r}")
    unknown = set(entry) - {"region", "line", "label", "digits", "range"}
    if unknown:
        raise ValueError(f"unknown entry {min(unknown)!r} (expected region or line, label, digits, range)")
    if ("region" in entry) == ("line" in entry):
        raise ValueError('give either "region": [x0, y0, x1, y1] or "line": N')
    digits = entry.get("digits")
    if isinstance(digits, int) and not isinstance(digits, bool):
        digits = [digits, digits]
    return Field(name, region=_parse_region(entry["region"]) if "region" in entry else None,
                 line=_parse_line(entry["line"]) if "line" in entry else None,
                 label=str(entry.get("label", "")),
                 digits=_parse_pair(digits, "digits", low=1) if digits is not None else None,
                 range=_parse_pair(entry["range"], "range", low=0) if "range" in entry else None, key=key)


def _parse_region(region):
    """[x0, y0, x1, y1] fractions of the page, inside it and not empty."""
    if (not isinstance(region, list) or len(region) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in region)):
        raise ValueError(f"region must be [x0, y0, x1, y1], four numbers, got {region!r}")
    x0, y0, x1, y1 = region
    if not all(0 <= v <= 1 for v in region):
        raise ValueError(f"region {region} lies outside the page: use fractions of the page between 0 and 1")
    if x0 >= x1 or y0 >= y1:
        raise ValueError(f"region {region} is empty: x0 must be less than x1 and y0 less than y1")
    return tuple(float(v) for v in region)


def _parse_line(line):
    if not isinstance(line, int) or isinstance(line, bool) or line < 0:
        raise ValueError(f"line must be a whole number from 0 (the top line), got {line!r}")
    return line


def _parse_pair(pair, what, low):
    """[a, b] whole numbers with low <= a <= b."""
    if (not isinstance(pair, list) or len(pair) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair) or not low <= pair[0] <= pair[1]):
        raise ValueError(f"{what} must be [min, max], whole numbers with {low} <= min <= max, got {pair!r}")
    return tuple(pair)


def load_template(path):
    """Read and check a template file; TemplateError with one line naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateError(f"{path}: cannot read ({error.__class__.__name__}: {error})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise TemplateError(f"{path}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})") from None
    return parse_template(data, str(path))


DEFAULT_TEMPLATE = parse_template({"fields": {"roll": {"line": 0}, "subject": {"line": 1},
                                              "marks": {"line": 2, "range": [0, 100]}}}, "default")
# The answer-sheet cover that `tinycnn marks blank` prints, also in examples/form.json.
EXAMPLE_TEMPLATE = parse_template({
    "title": "Class Test: Answer Sheet",
    "fields": {"roll": {"region": [0.34, 0.2, 0.9, 0.27], "label": "Roll No.", "digits": 6},
               "subject": {"region": [0.34, 0.33, 0.64, 0.4], "label": "Subject Code", "digits": 3},
               "marks": {"region": [0.34, 0.46, 0.6, 0.53], "label": "Marks", "range": [0, 100]}},
    "key": ["roll", "subject"]}, "example")


# --- the rules -----------------------------------------------------------------------------
def rule_problems(value, spec):
    """What is wrong with `value` (digits as text) under a field's spec: a list of short lines."""
    problems = []
    if spec.get("digits"):
        low, high = spec["digits"]
        if not low <= len(value) <= high:
            wanted = str(low) if low == high else f"{low}-{high}"
            problems.append(f"expected {wanted} digits, got {len(value)}")
    if spec.get("range") and value.isdigit():
        low, high = spec["range"]
        if not low <= int(value) <= high:
            problems.append(f"{int(value)} is outside {low}-{high}")
    return problems


def digit_counts(spec):
    """The numbers of digits a field's spec allows, low to high, or None if it says nothing of them:
    its "digits", narrowed by its "range" (0-100 holds 1 to 3 digits)."""
    low, high = spec.get("digits") or (1, math.inf)
    if spec.get("range"):
        low_value, high_value = spec["range"]
        low, high = max(low, len(str(low_value))), min(high, len(str(high_value)))
    return None if high == math.inf else list(range(low, high + 1))


# --- a blank form to print ------------------------------------------------------------------
def draw_form(template, size=(1240, 1754)):
    """The printed form of a template: each region's box, its label to the left, the title on top.

    size: (width, height) in pixels; the default is A4 at 150 dpi. Returns a PIL image, mode "L".
    """
    boxed = [f for f in template.fields if f.region]
    if not boxed:
        raise TemplateError(f"{template.name}: no field has a region, so there is no box to print "
                            "(the default template reads three lines written on plain paper)")
    width, height = size
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    pen = max(2, round(width / 500))
    if template.title:
        font = ImageFont.load_default(size=round(0.03 * height))
        draw.text((width / 2, 0.08 * height), template.title, fill=0, font=font, anchor="mm")
    for field in boxed:
        x0, y0, x1, y1 = np.multiply(field.region, [width, height, width, height])
        draw.rectangle([x0, y0, x1, y1], outline=0, width=pen)
        font = ImageFont.load_default(size=max(10, round(0.4 * (y1 - y0))))
        label = field.label or field.name.replace("_", " ").capitalize()
        draw.text((x0 - 2 * MARGIN * width, (y0 + y1) / 2), label, fill=0, font=font, anchor="rm")
    return page
