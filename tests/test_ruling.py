"""Tests for tinycnn.ruling: ruled lines, underlines and box borders erased, digits' own strokes kept."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

from drawing import STROKE, H, assert_finds, render
from tinycnn import ruling, threshold
from tinycnn import segment as seg


def test_ruled_line_and_underline_are_removed_but_digits_kept():
    clean, boxes = render("1704 57")
    ruled = clean.copy()
    ruled[60:63, :] = 0.0  # a ruled line through the lower half of the digits
    ruled[75:78, 10:400] = 0.0  # an underline just below them
    ink = threshold.binarize(ruled)
    kept = ruling.remove_lines(ink, digit_height=H)
    digits = clean < 0.5
    assert not kept[76, :].any()  # the underline is gone
    assert not kept[61, 250:].any()  # the ruled line is gone where there are no digits
    assert (kept & digits).sum() > 0.97 * digits.sum()  # strokes crossing the line are given back
    assert_finds(seg.segment(ruled), boxes)


def test_a_sevens_top_bar_is_not_a_line():
    gray, _ = render("7")
    ink = threshold.binarize(gray)
    assert (ruling.remove_lines(ink, digit_height=H) == ink).all()


def test_a_long_base_or_bar_that_grows_out_of_one_digit_is_its_stroke_not_a_line():
    image = Image.new("L", (300, 120), 255)
    draw = ImageDraw.Draw(image)
    x, y, w = 20, 30, 24
    draw.arc((x, y, x + w, y + H // 2), 180, 20, fill=0, width=STROKE)  # a 2 whose base runs on 1.5 heights
    draw.line(((x + w, y + H // 4), (x, y + H)), fill=0, width=STROKE)
    draw.line(((x, y + H), (x + 60, y + H)), fill=0, width=STROKE)
    x = 130  # a 7 whose bar is 1.4 heights long
    draw.line(((x, y), (x + 56, y)), fill=0, width=STROKE)
    draw.line(((x + 56, y), (x + 36, y + H)), fill=0, width=STROKE)
    x = 230  # a 1 underlined from 0.5 heights before it to 0.9 after it
    draw.line(((x + 20, y), (x + 20, y + H)), fill=0, width=STROKE)
    draw.line(((x, y + H + 2), (x + 60, y + H + 2)), fill=0, width=STROKE)
    ink = threshold.binarize(np.asarray(image, dtype=np.float32) / 255)
    kept = ruling.remove_lines(ink, digit_height=H)
    assert (kept[:, :200] == ink[:, :200]).all()  # the 2's base and the 7's bar stay
    assert not kept[y + H + 2, 255:].any()  # the underline goes


def test_digits_in_printed_boxes():
    gray, boxes = render("1704", spacing=26, origin=(30, 40))
    gray[33:35, 10:300] = 0.0  # a row of printed boxes, 1.3 digits tall: top...
    gray[85:87, 10:300] = 0.0  # ...and bottom
    for x0, _, x1, _ in boxes:  # and a side left of each digit, as tall and thin as a "1"
        left = (x0 + x1) // 2 - 28
        gray[33:87, left : left + 2] = 0.0
    assert_finds(seg.segment(gray), boxes)


def test_a_one_written_from_a_boxs_top_to_its_bottom_is_not_a_side_of_the_box():
    ink = np.zeros((80, 200), bool)
    ink[[10, 11, 66, 67], 20:180] = True  # a printed frame 2 px thick, 1.3 digits tall...
    ink[10:68, [20, 21, 178, 179]] = True  # ...with its two sides
    ink[10:68, 98:103] = True  # a pen's "1", 5 px thick, touching its top and bottom
    kept = ruling.remove_lines(ink, digit_height=45)
    assert not kept[30:50, 20:22].any() and not kept[30:50, 178:180].any()  # the sides are gone...
    assert kept[14:64, 98:103].all()  # ...the 1 stays


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.floats(0.0, 1.0), st.integers(0, 12), st.sampled_from([0, 1]),
       st.integers(0, 2**32 - 1))
def test_bridging_is_a_closing_with_a_line(height, width, density, gap, axis, seed):
    ink = np.random.default_rng(seed).random((height, width)) < density
    length = 2 * (gap // 2) + 3
    line = np.ones((length, 1) if axis == 0 else (1, length), dtype=bool)
    assert (ruling._bridge(ink, gap, axis) == ndi.binary_closing(ink, structure=line)).all()


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.floats(0.0, 1.0), st.integers(1, 35), st.sampled_from([0, 1]),
       st.integers(0, 3), st.integers(0, 2**32 - 1))
def test_long_runs_are_the_ink_of_an_opening_with_a_line(height, width, density, length, axis, drift, seed):
    ink = np.random.default_rng(seed).random((height, width)) < density
    across = np.ones((1, 2 * drift + 1) if axis == 0 else (2 * drift + 1, 1), dtype=bool)
    along = np.ones((length | 1, 1) if axis == 0 else (1, length | 1), dtype=bool)
    smeared = ndi.binary_dilation(ink, structure=across)
    assert (ruling.long_runs(ink, length, axis, drift) == (ndi.binary_opening(smeared, structure=along) & ink)).all()
