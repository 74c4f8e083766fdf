"""Reading one photographed sheet with its template: the photo -> one FieldReading per field.

For each boxed field:

1. crop_box     the template's region plus a margin, so a photo a little off still holds the box
2. straighten   turn the crop so the box's edges are level (projection profiles)
3. erase_box    paint paper over the printed box, leaving only the writing
4. read_digits  the reader: segment, normalise, classify each digit
5. held_to_rule a reading that breaks the field's rule (digit count, range) is read again
                held to each count of digits the rule allows (joining a broken digit, splitting
                touching ones); the best reading that keeps the rule is stored, for review
6. checks       every digit certain enough, one line of writing, no ink left unread
                (on a plain page: no stroke left out as "/"), the field's rule: anything
                else is a problem to review

Fields given by "line" instead share one reading of the whole page; a line that breaks its
field's rule is held to it as in step 5, the page read again.
"""

import math

import numpy as np
from scipy import ndimage as ndi

from .. import imageio, threshold
from ..read import CLOSE_CUT, MIN_CONFIDENCE, ROW_DISAGREES, SLASH, is_close_cut, read_digits
from .forms import MARGIN, digit_counts, rule_problems
from .records import FieldReading, Sheet

# A phone held not quite square to the page tilts the printed boxes by a degree or two;
# the crop is turned straight, in steps of SKEW_STEP, before the box is erased.
MAX_SKEW, SKEW_STEP = 4.0, 0.25  # degrees
# In a straightened crop the box's top and bottom edges are rows mostly of ink (a row through
# a line of digits is under a third ink), and its sides are columns inked along nearly the
# whole height between them (a digit stands well inside the box).
EDGE_FILL, SIDE_FILL = 0.6, 0.9
SIDE_WIDTH = 5  # px
# A reading held to a field's rule counts only if the classifier reads each of its digits as some digit:
# holding "1989034" to six digits can join a 3 and a 4 into a piece that is no digit at all (p < 0.01).
HELD_DIGIT_FLOOR = 0.1


# --- the whole sheet ---------------------------------------------------------------------------
def read_sheet(path, sha256, template, model=None, model_name="", min_confidence=MIN_CONFIDENCE, read_at=""):
    """Read one sheet into a Sheet ready to store. A file that is no readable image gives a
    Sheet with `error` set and empty fields (status failed), never an exception."""
    try:
        fields, error = read_fields(path, template, model, min_confidence), ""
    except imageio.ImageError as bad:
        fields = [FieldReading(f.name, "", spec=f.spec()) for f in template.fields]
        error = str(bad)
    return Sheet(str(path), sha256, fields, template.name, model_name, read_at, error)


def read_fields(image, template, model=None, min_confidence=MIN_CONFIDENCE):
    """Read every field of `template` from `image` (a path, PIL image or array); a list of FieldReading.

    Region fields are cropped and read one by one; line fields share one reading of the
    whole page. Raises imageio.ImageError for a file that is not a readable image.
    """
    gray = imageio.load_grayscale(image)
    lines = [f.line for f in template.fields if f.region is None]
    page = read_with_fallback(gray, model, min_confidence) if lines else None
    return [_read_box(gray, field, model, min_confidence) if field.region
            else _read_line(gray, page, field, max(lines) + 1, model, min_confidence) for field in template.fields]


def _read_box(gray, field, model, min_confidence):
    """Crop the field's box (plus MARGIN) out of the page (H, W) and read it."""
    top, bottom, left, right = crop_box(field, gray.shape)
    band = round(2 * MARGIN * gray.shape[1])  # the side of a box shifted by a margin still lies in it
    crop = erase_box(straighten(gray[top:bottom, left:right]), band)
    found, held = held_to_rule(field, read_with_fallback(crop, model, min_confidence).digits,
                               lambda count: read_with_fallback(crop, model, min_confidence, count).digits)
    digits = [_digit_record(d, left, top) for d in found]
    unread = unread_ink(crop, [d.box for d in found])
    return _field_reading(field, digits, len({d.line for d in found}), min_confidence,
                          held + ([f"{unread} mark(s) not read as digits"] if unread else []))


