"""tinycnn.marks.forms and reading: templates and their errors, the field rules, the printable
blank form, and the image steps around the reader (crop, straighten, erase the box, unread ink). No model needed."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from drawing import render
from tinycnn.marks import forms, reading
from tinycnn.read import SLASH, shipped_model
from tinycnn.marks.forms import DEFAULT_TEMPLATE, TemplateError, load_template, parse_template, rule_problems

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "form.json"


def test_the_example_template():
    template = load_template(EXAMPLE)
    assert [f.name for f in template.fields] == ["roll", "subject", "marks"]
    roll, _, marks = template.fields
    assert roll.region == (0.34, 0.2, 0.9, 0.27) and roll.label == "Roll No." and roll.digits == (6, 6)
    assert marks.range == (0, 100) and marks.digits is None
    assert [f.key for f in template.fields] == [True, True, False]
    assert template.name == str(EXAMPLE) and template.title


def test_examples_form_json_is_the_example_template():
    assert forms.EXAMPLE_TEMPLATE.to_json() == EXAMPLE.read_text()


def test_the_default_template_reads_three_lines():
    assert [(f.name, f.line, f.region) for f in DEFAULT_TEMPLATE.fields] == \
        [("roll", 0, None), ("subject", 1, None), ("marks", 2, None)]
    assert DEFAULT_TEMPLATE.fields[2].spec() == {"range": [0, 100]}


def test_a_template_survives_its_json_form():
    template = load_template(EXAMPLE)
    assert parse_template(json.loads(template.to_json()), template.name) == template
    assert template.to_json() == EXAMPLE.read_text()


def test_a_region_can_be_a_bare_list_and_digits_a_range():
    template = parse_template({"fields": {"id": [0, 0, 0.5, 0.1], "score": {"region": [0, 0.5, 1, 1],
                                                                             "digits": [1, 3]}}})
    assert template.fields[0].region == (0.0, 0.0, 0.5, 0.1) and template.fields[1].digits == (1, 3)
    assert not any(f.key for f in template.fields)  # no roll or subject: no key unless named


@pytest.mark.parametrize("data, message", [
    ([], "expected an object"),
    ({"fields": {}}, "expected an object"),
    ({"fields": {"roll": [0.1, 0.1, 0.5]}}, "four numbers"),
    ({"fields": {"roll": [0.1, 0.1, 1.5, 0.2]}}, "outside the page"),
    ({"fields": {"roll": [-0.1, 0.1, 0.5, 0.2]}}, "outside the page"),
    ({"fields": {"roll": [0.5, 0.1, 0.5, 0.2]}}, "x0 must be less than x1"),
    ({"fields": {"roll": [0.1, 0.3, 0.5, 0.2]}}, "y0 less than y1"),
    ({"fields": {"roll": ["a", 0.1, 0.5, 0.2]}}, "four numbers"),
    ({"fields": {"roll": {"region": [0, 0, 1, 1], "line": 0}}}, "either"),
    ({"fields": {"roll": {"label": "Roll"}}}, "either"),
    ({"fields": {"roll": {"line": -1}}}, "line must be"),
    ({"fields": {"roll": {"line": 0, "digits": 0}}}, "digits must be"),
    ({"fields": {"roll": {"line": 0, "digits": [4, 2]}}}, "digits must be"),
    ({"fields": {"marks": {"line": 0, "range": [100, 0]}}}, "range must be"),
    ({"fields": {"marks": {"line": 0, "colour": "red"}}}, "unknown entry 'colour'"),
    ({"fields": {"marks": {"line": 0}}, "pages": 2}, "unknown entry 'pages'"),
    ({"fields": {"marks": {"line": 0}}, "key": ["roll"]}, '"key" must list field names'),
])
def test_a_bad_template_is_refused_with_the_reason(tmp_path, data, message):
    path = tmp_path / "form.json"
    path.write_text(json.dumps(data))
    with pytest.raises(TemplateError, match=message) as info:
        load_template(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


@pytest.mark.parametrize("text, message", [
    ('{"fields": {"roll": [0.1, 0.1, 0.5, 0.2],}}', "not valid JSON"),
    ("", "not valid JSON"),
])
def test_a_template_that_is_not_json_is_refused(tmp_path, text, message):
    path = tmp_path / "form.json"
    path.write_text(text)
    with pytest.raises(TemplateError, match=message):
        load_template(path)


def test_a_missing_template_is_named(tmp_path):
    with pytest.raises(TemplateError, match="missing.json: no such file"):
        load_template(tmp_path / "missing.json")


json_values = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-2, 2) | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
                               st.sampled_from(["fields", "roll", "region", "line", "digits", "range", "key"]),
                               inner, max_size=4), max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_gives_a_template_or_a_template_error(data):
    try:
        template = parse_template(data)
    except TemplateError as error:
        assert str(error).startswith("<template>: ")
    else:
        assert all(f.region or f.line is not None for f in template.fields)


@pytest.mark.parametrize("value, spec, problems", [
    ("204518", {"digits": [6, 6]}, []),
    ("20451", {"digits": [6, 6]}, ["expected 6 digits, got 5"]),
    ("7", {"digits": [2, 3]}, ["expected 2-3 digits, got 1"]),
    ("100", {"range": [0, 100]}, []),
    ("101", {"range": [0, 100]}, ["101 is outside 0-100"]),
    ("007", {"range": [0, 100]}, []),
    ("1234", {"digits": [1, 3], "range": [0, 100]}, ["expected 1-3 digits, got 4", "1234 is outside 0-100"]),
    ("55", {}, []),
])
def test_rule_problems(value, spec, problems):
    assert rule_problems(value, spec) == problems


@pytest.mark.parametrize("spec, counts", [
    ({"digits": [6, 6]}, [6]),
    ({"range": [0, 100]}, [1, 2, 3]),
    ({"digits": [2, 4], "range": [0, 100]}, [2, 3]),
    ({"range": [10, 99]}, [2]),
    ({}, None),
])
def test_digit_counts(spec, counts):
    assert forms.digit_counts(spec) == counts


def _overlapping_7117(mnist_data):
    """A gray (H, W) image of "7117" written with the digits overlapping by 49 px of 64 (the reader,
    the row readers' second reading included, takes a 1 for part of its neighbour there: "717")."""
    from test_read import number_image, pick_digits  # MNIST test digits written as a number

    return np.asarray(number_image(pick_digits(mnist_data, "7117"), gap=-49), dtype=np.float32) / 255


def test_a_reading_that_breaks_the_rule_is_read_again_held_to_it(mnist_data):
    gray = _overlapping_7117(mnist_data)
    model = shipped_model("reader_cnn.npz")  # one network of the reading model, which cuts these digits wrong
    first = reading.read_with_fallback(gray, model, 0.9).digits
    assert len(first) != 4, "the digits overlap so much that the first reading breaks the rule"
    asked = []

    def read_held(count):
        asked.append(count)
        return reading.read_with_fallback(gray, model, 0.9, count).digits

    code = forms.Field("code", region=(0.0, 0.0, 1.0, 1.0), digits=(4, 4))
    held, problems = reading.held_to_rule(code, first, read_held)
    assert reading._text(held) == "7117" and asked == [4]
    assert problems == [f"read as 4 digits only when held to the field's rule (first read: {reading._text(first)})"]
    free = forms.Field("code", region=(0.0, 0.0, 1.0, 1.0))  # no rule: the first reading stands
    assert reading.held_to_rule(free, first, read_held) == (first, []) and asked == [4]


def test_a_line_of_a_plain_page_is_held_to_its_rule_too(mnist_data):
    template = parse_template({"fields": {"code": {"line": 0, "digits": 4}}}, "plain")
    code, = reading.read_fields(_overlapping_7117(mnist_data), template, shipped_model("reader_cnn.npz"))
    assert code.text == "7117" and any("only when held to the field's rule" in p for p in code.problems)


def test_a_line_of_a_plain_page_with_a_stroke_left_out_as_a_slash_is_a_problem():
    gray, _ = render("104\n7/0")
    template = parse_template({"fields": {"roll": {"line": 0}, "marks": {"line": 1}}}, "plain")
    roll, marks = reading.read_fields(gray, template, shipped_model("paper_cnn.npz"))
    assert marks.text == "70" and SLASH in marks.problems
    assert SLASH not in roll.problems


def test_a_reading_held_to_the_rule_must_read_every_digit_as_one(mnist_data):
    class Unsure:  # a classifier that reads nothing as any digit: 0.09 each, the rest "not a digit"
        def predict(self, x):
            return np.tile(np.r_[np.full(10, 0.09), 0.1], (len(x), 1)).astype(np.float32)

    gray = _overlapping_7117(mnist_data)
    first = reading.read_with_fallback(gray, Unsure(), 0.9).digits
    code = forms.Field("code", region=(0.0, 0.0, 1.0, 1.0), digits=(len(first) + 1,) * 2)
    read_held = lambda count: reading.read_with_fallback(gray, Unsure(), 0.9, count).digits  # noqa: E731
    assert reading.held_to_rule(code, first, read_held) == (first, [])


def _digits(text, probs):
    from tinycnn.read import Digit
    return [Digit(int(c), p, (20 * i, 0, 15, 30), 0) for i, (c, p) in enumerate(zip(text, probs))]


@pytest.mark.parametrize("text, probs, expected, left_out", [
    ("1989034", [0.6, 1, 1, 1, 1, 1, 1], "989034", "1"),  # what was left of the box's side, read as a 1
    ("9890341", [1, 1, 1, 1, 1, 1, 0.5], "989034", "1"),
    ("79890341", [0.4, 1, 1, 1, 1, 1, 1, 0.3], "989034", "71"),
])
def test_a_stray_mark_at_an_end_of_the_line_is_left_out_to_keep_the_rule(text, probs, expected, left_out):
    roll = forms.Field("roll", region=(0.0, 0.0, 1.0, 1.0), digits=(6, 6))
    first = _digits(text, probs)
    held, problems = reading.held_to_rule(roll, first, lambda count: first)  # holding it to 6 changes nothing
    assert reading._text(held) == expected
    assert problems == [f'read as 6 digits only when held to the field\'s rule, leaving out "{left_out}" at the ends '
                        f'(first read: {text})']


def test_digits_are_left_out_at_the_ends_only_when_no_reading_held_to_the_rule_keeps_it():
    roll = forms.Field("roll", region=(0.0, 0.0, 1.0, 1.0), digits=(6, 6))
    first = _digits("1989034", [0.6, 1, 1, 1, 1, 0.5, 0.5])  # "3" and "4" were one digit, cut in two
    joined = _digits("198908", [0.6, 1, 1, 1, 1, 0.2])
    held, problems = reading.held_to_rule(roll, first, lambda count: joined)
    assert reading._text(held) == "198908"  # though leaving out the unsure 1 would be likelier
    assert problems == ["read as 6 digits only when held to the field's rule (first read: 1989034)"]
    unsure = _digits("1989034", [1, 1, 1, 0.05, 1, 1, 1])  # every way to six keeps a 9 under HELD_DIGIT_FLOOR
    assert reading.held_to_rule(roll, unsure, lambda count: unsure) == (unsure, [])


def test_crop_box_adds_the_margin_and_stays_on_the_page():
    field = forms.Field("roll", region=(0.0, 0.5, 0.5, 1.0))
    assert reading.crop_box(field, (1000, 800)) == (480, 1000, 0, 416)


def tilted_box(angle, shape=(160, 500)):
    """A printed box (H, W) turned by `angle` degrees, gray in [0, 1], and the same box level."""
    page = Image.new("L", shape[::-1], 255)
    ImageDraw.Draw(page).rectangle([30, 40, 470, 120], outline=0, width=3)
    return np.asarray(page.rotate(-angle, fillcolor=255, resample=Image.Resampling.BILINEAR), np.float32) / 255


@pytest.mark.parametrize("angle", [-3.0, -1.25, 0.0, 0.5, 2.0])
def test_skew_angle_finds_the_tilt_of_a_printed_box(angle):
    ink = tilted_box(angle) < 0.5
    assert abs(reading.skew_angle(ink) - angle) <= reading.SKEW_STEP


def test_straighten_levels_the_box():
    level = reading.straighten(tilted_box(2.0)) < 0.5
    rows = level.sum(axis=1)
    assert rows.max() > 0.9 * 440  # the top or bottom edge lies in one row again


def test_erase_box_leaves_only_the_writing():
    page = Image.new("L", (500, 160), 255)
    draw = ImageDraw.Draw(page)
    draw.rectangle([20, 30, 480, 130], outline=0, width=3)  # the printed box, 20 px in from the ends
    draw.line([(100, 50), (100, 110)], fill=0, width=6)  # a "1" written in it
    erased = reading.erase_box(np.asarray(page, np.float32) / 255, band=40) < 0.5
    assert erased[50:111, 98:104].all()  # the 1 is kept
    erased[40:120, 90:110] = False
    assert not erased.any()  # and nothing else is left


def test_unread_ink_counts_blobs_no_digit_box_covers():
    page = Image.new("L", (300, 120), 255)
    draw = ImageDraw.Draw(page)
    draw.line([(40, 20), (40, 90)], fill=0, width=6)  # a "1"
    draw.line([(120, 90), (150, 20)], fill=0, width=6)  # a slanted "1" the reader took for a "/"
    gray = np.asarray(page, np.float32) / 255
    assert reading.unread_ink(gray, [(37, 17, 7, 76)]) == 1
    assert reading.unread_ink(gray, [(37, 17, 7, 76), (117, 17, 37, 76)]) == 0


def test_draw_form_prints_each_box_where_its_region_says():
    template = load_template(EXAMPLE)
    page = np.asarray(forms.draw_form(template, (620, 877)))
    assert page.shape == (877, 620)
    x0, y0, x1, y1 = np.round(np.multiply(template.fields[0].region, [620, 877, 620, 877])).astype(int)
    assert page[y0, x0 + 10:x1 - 10].max() < 128  # the top edge of the roll-number box
    inside = page[y0 + 5:y1 - 5, x0 + 5:x1 - 5]
    assert inside.min() > 200  # an empty box
    assert page[y0:y1, : x0 - 10].min() < 128  # its label, to the left


def test_the_default_template_has_no_form_to_draw():
    with pytest.raises(TemplateError, match="no field has a region"):
        forms.draw_form(DEFAULT_TEMPLATE)


def test_a_digit_cut_where_another_cut_read_nearly_as_well_needs_review():
    from tinycnn.read import CUT_DOUBT, Digit

    def problems(margin):
        digits = [reading._digit_record(Digit(4, 0.99, (0, 0, 10, 20), 0, cut_margin=margin), 0, 0)]
        return reading._reading_problems(digits, 1, 0.9)

    assert problems(None) == [] and problems(CUT_DOUBT + 0.1) == []
    close = "uncertain digit 1: 4, cut from touching digits where another cut read nearly as well"
    assert problems(CUT_DOUBT - 0.1) == [close]
    stored_before = {"label": 4, "prob": 0.99, "alternatives": [], "box": [0, 0, 1, 1]}  # a row without cut_margin
    assert reading._reading_problems([stored_before], 1, 0.9) == []


def test_a_digit_the_row_reader_read_otherwise_needs_review():
    from tinycnn.read import ROW_DISAGREES, Digit
    doubted = reading._digit_record(Digit(4, 0.99, (0, 0, 10, 20), 0, row_doubt=True), 0, 0)
    assert reading._reading_problems([doubted], 1, 0.9) == [f"uncertain digit 1: 4, {ROW_DISAGREES}"]
    assert reading._reading_problems([{**doubted, "row_doubt": False}], 1, 0.9) == []
