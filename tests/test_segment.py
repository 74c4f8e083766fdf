"""Tests for tinycnn.segment on small drawn images: each step, then the whole pipeline."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image, ImageDraw

from drawing import STROKE, H, assert_finds, glyph, iou, prefers_digit_shapes, render
from tinycnn import segment as seg
from tinycnn import split, threshold


# --- components -----------------------------------------------------------


def test_specks_are_removed():
    clean, boxes = render("1704")
    noisy = clean.copy()
    rng = np.random.default_rng(2)
    ys, xs = rng.integers(0, 199, 60), rng.integers(0, 420, 60)
    noisy[ys, xs] = 0.0
    noisy[ys[:20] + 1, xs[:20]] = 0.0  # some specks 2 px tall
    assert_finds(seg.segment(noisy), boxes)


def test_a_page_of_pixel_noise_holds_no_digits():
    rng = np.random.default_rng(0)
    gray = np.full((500, 400), 0.93, dtype=np.float32)
    gray[rng.random(gray.shape) < 0.04] = 0.3  # thousands of blobs of 1 to 4 px
    assert not seg.segment(gray).segments
    specks = [seg._Blob(10 * i, 0, 4, 4, frozenset([i]), 12) for i in range(50)]
    assert seg.remove_specks(specks, digit_height=4.0) == []  # however many, and however alike
    digit = seg._Blob(600, 0, 3, seg.SPECK_PX, frozenset([99]), 12)  # a "1" 3 px wide is tall enough
    assert seg.remove_specks([*specks, digit], digit_height=4.0) == [digit]


def test_junk_at_the_border_is_removed():
    gray, boxes = render("1704", origin=(60, 60))
    gray[:, :25] = 0.1  # a dark band along the left edge: the table under the paper
    assert_finds(seg.segment(gray), boxes)


def test_a_hairline_from_the_border_is_junk_but_a_one_at_the_border_is_not():
    edge, boxes = render("1704", origin=(60, 10))
    for row in range(55):  # a 2-px line from the top edge, 1.4 digits long and leaning: a hard shadow's edge
        edge[row, 20 + row // 10 : 22 + row // 10] = 0.0
    assert_finds(seg.segment(edge), boxes)
    touching, boxes = render("1704", origin=(60, 0))  # the digits' tops touch the image's top edge
    assert_finds(seg.segment(touching), boxes)


@pytest.mark.parametrize("text", ["10.7", "4-7=1", "1/7", "70-", "7,4", "l0/1"])
def test_separators_are_removed_and_ones_kept(text):
    gray, boxes = render(text)
    assert_finds(seg.segment(gray), boxes)


def test_a_slash_left_out_is_kept_aside_with_its_line():
    gray, _ = render("14\n7/0")
    found = seg.segment(gray)
    (slash,) = found.slashes
    assert slash.line == 1 and found.segments[2].box[0] < slash.box[0] < found.segments[3].box[0]
    assert seg.segment(render("14\n7.0-")[0]).slashes == []  # other separators are not kept


def test_slanted_one_is_not_a_slash():
    gray, _ = render("l")
    mask = threshold.binarize(gray)
    assert not seg.is_punctuation(mask[split._ink_slices(mask)], line_height=H)
    slash = threshold.binarize(render("/")[0])
    assert seg.is_punctuation(slash[split._ink_slices(slash)], line_height=H)


def test_a_five_with_a_detached_top_bar_is_merged():
    gray, boxes = render("S0")
    assert len(seg.components(threshold.binarize(gray))[1]) == 3  # bar, body of the 5, and the 0
    result = seg.segment(gray)
    assert_finds(result, boxes)
    x, y, w, h = result.segments[0].box
    assert h >= H - 2  # the bar is part of the 5
    assert result.segments[0].mask[:3].any()


def test_a_top_bar_drawn_apart_above_a_digit_is_put_in_its_line():
    gray, boxes = render("B0")
    labels, blobs = seg.components(threshold.binarize(gray))
    lines = seg.group_lines(seg.merge_pieces(blobs, H))
    assert len(lines) == 2  # the bar, higher than the digits and reaching past the 5, starts a line of its own...
    assert len(seg.attach_strays(lines, H)) == 1  # ...and joins the digits' line below it
    one, _ = render("1")
    sliver = seg.components(threshold.binarize(one))[1][0]
    assert len(seg.attach_strays([[sliver], *lines[1:]], 2 * H)) == 2  # a short upright stroke is no bar


def test_attach_bars_joins_a_top_bar_when_the_classifier_reads_them_better_together():
    body, bar, dash = _pieces((0, 10, 20, H - 10), (22, 4, 16, 5), (30, 20, 16, 5))
    likes_it_whole = lambda masks: [-0.1 if m.shape[1] > 30 else -1.0 for m in masks]  # noqa: E731
    digits, left = seg.attach_bars([body], [bar], H, likes_it_whole)
    assert [box for box, _ in digits] == [(0, 4, 38, H - 4)] and left == []
    assert seg.attach_bars([body], [bar], H, lambda masks: [-1.0 if m.shape[1] > 30 else -0.1 for m in masks]) == ([body], [bar])
    assert seg.attach_bars([body], [dash], H, likes_it_whole) == ([body], [dash])  # a dash at mid-height: "5-"


def test_a_piece_within_the_columns_of_another_may_reach_further_into_its_rows():
    bowl = seg._Blob(179, 45, 53, 45, frozenset({1}), 694)  # a 5 written in two strokes (evaluation set, 0965)
    stem = seg._Blob(186, 22, 24, 40, frozenset({2}), 412)  # its stem and bar: 17 of 45 rows into the bowl's
    assert seg._pieces_of_one_digit(bowl, stem, digit_height=66)
    beside = seg._Blob(220, 22, 24, 40, frozenset({3}), 412)  # as far down, but half of it past the bowl
    assert not seg._pieces_of_one_digit(bowl, beside, digit_height=66)


def test_a_stem_lifted_off_above_its_loop_is_merged_unless_it_is_far_above():
    loop = seg._Blob(280, 40, 14, 13, frozenset({1}), 120)  # a 6 (evaluation set, 0510): its loop...
    stem = seg._Blob(280, 17, 6, 11, frozenset({2}), 40)  # ...and its stem, 12 px = 0.35 heights above it
    assert seg._pieces_of_one_digit(loop, stem, digit_height=34)
    higher = seg._Blob(280, 12, 6, 11, frozenset({3}), 40)  # 0.5 heights above it
    assert not seg._pieces_of_one_digit(loop, higher, digit_height=34)


def test_stacked_digits_from_two_lines_are_not_merged():
    gray, boxes = render("7\n1", h=30)
    assert_finds(seg.segment(gray), boxes)


# --- lines of text, ordering, word gaps -----------------------------------


def test_two_lines_in_reading_order():
    gray, boxes = render("147\n05")
    result = seg.segment(gray)
    assert_finds(result, boxes)
    assert [s.line for s in result.segments] == [0, 0, 0, 1, 1]
    assert [len(line) for line in result.lines()] == [3, 2]


def test_word_gap_tells_12_7_from_127():
    spaced = seg.segment(render("14 7")[0])
    joined = seg.segment(render("147")[0])
    assert [s.gap_before for s in spaced.segments] == [False, False, True]
    assert [s.gap_before for s in joined.segments] == [False, False, False]


def test_word_gaps_relative_to_the_writers_spacing():
    tight = [(0, 0, 20, 40), (24, 0, 20, 40), (80, 0, 20, 40)]
    assert seg.word_gaps(tight, line_height=40) == [False, False, True]
    wide = [(0, 0, 20, 40), (45, 0, 20, 40), (90, 0, 20, 40), (135, 0, 20, 40)]
    assert seg.word_gaps(wide, line_height=40) == [False] * 4  # evenly spaced: one number
    assert seg.word_gaps([(0, 0, 20, 40)], line_height=40) == [False]
    assert seg.word_gaps([(0, 0, 20, 40), (60, 0, 20, 40)], line_height=40) == [False, False]  # a lone pair...
    assert seg.word_gaps([(0, 0, 20, 40), (80, 0, 20, 40)], line_height=40) == [False, True]  # ...needs a wide gap


def test_segment_masks_hold_only_their_own_ink():
    gray, _ = render("l0", spacing=0)
    result = seg.segment(gray)
    assert len(result.segments) == 2
    one, zero = result.segments
    assert one.box[0] + one.box[2] > zero.box[0]  # the boxes overlap, the ink does not touch
    for s in result.segments:
        x, y, w, h = s.box
        assert s.mask.shape == (h, w)
        assert (s.mask <= result.ink[y : y + h, x : x + w]).all()
    assert one.mask.sum() + zero.mask.sum() == result.ink.sum()


# --- touching digits (the split search itself: test_split.py) -------------


def test_the_pieces_of_a_blob_the_split_search_weighed_carry_its_margin():
    gray, _ = render("00  1", spacing=-4)  # two touching 0s, and a lone 1 the search never weighs
    found = seg.segment(gray, score_fn=prefers_digit_shapes)
    assert len(found.segments) == 3
    zeros, one = found.segments[:2], found.segments[2]
    blob = found.ink[:, : zeros[1].box[0] + zeros[1].box[2] + 1]
    blob = blob[split._ink_slices(blob)]
    options = split.cut_options(blob, prefers_digit_shapes, found.digit_height, 0.6 * found.digit_height)
    scores = sorted((score for score, _ in options.values()), reverse=True)
    assert zeros[0].cut_margin == zeros[1].cut_margin == pytest.approx(scores[0] - scores[1], abs=0.5)
    assert zeros[0].cut_margin > 0 and one.cut_margin is None
    (weighed,) = found.weighed  # the blob of the two 0s, whole, for the row reader
    assert weighed.box == (zeros[0].box[0], min(z.box[1] for z in zeros), blob.shape[1], blob.shape[0])
    assert (weighed.mask == blob).all() and weighed.line == 0


def test_a_blob_kept_as_one_doubtful_digit_wide_enough_for_two_is_also_handed_on_whole():
    gray, _ = render("0 1", spacing=20)  # a 0 over half a height wide, and a 1 far narrower

    def doubting(p):
        return lambda masks: [float(np.log(p))] * len(masks)

    doubted = seg.segment(gray, score_fn=doubting(0.8))  # unsure, yet not under SURE_DIGIT: kept whole
    zero, one = doubted.segments
    assert [w.box for w in doubted.weighed] == [zero.box] and zero.cut_margin is None
    assert (doubted.weighed[0].mask == zero.mask).all()
    assert seg.segment(gray, score_fn=doubting(0.95)).weighed == []  # sure of it (ONE_DIGIT): not


def test_a_digit_rebuilt_from_weighed_pieces_keeps_their_closest_margin():
    margins = {(10, 5, 8, 20): 3.0, (18, 5, 8, 20): 0.4, (40, 5, 10, 20): None, (60, 5, 10, 20): 1.5}
    boxes = [(10, 0, 16, 25), (40, 5, 10, 20), (60, 5, 10, 20), (80, 5, 10, 20)]  # the first two joined, a bar above
    assert seg.carried_margins(margins, boxes) == {
        (10, 0, 16, 25): 0.4, (40, 5, 10, 20): None, (60, 5, 10, 20): 1.5, (80, 5, 10, 20): None}


def test_segment_splits_touching_digits():
    gray, boxes = render("100", spacing=-4)
    for score_fn in (None, prefers_digit_shapes):
        assert_finds(seg.segment(gray, score_fn=score_fn), boxes)


def test_segment_rejects_a_colour_image():
    with pytest.raises(ValueError, match="shape"):
        seg.segment(np.zeros((4, 4, 3)))


@settings(max_examples=25, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 60), st.integers(1, 60)), elements=st.floats(0, 1, width=32)))
def test_any_image_gives_consistent_segments(gray):
    result = seg.segment(gray)
    assert result.ink.shape == gray.shape
    for s in result.segments:
        x, y, w, h = s.box
        assert s.mask.shape == (h, w) and s.mask.any()
        assert 0 <= x and 0 <= y and x + w <= gray.shape[1] and y + h <= gray.shape[0]
    assert [s.line for s in result.segments] == sorted(s.line for s in result.segments)


# --- noise, printed forms, crooked lines ------------------------------------


def test_a_circle_round_the_number_is_not_a_digit():
    gray, boxes = render("170", origin=(60, 60), size=(300, 180))
    image = Image.fromarray((gray * 255).astype(np.uint8))
    ImageDraw.Draw(image).ellipse((25, 35, 225, 125), outline=0, width=4)
    assert_finds(seg.segment(np.asarray(image, dtype=np.float32) / 255), boxes)


def test_a_circle_that_touches_the_end_digits_is_erased_and_the_digits_kept():
    gray, boxes = render("4704", origin=(60, 60), size=(340, 180))
    image = Image.fromarray((gray * 255).astype(np.uint8))
    (first, *_, last) = boxes
    # a hurried loop: the bars of both 4s cross it
    ImageDraw.Draw(image).ellipse((first[0] - 3, 36, last[2] + 3, 124), outline=0, width=4)
    labels = seg.components(np.asarray(image) < 128)[0]
    assert labels[86, first[0] + 1] == labels[86, last[2] - 1] == labels[36, 120]  # the 4s and the loop: one blob
    assert_finds(seg.segment(np.asarray(image, dtype=np.float32) / 255), boxes)


def test_a_thick_seven_with_a_crumb_beside_its_stem_is_not_a_loop():
    # A marker's 7 with a hooked bar runs round its own convex hull, and a crumb of ink beside
    # its stem lies in its box: it looked like a loop round a number and was erased whole.
    image = Image.new("1", (60, 60))
    draw = ImageDraw.Draw(image)
    draw.line([(8, 20), (11, 8), (34, 9), (17, 46)], fill=1, width=7, joint="curve")
    draw.line([(32, 30), (32, 44)], fill=1, width=4)  # the crumb: outside the 7's hull, inside its box
    ink = np.asarray(image, dtype=bool)
    labels, blobs = seg.components(ink)
    seven = max(blobs, key=lambda blob: blob.h)
    assert seg.is_loop(seven.mask(labels), seg.convex_hull(seven.mask(labels)))  # by its shape alone...
    assert [outer for outer, _ in seg.enclosures(blobs)] == [seven]  # ...and what lies in its box
    np.testing.assert_array_equal(seg.erase_loops(ink), ink)  # but it holds nothing inside its stroke


@pytest.mark.parametrize("text", ["4", "17"])
def test_a_printed_frame_round_a_short_number_is_not_read(text):
    # The frame is barely wider than the digits: too short for line removal, and its ink outweighs theirs.
    gray, boxes = render(text, origin=(40, 40), size=(200, 130))
    image = Image.fromarray((gray * 255).astype(np.uint8))
    ImageDraw.Draw(image).rectangle((boxes[0][0] - 8, 30, boxes[-1][2] + 8, 90), outline=0, width=3)
    assert_finds(seg.segment(np.asarray(image, dtype=np.float32) / 255), boxes)


def test_a_lone_frame_is_told_from_cells_and_from_a_frame_with_a_digit_joined_to_it():
    frame = np.zeros((60, 50), bool)
    frame[[0, 1, 58, 59], :] = frame[:, [0, 1, 48, 49]] = True
    joined = frame.copy()
    joined[10:50, 24:27] = joined[30:32, 2:25] = True  # a digit stroke that runs into its side
    cells = np.zeros((60, 200), bool)
    cells[[0, 1, 58, 59], :] = True
    cells[:, ::40] = cells[:, 199] = True
    for mask, expected in ((frame, True), (joined, False), (cells, False)):
        assert seg.is_lone_frame(mask, seg.convex_hull(mask)) == expected


def test_a_lone_frame_is_erased_as_deep_as_its_lines_so_a_one_against_its_side_stays():
    ink = np.zeros((80, 120), bool)
    ink[[10, 11, 68, 69], 10:110] = ink[10:70, [10, 11, 108, 109]] = True  # a printed frame, 2-px lines
    ink[18:62, 12:16] = True  # a pen's 1 (4 px) written against its left side: one blob with the frame
    ink[18:62, 50:54] = ink[18:22, 40:70] = True  # another digit inside, apart from it
    assert seg.line_width(ink[10:70, 10:110]) == 2
    kept = seg.erase_loops(ink)
    assert not kept[30:50, 10:12].any() and not kept[30:50, 108:110].any()  # the frame is gone...
    assert kept[18:62, 13:16].all()  # ...the 1 keeps all but the column that touched it
    assert (kept[18:62, 50:54]).all()


def blob_row(slope, y0=100, count=8, h=H):
    """Blobs one digit tall in a row whose centres drop `slope` px per px to the right."""
    return [seg._Blob(x, round(y0 + slope * (x + 10)), 20, h, frozenset([i]), 400)
            for i, x in enumerate(range(20, 20 + 40 * count, 40))]


@pytest.mark.parametrize("slope", [-0.2, -0.1, 0.0, 0.15, 0.25])
def test_line_slope_finds_how_far_a_line_drops(slope):
    assert seg.line_slope(blob_row(slope), H) == pytest.approx(slope, abs=0.015)
    two_lines = blob_row(slope) + blob_row(slope, y0=100 + 2 * H)
    assert seg.line_slope(two_lines, H) == pytest.approx(slope, abs=0.015)


def test_line_slope_keeps_a_level_page_level():
    rng = np.random.default_rng(0)
    wobbly = [seg._Blob(b.x, b.y + int(rng.integers(-4, 5)), b.w, b.h, b.labels, b.area) for b in blob_row(0.0)]
    assert seg.line_slope(wobbly, H) == 0.0
    assert seg.line_slope(blob_row(0.3)[:2], H) == 0.0  # two blobs say nothing about the page


def test_line_slope_on_a_crowded_page_listens_to_the_inkiest_blobs():
    rng = np.random.default_rng(1)
    specks = [seg._Blob(int(x), int(y), 3, 3, frozenset([1000 + i]), 5) for i, (x, y) in enumerate(rng.integers(0, 400, (2000, 2)))]
    digits = [b for y0 in range(100, 100 + 40 * H, 2 * H) for b in blob_row(0.1, y0=y0, count=10)]  # 200 blobs
    assert seg.line_slope(specks + digits, H) == pytest.approx(0.1, abs=0.015)


def test_a_number_photographed_askew_stays_one_line():
    gray, _ = render("70 4717", origin=(40, 110), size=(480, 260), word=100)
    image = Image.fromarray((gray * 255).astype(np.uint8)).rotate(12, fillcolor=255)  # 12 degrees anticlockwise
    found = seg.segment(np.asarray(image, dtype=np.float32) / 255)
    assert len(found.segments) == 6 and {s.line for s in found.segments} == {0}
    assert [s.gap_before for s in found.segments] == [False, False, True, False, False, False]


def test_a_loop_is_told_from_printed_cells_and_a_comb():
    loop = np.zeros((90, 200), bool)
    rows, cols = np.mgrid[:90, :200]
    radius = np.hypot((rows - 45) / 42, (cols - 100) / 97)
    loop[(0.93 <= radius) & (radius <= 1.0)] = True
    cells = np.zeros((60, 200), bool)
    cells[[0, 1, 58, 59], :] = True
    cells[:, ::40] = True
    comb = np.zeros((60, 200), bool)
    comb[58:60, :] = True
    comb[40:58, ::40] = True
    comb[5:58, 15:19] = True  # a digit standing on it
    for mask, expected in ((loop, True), (cells, False), (comb, False)):
        assert seg.is_loop(mask, seg.convex_hull(mask)) == expected


def test_ring_takes_the_loop_but_not_the_digit_inside_it():
    gray, _ = render("0", origin=(60, 30), size=(200, 110))
    image = Image.fromarray((gray * 255).astype(np.uint8))
    ImageDraw.Draw(image).ellipse((20, 10, 180, 100), outline=0, width=4)
    loop_only = Image.new("L", image.size, 255)
    ImageDraw.Draw(loop_only).ellipse((20, 10, 180, 100), outline=0, width=4)
    mask, loop = np.asarray(image) < 128, np.asarray(loop_only) < 128
    found = seg.ring(mask, seg.convex_hull(mask))
    assert iou(found, loop) > 0.9
    assert not (found & mask & ~loop).any()  # nothing of the 0


def test_the_ticks_of_a_printed_comb_are_not_ones():
    gray, boxes = render("4704", spacing=26, origin=(30, 40))
    gray[88:90, 10:300] = 0.0  # the comb's base line, under the digits...
    for x0, _, x1, _ in boxes:  # ...and a short tick between the cells
        gray[72:88, x0 - 14 : x0 - 12] = 0.0
    assert_finds(seg.segment(gray), boxes)


def test_the_ticks_of_a_comb_with_more_cells_than_digits_are_not_ones():
    gray, boxes = render("17", stroke=3, spacing=26, origin=(30, 40))  # a fine pen: little ink
    gray[88:90, 10:300] = 0.0  # the comb's base line, under the two digits and three empty cells...
    for x in range(18, 300, 48):  # ...and its six ticks, 0.6 digits tall, with more ink than the digits
        gray[64:88, x : x + 3] = 0.0
    assert_finds(seg.segment(gray), boxes)


def test_a_tilted_line_stays_one_line():
    image = Image.new("L", (420, 200), 255)
    draw = ImageDraw.Draw(image)
    boxes = []
    for k, char in enumerate("704147"):  # each digit 9 px lower: 1.1 digit heights over the line
        x, y = 20 + 40 * k, 30 + 9 * k
        boxes.append((x, y, x + glyph(draw, char, x, y, H, STROKE), y + H))
    result = seg.segment(np.asarray(image, dtype=np.float32) / 255)
    assert_finds(result, boxes)
    assert {s.line for s in result.segments} == {0}


def test_a_lone_blob_at_the_image_edge_is_dropped():
    gray, boxes = render("1704", origin=(60, 60))
    gray[150:200, 0:6] = 0.0  # the table's edge in the bottom-left corner
    assert_finds(seg.segment(gray), boxes)


def test_a_row_of_touching_digits_is_not_a_slash():
    gray, _ = render("7070", spacing=-4)
    mask = threshold.binarize(gray)
    assert not seg.is_punctuation(mask[split._ink_slices(mask)], line_height=H)


# --- which blobs the split search cuts (segment, with a scorer) ------------


def test_a_blob_the_scorer_is_sure_of_is_kept_whole():
    gray, _ = render("00", spacing=-4)
    sure = lambda pieces: [0.0] * len(pieces)  # noqa: E731 -- every piece, the whole blob too, is surely a digit
    assert len(seg.segment(gray, score_fn=sure).segments) == 1


@pytest.mark.parametrize("width, pieces", [(1.8, 1), (2.3, 2)])
def test_a_wide_blob_the_scorer_is_sure_of_is_kept_whole_up_to_two_heights(width, pieces):
    image = Image.new("L", (240, 120), 255)
    ImageDraw.Draw(image).ellipse((20, 40, 20 + round(width * H), 40 + H), outline=0, width=4)  # a wide 0
    sure = lambda masks: [0.0] * len(masks)  # noqa: E731 -- every piece, the whole blob too, is surely a digit
    found = seg.segment(np.asarray(image, dtype=np.float32) / 255, score_fn=sure)
    assert len(found.segments) == pieces


def test_a_separator_in_a_wide_gap_is_not_a_word_gap():
    spaced = seg.segment(render("14 - 7")[0])  # the dash stands in the gap: one number, 14-7
    assert len(spaced.segments) == 3 and not any(s.gap_before for s in spaced.segments)
    boxes = [(0, 0, 20, 40), (24, 0, 20, 40), (80, 0, 20, 40)]
    assert seg.word_gaps(boxes, line_height=40) == [False, False, True]
    assert seg.word_gaps(boxes, line_height=40, separators=[(55, 15, 15, 5)]) == [False, False, False]


def _pieces(*boxes):
    """(box, mask) pieces with full masks, for the join tests."""
    return [((x, y, w, h), np.ones((h, w), dtype=bool)) for x, y, w, h in boxes]


def test_join_broken_joins_a_fragment_the_scorer_reads_better_as_one_digit():
    # a 0 drawn in two strokes that do not meet: two half-width pieces, then a 1
    halves = _pieces((0, 0, 12, H), (14, 0, 12, H), (40, 0, 6, H))
    reads_pairs_as_one = lambda masks: [-0.05 if m.shape[1] > 20 else -2.0 for m in masks]  # noqa: E731
    joined = seg.join_broken(halves, H, reads_pairs_as_one)
    assert [box for box, _ in joined] == [(0, 0, 26, H), (40, 0, 6, H)]
    assert joined[0][1].sum() == 2 * 12 * H  # both pieces' ink, none between them
    # a 5 in three strokes: its bar in two pieces and its body
    strokes = _pieces((0, 0, 8, H), (8, 0, 8, H // 4), (16, 0, 8, H // 4))
    reads_all_three = lambda masks: [-0.05 if m.shape[1] == 24 else -2.0 for m in masks]  # noqa: E731
    assert [box for box, _ in seg.join_broken(strokes, H, reads_all_three)] == [(0, 0, 24, H)]


def test_join_broken_leaves_two_sure_digits_and_far_pieces_apart():
    sure = lambda masks: [0.0] * len(masks)  # noqa: E731 -- every piece and every pair read surely
    two_digits = _pieces((0, 0, 20, H), (24, 0, 20, H))
    assert seg.join_broken(two_digits, H, sure) == two_digits  # neither is a fragment nor doubtful
    doubtful = lambda masks: [-0.05 if m.shape[1] > 30 else -2.0 for m in masks]  # noqa: E731
    far = _pieces((0, 0, 12, H), (40, 0, 12, H))  # 28 px apart: more than JOIN_GAP heights
    assert seg.join_broken(far, H, doubtful) == far
    fragment = _pieces((0, 0, 20, H), (22, H // 2, 10, H // 3))  # a short piece beside a sure digit
    assert len(seg.join_broken(fragment, H, lambda masks: [-0.01 if m.shape[1] > 25 else -0.02 for m in masks])) == 1
    assert len(seg.join_broken(fragment, H, lambda masks: [-3.0 if m.shape[1] > 25 else -0.02 for m in masks])) == 2


def test_join_broken_held_to_a_count_joins_sure_pieces_and_wider_runs():
    # three sure pieces: unjoined by themselves, two of them joined when the line must hold two digits
    sure_pieces = _pieces((0, 0, 20, H), (22, 0, 20, H), (60, 0, 20, H))
    likes_the_pair = lambda masks: [-0.3 if m.shape[1] == 42 else -0.01 for m in masks]  # noqa: E731
    assert seg.join_broken(sure_pieces, H, likes_the_pair) == sure_pieces
    held = seg.join_broken(sure_pieces, H, likes_the_pair, counts=(2, 2))
    assert [box for box, _ in held] == [(0, 0, 42, H), (60, 0, 20, H)]
    assert seg.join_broken(sure_pieces, H, likes_the_pair, counts=(2, 3)) == sure_pieces  # 3 fits already
    # a blotchy digit in two pieces 1.5 heights wide in all: too wide to join unless the count says so
    wide = _pieces((0, 0, 30, H), (32, 0, 28, H))
    doubtful = lambda masks: [-0.5 if m.shape[1] == 60 else -2.0 for m in masks]  # noqa: E731
    assert len(seg.join_broken(wide, H, doubtful)) == 2
    assert len(seg.join_broken(wide, H, doubtful, counts=(1, 1))) == 1
    assert seg.join_broken(wide, H, doubtful, counts=(3, 3)) == wide  # no grouping holds 3: left as found


def test_a_line_held_to_a_count_splits_touching_digits_the_scorer_reads_as_one():
    gray, boxes = render("0 00", spacing=-4)  # a lone 0, then two touching zeros
    reads_anything = lambda masks: [-0.02 * m.shape[1] / H for m in masks]  # noqa: E731 -- sure of every piece
    assert len(seg.segment(gray, score_fn=reads_anything).segments) == 2
    held = seg.segment(gray, score_fn=reads_anything, digits=3).segments
    assert len(held) == 3
    assert abs(held[1].box[2] - held[2].box[2]) <= 0.2 * H  # the pair cut into two zeros, not a sliver and the rest
    assert len(seg.segment(gray, score_fn=reads_anything, digits=(1, 2)).segments) == 2  # 2 fits already


@pytest.mark.parametrize("digits", [0, (3, 2), (0, 4)])
def test_a_wanted_count_must_be_a_positive_range(digits):
    with pytest.raises(ValueError, match="digits must be"):
        seg.segment(render("17")[0], digits=digits)


def test_a_comma_hanging_below_the_line_is_not_read_as_a_line_of_its_own():
    gray, boxes = render("1000", spacing=14)
    image = Image.fromarray((gray * 255).astype(np.uint8))
    x = boxes[0][2] + 4  # in the gap after the 1, as in 1,000
    ImageDraw.Draw(image).line([(x + 2, 30 + H), (x, 30 + H + 8)], fill=0, width=STROKE)
    found = seg.segment(np.asarray(image, dtype=np.float32) / 255)
    assert_finds(found, boxes)
    assert {s.line for s in found.segments} == {0}


def test_attach_strays_puts_small_blobs_back_into_the_line_above():
    def blob(x, y, w, h):
        return seg._Blob(x, y, w, h, frozenset(), w * h)
    digits = [blob(0, 0, 25, 40), blob(60, 0, 25, 40)]
    comma, far_dot = blob(40, 38, 6, 14), blob(40, 100, 6, 6)
    next_line = [blob(0, 90, 25, 40)]
    lines = seg.attach_strays([list(digits), [comma], next_line], digit_height=40)
    assert lines == [[digits[0], comma, digits[1]], next_line]
    assert seg.attach_strays([list(digits), [far_dot]], digit_height=40) == [digits, [far_dot]]  # too far below