def _read_line(gray, page, field, expected_lines, model, min_confidence):
    """Take one line out of the reading of a plain page (H, W); more lines than expected is a problem for all."""
    extra = [f"{len(page.lines)} lines of writing on the page, expected {expected_lines}"] \
        if len(page.lines) > expected_lines else []

    def line_of(reading):
        return [d for d in reading.digits if d.line == field.line]

    found, held = held_to_rule(field, line_of(page),
                               lambda count: line_of(read_with_fallback(gray, model, min_confidence, count)))
    digits = [_digit_record(d, 0, 0) for d in found]
    left_out = [SLASH] if any(line == field.line for _, line in page.slashes) else []
    return _field_reading(field, digits, 1, min_confidence, extra + held + left_out)


# --- a box on the page: crop, straighten, erase -----------------------------------------------
def crop_box(field, shape):
    """Pixel bounds (top, bottom, left, right) of a field's region plus MARGIN, in an image of shape (H, W)."""
    height, width = shape
    x0, y0, x1, y1 = field.region
    left, right = math.floor((x0 - MARGIN) * width), math.ceil((x1 + MARGIN) * width)
    top, bottom = math.floor((y0 - MARGIN) * height), math.ceil((y1 + MARGIN) * height)
    return max(0, top), min(height, max(bottom, top + 1)), max(0, left), min(width, max(right, left + 1))


def skew_angle(ink):
    """How many degrees the printed lines of an ink mask (H, W) bool are tilted (positive: down to the right).

    Projection profiles: shear the ink by each candidate angle and count the ink in each
    row. At the right angle a box's long edges fall into a few rows, and the sum of the
    squared row counts peaks.
    """
    ys, xs = np.nonzero(ink)
    if ys.size == 0:
        return 0.0
    angles = np.arange(-MAX_SKEW, MAX_SKEW + SKEW_STEP / 2, SKEW_STEP)
    sharpness = []
    for angle in angles:
        rows = np.round(ys - xs * np.tan(np.radians(angle))).astype(int)
        sharpness.append(np.sum(np.bincount(rows - rows.min()).astype(float) ** 2))
    return float(angles[int(np.argmax(sharpness))])


def straighten(gray):
    """Turn a crop (H, W) so that its printed lines are level again; the reader removes level lines best."""
    angle = skew_angle(threshold.binarize(gray, "adaptive"))
    return ndi.rotate(gray, angle, reshape=False, order=1, mode="nearest") if angle else gray


def erase_box(gray, band):
    """Paint paper over the printed box of a straightened crop (H, W), so that only writing is left.

    The reader removes ruled lines itself, judging their length in digit heights; in an
    empty box there is no digit to measure, and the box's sides would be read as two 1s.
    The sides are looked for only within `band` px of the crop's left and right ends, where
    the template says the box's sides are.
    """
    ink = threshold.binarize(gray, "adaptive")  # a shadow's dark side would look like ink to a single threshold
    edges = np.flatnonzero(ink.mean(axis=1) >= EDGE_FILL)
    inside = ink[edges[0]:edges[-1] + 1] if edges.size >= 2 else ink
    # a side leaning by a pixel or two (perspective) still fills a 5-px wide column
    sides = ndi.maximum_filter1d(inside, SIDE_WIDTH, axis=1).mean(axis=0) >= SIDE_FILL
    sides[band:gray.shape[1] - band] = False
    frame = np.zeros(gray.shape, dtype=bool)
    frame[edges] = True
    frame[:, sides] = True
    frame = ndi.binary_dilation(frame, iterations=2)  # the blurred fringe of the printed line too
    return np.where(frame, threshold.paper_background(gray), gray)


# --- reading and checking ------------------------------------------------------------------------
def read_with_fallback(gray, model, min_confidence, digits=None):
    """read_digits, and if it finds nothing, again with adaptive thresholding: a single
    threshold can split a soft shadow from the lit paper and take the shadow for the ink."""
    reading = read_digits(gray, model, min_confidence, digits=digits)
    return reading if reading.digits else read_digits(gray, model, min_confidence, "adaptive", digits)


