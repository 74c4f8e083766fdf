"""Erase ruled lines, underlines and printed box borders from an ink mask (see segment.py).

    ink (H, W) bool, digit height -> remove_lines -> ink without the lines

A line is a straight run of ink much longer than a digit: a morphological
opening with a long thin line finds it (long_runs). Not every long run is a
line, so:

- the sides of a printed box are shorter than a ruled line, but reach a
  horizontal line at both ends and are as thin as the print (_box_sides);
- a 2's long base or a wide 7's bar grows out of one digit and reaches at most
  a digit past it (_digit_strokes), and stays;
- where a digit's stroke crosses a line, the stroke is bridged across the
  erased band (erase_lines).

Sizes are in digit heights, as in segment.
"""

import numpy as np
from scipy import ndimage as ndi

# 95% of MNIST digits are at most 1.1 times as wide as tall, so a straight
# horizontal run of 1.2 heights is a ruled line, not a digit's bar.
H_LINE_LENGTH = 1.2
# But a run under 2 heights that grows out of one digit-tall blob, one of its ends within the blob's columns
# (0.1 heights of slack) and the other at most a height past them, is that digit's own stroke: a 2's long
# base, a wide 7's bar. (An underline under one digit reaches past it at both ends.)
STROKE_LENGTH = 2.0
STROKE_SLACK = 0.1
STROKE_REACH = 1.0
# A "1" is about one digit height; vertical lines must be clearly longer...
V_LINE_LENGTH = 1.5
# ...unless they join two horizontal lines at both ends: the sides of a box.
BOX_SIDE_LENGTH = 0.8
SIDE_THICKER = 1.5  # ...and are about as thick as each other
# Strokes are bridged across lines up to 0.3 digit heights thick; anything
# thicker is a filled shape (a shadow, a smudge), not a ruled line.
MAX_BRIDGE = 0.3


def remove_lines(ink, digit_height):
    """Erase ruled lines, underlines and printed box borders, keeping strokes that cross them.

    Lines are straight runs much longer than a digit (a morphological opening
    with a long thin line). Where a digit stroke crosses a line, the pixels
    with ink on both sides are given back.
    ink: (H, W) bool; digit_height in pixels. Returns a new (H, W) bool mask.
    """
    rows = long_runs(ink, round(H_LINE_LENGTH * digit_height), axis=1)
    cols = long_runs(ink, round(V_LINE_LENGTH * digit_height), axis=0)
    cols |= _box_sides(ink & ~rows, rows, digit_height)
    rows &= ~_digit_strokes(ink & ~(rows | cols), rows, digit_height)
    return erase_lines(ink, rows, cols, drift=1, widest=round(MAX_BRIDGE * digit_height))


def _digit_strokes(rest, rows, digit_height):
    """The horizontal runs (rows) that are a digit's own stroke, not a line: shorter than STROKE_LENGTH
    heights, touching just one blob of the rest of the ink at least half a digit tall (and no other
    over a quarter: the slivers of its own fringe may touch it), one end within STROKE_SLACK of that
    blob's side and the other at most STROKE_REACH heights past its columns. rest: the ink without
    the lines; all (H, W) bool; returns (H, W) bool."""
    eight = np.ones((3, 3), dtype=bool)
    run_labels, count = ndi.label(rows, structure=eight)
    runs = ndi.find_objects(run_labels)
    short = [index for index, (_, xs) in enumerate(runs, start=1) if xs.stop - xs.start < STROKE_LENGTH * digit_height]
    strokes = np.zeros(count + 1, dtype=bool)
    if not short:  # most images: no lines at all, or only long ones
        return strokes[run_labels]
    rest_labels, _ = ndi.label(rest, structure=eight)
    rest_boxes = ndi.find_objects(rest_labels)
    slack = STROKE_SLACK * digit_height
    for index in short:
        ys, xs = runs[index - 1]
        around = (slice(max(ys.start - 1, 0), ys.stop + 1), slice(max(xs.start - 1, 0), xs.stop + 1))
        grown = ndi.binary_dilation(run_labels[around] == index, structure=eight)
        touched = [rest_boxes[label - 1] for label in np.unique(rest_labels[around][grown]) if label]
        heights = [blob_ys.stop - blob_ys.start for blob_ys, _ in touched]
        tall = [blob_xs for (_, blob_xs), h in zip(touched, heights) if h >= 0.5 * digit_height]
        if len(tall) != 1 or any(0.25 * digit_height <= h < 0.5 * digit_height for h in heights):
            continue
        blob_xs = tall[0]
        before, after = blob_xs.start - xs.start, xs.stop - blob_xs.stop  # how far it reaches past the blob
        strokes[index] = min(before, after) <= slack and max(before, after) <= STROKE_REACH * digit_height
    return strokes[run_labels]