def held_to_rule(field, digits, read_held):
    """(digits, problems): a field's digits (read.Digit, reading order), or, if they break
    the field's rule, better ones.

    A digit whose pen skipped reads as two ("6" as "10"); two touching digits read
    as one; a stray mark at an end of the line (what is left of a box's side, a tick)
    reads as a digit. When the number of digits or the value breaks the rule, the
    field is read again held to each number of digits the rule allows (`digit_counts`):
    read_held(count) gives the field's digits read with every line held to `count`.
    If none of those keeps the rule, the first reading without some digits at its
    ends is tried, each digit left out costing log(1 - p), the chance that it is no
    digit. Of the readings that keep the rule, in one line, with every digit read at
    HELD_DIGIT_FLOOR or more, the one the classifier finds likeliest (highest total
    log-probability) is kept. It is a guess the rule helped make, so the field goes
    to review, with a problem saying what was first read.
    """
    first = _text(digits)
    counts = digit_counts(field.spec())
    if not digits or not counts or not rule_problems(first, field.spec()):
        return digits, []

    def keeps_rule(again, count):
        return (len(again) == count and len({d.line for d in again}) == 1
                and not rule_problems(_text(again), field.spec()) and min(d.prob for d in again) >= HELD_DIGIT_FLOOR)

    def likelihood(again, dropped=()):
        return sum(math.log(max(d.prob, 1e-12)) for d in again) + sum(math.log(max(1 - d.prob, 1e-12)) for d in dropped)

    kept = []  # (log-likelihood, count, digits, how)
    for count in counts:
        again = read_held(count) if count != len(digits) else digits
        if keeps_rule(again, count):
            kept.append((likelihood(again), count, again, ""))
    if not kept:  # perhaps a stray mark at an end of the line was read as a digit
        for count in (c for c in counts if c < len(digits)):
            for start in range(len(digits) - count + 1):  # leave out `start` digits at the left, the rest at the right
                again, dropped = digits[start:start + count], digits[:start] + digits[start + count:]
                if keeps_rule(again, count):
                    how = f', leaving out "{_text(dropped)}" at the ends'
                    kept.append((likelihood(again, dropped), count, again, how))
    if not kept:
        return digits, []
    _, count, best, how = max(kept, key=lambda k: k[0])
    return best, [f"read as {count} digits only when held to the field's rule{how} (first read: {first})"]


def _text(digits):
    """Digits (read.Digit) as one string, lines and gaps left out."""
    return "".join(str(d.label) for d in digits)


def unread_ink(gray, boxes):
    """How many blobs of ink in a crop (H, W) whose box is erased, at least half a digit tall or
    wide, lie outside every digit box.

    A safety net under the reader: it drops blobs it takes for punctuation (a slanted "1"
    looks much like a "/"), junk or a ruled line (the long base of a 2), and a dropped stroke
    can make a wrong number that looks fine. Ink the reader left unexplained sends the field
    to review instead.
    boxes: the digits' (x, y, w, h) in the crop.
    """
    if not boxes:
        return 0
    unexplained = threshold.binarize(gray)
    for x, y, w, h in boxes:
        unexplained[y:y + h, x:x + w] = False
    labels, _ = ndi.label(unexplained, structure=np.ones((3, 3), dtype=bool))
    size = 0.5 * np.median([h for _, _, _, h in boxes])
    return sum(max(rows.stop - rows.start, cols.stop - cols.start) >= size for rows, cols in ndi.find_objects(labels))


def _reading_problems(digits, lines, min_confidence):
    """Problems with the machine's reading itself, before any rule."""
    if not digits:
        return ["no digits found"]
    problems = [f"{lines} lines of writing in the box"] if lines > 1 else []
    for position, digit in enumerate(digits, start=1):
        if digit["prob"] < min_confidence:
            problems.append(f"uncertain digit {position}: {digit['label']} (p={digit['prob']:.2f})")
        elif is_close_cut(digit.get("cut_margin")):  # rows stored before cut margins have none
            problems.append(f"uncertain digit {position}: {digit['label']}, {CLOSE_CUT}")
        elif digit.get("row_doubt"):  # nor have rows stored before the row reader a row_doubt
            problems.append(f"uncertain digit {position}: {digit['label']}, {ROW_DISAGREES}")
    return problems


def _digit_record(digit, dx, dy):
    """A read.Digit as stored: label, probability, runner-ups and its box on the page."""
    x, y, w, h = digit.box
    return {"label": digit.label, "prob": digit.prob, "alternatives": [list(a) for a in digit.alternatives],
            "box": [x + dx, y + dy, w, h], "cut_margin": digit.cut_margin, "row_doubt": digit.row_doubt}


def _field_reading(field, digits, lines, min_confidence, more_problems=()):
    """A FieldReading from the digit records, with every problem: the reading's, `more_problems`, the rules'."""
    text = "".join(str(d["label"]) for d in digits)
    problems = _reading_problems(digits, lines, min_confidence)
    problems += list(more_problems) + (rule_problems(text, field.spec()) if digits else [])
    return FieldReading(field.name, text, digits, problems, field.spec())