def erase_lines(ink, rows, cols, drift, widest):
    """ink minus the horizontal (rows) and vertical (cols) lines found by long_runs(..., drift).

    Strokes are bridged across the erased band (the line, and `drift` px on
    either side) where it is at most `widest` px thick.
    """
    kept = ink & ~(rows | cols)
    if rows.any():  # most images have no lines: nothing to bridge
        kept |= rows & _bridge(kept, min(_thickness(rows, axis=0) + 2 * drift, widest), axis=0)
    if cols.any():
        kept |= cols & _bridge(kept, min(_thickness(cols, axis=1) + 2 * drift, widest), axis=1)
    return kept


def longest_line(lines, axis):
    """The greatest extent along `axis` of the connected pieces of `lines` (0 if none)."""
    extents = [where[axis].stop - where[axis].start for where in ndi.find_objects(ndi.label(lines)[0])]
    return max(extents, default=0)


def long_runs(ink, length, axis, drift=1):
    """Ink in straight runs at least `length` long along `axis` (1 = horizontal).

    This is a binary opening with a line `length` long: a minimum filter keeps
    the centres of runs that long, a maximum filter grows them back to whole
    runs (1-D filters take the same time for any length). The ink is first
    smeared `drift` px across the runs, so a slightly skewed line still forms
    long runs and its antialiased fringe goes with it. Where no row (column)
    holds `length` smeared ink pixels, none can hold such a run: the filters
    are skipped (most pages have no line across them).
    """
    length = length | 1  # odd, so the line is centred on its pixel
    smeared = ndi.maximum_filter1d(ink.view(np.uint8), 2 * drift + 1, axis=1 - axis)
    if smeared.sum(axis=axis, dtype=np.int64).max(initial=0) < length:
        return np.zeros(ink.shape, dtype=bool)
    centres = ndi.minimum_filter1d(smeared, length, axis=axis, mode="constant")
    return ndi.maximum_filter1d(centres, length, axis=axis, mode="constant").astype(bool) & ink


def _box_sides(ink, rows, digit_height):
    """Vertical runs that reach a horizontal line at both ends: the sides of printed boxes.

    A "1" written from a box's top to its bottom reaches both too, but a pen is
    thicker than the print: a run more than SIDE_THICKER times as thick as the
    thinnest side (and 1 px more) is a digit's stroke."""
    if not rows.any():
        return np.zeros(ink.shape, dtype=bool)
    sides = long_runs(ink, round(BOX_SIDE_LENGTH * digit_height), axis=0)
    near_rows = ndi.binary_dilation(rows, iterations=2)
    labels, count = ndi.label(sides)
    keep = np.zeros(count + 1, dtype=bool)
    widths = np.zeros(count + 1)
    for index, where in enumerate(ndi.find_objects(labels), start=1):
        run = labels[where] == index
        touching = near_rows[where] & run
        keep[index] = touching[0].any() and touching[-1].any()  # top row and bottom row
        widths[index] = np.median(run.sum(axis=1))
    if keep.any():
        thinnest = widths[keep].min()
        keep &= widths <= max(SIDE_THICKER * thinnest, thinnest + 1)
    return keep[labels]


def _thickness(lines, axis):
    """Median thickness of the lines, counted across them (axis 0 for horizontal lines)."""
    counts = lines.sum(axis=axis)
    counts = counts[counts > 0]
    return int(np.median(counts)) if counts.size else 0


def _bridge(ink, gap, axis):
    """Where `ink` continues on both sides of a gap up to `gap` px wide along `axis` (0 = vertical):
    a binary closing with a line `gap` + 2 px or more long, done as a 1-D maximum then minimum filter
    (pixels beyond the image count as paper, as in ndi.binary_closing)."""
    length = 2 * (gap // 2) + 3  # odd, and at least gap + 2
    grown = ndi.maximum_filter1d(ink.view(np.uint8), length, axis=axis, mode="constant")
    return ndi.minimum_filter1d(grown, length, axis=axis, mode="constant").astype(bool)
