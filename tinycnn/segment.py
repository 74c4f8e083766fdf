"""Find the digits in a grayscale image: the second step of reading digits.

    image file -> imageio -> segment -> normalize -> model
                  (gray)     (digit boxes, lines)  (28x28 MNIST-style)

`segment(gray)` returns a `Segmentation`: the ink mask and one `Segment` per
digit, in reading order (lines top to bottom, left to right in each line).
The steps, one small function each:

1. binarize        gray -> ink mask (True = ink), dark-on-light or light-on-dark;
                   a median filter first if the photo is noisy; Otsu's global
                   threshold, or "adaptive": divide out uneven lighting first;
                   chalk's broken strokes are closed (threshold.py)
2. remove_lines    ruled lines, underlines and the borders of printed boxes
                   (not a digit's own long stroke: a 2's base, a wide 7's bar),
                   once the digit height is known (ruling.py)
3. components      8-connected blobs of ink; erase circles drawn round the
                   number (keeping the digits they touch), drop the ticks of
                   a printed comb, specks and junk at the border
4. merge_pieces    pieces of one digit, e.g. a 5 whose top bar is detached
5. group_lines     blobs -> lines of text, each sorted left to right, after
                   setting a page photographed askew level (line_slope) and
                   following a wavy line; a comma that fell below its line,
                   and a 5's top bar drawn above it, are put back; lines of
                   edge junk alone are dropped
6. in each line    drop punctuation (. , - = /; a dropped / is kept aside in
                   `slashes`, as a steep 1 looks the same), split blobs of touching
                   digits (with a scorer: a search over curved cuts, all
                   pieces scored in one call: see split.py), join a digit's broken pieces,
                   both held to a known number of digits if one is given, and
                   a top bar drawn apart to its digit (attach_bars);
                   mark word gaps so that "12 7" differs from "127" (a gap
                   holding a separator is none)

Every size is measured in digit heights, so the same constants serve a
40-pixel crop and a 4000-pixel page. Boxes are (x, y, w, h) in image pixels.
"""

from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from .ruling import MAX_BRIDGE, erase_lines, long_runs, longest_line, remove_lines
from .split import (DIGIT_ASPECT, MAX_PIECE_WIDTH, best_cuts, best_option, best_paths, cut_options,
                    looks_like_several, split_boxes, typical_digit_width)
from .threshold import binarize, close_chalk, ink_is_light

# --- the digit height, found before line removal -----------------------------
# Before the digit height is known, ruled lines are runs across 80% of the
# image; they count if they are at least 3 digit heights long (a tight crop's
# "7" has a bar across the whole image, but it is not 3 digits long).
PAGE_LINE = 0.8
LONG_LINE = 3.0
# When estimating the digit height, ignore blobs 4 times wider than tall
# (lines, dashes) or 15 times taller than wide (vertical rules).
LINE_SHAPE = 4.0
RULE_SHAPE = 15.0

# --- components (in digit heights, or in a typical digit's ink) -----------
SPECK_AREA = 0.05  # less than 5% of a typical digit's ink is noise
# Nor can a blob under 5 px both ways be a digit: MNIST's are 20 px tall, and noise on a blank page
# thresholds into thousands of such blobs, each of which would be classified.
SPECK_PX = 5
BORDER_TALL = 1.8  # at the image edge, taller than this is a shadow or the paper's edge
BORDER_WIDE = 5.0  # ... and wider than five digits
BORDER_THIN = 0.05  # ... and a sliver this thin, longer than a digit
BORDER_HAIRLINE = 0.06  # ... or drawn with a line this thin
# A pen circle round a number is at most about twice as tall as the digits in it.
ENCLOSED_HEIGHT = 0.3
ENCLOSED_INK = 0.5  # ...and at least half its ink lies inside the loop's stroke
LOOP_GAP = 0.2  # a loop round a number may leave a fifth of its way round open
LOOP_FILL = 0.9  # a loop's convex hull cuts the corners of its box (an ellipse fills 79% of it)
RING_MARGIN = 2  # px beyond the pen's width: where the loop wobbles off its convex hull
FRAME_INSIDE = 0.1  # a frame with over a tenth of its ink off its edge has cell walls or digits joined to it
# The ticks of a printed comb are 1-2 px wide and 0.3-0.7 digit heights tall.
TICK_WIDTH = 3
TICK_HEIGHT = 0.75

# --- merging pieces of one digit ------------------------------------------
MERGE_X_OVERLAP = 0.5  # share half the narrower piece's columns
MERGE_Y_OVERLAP = 0.3  # lie mostly above one another, not side by side...
MERGE_INSIDE, MERGE_INSIDE_Y_OVERLAP = 0.9, 0.5  # ...or half so, when one lies within the other's columns (9 in 10)
# At most 0.4 digit heights apart vertically. At 0.3, a 6 whose stem the pen lifted off 0.35 heights above
# its loop lost its stem as a comma and was read as 0; at 0.4 (0.5: the same) the development set read
# 538 -> 540 of 600 numbers (one had been wrong without a flag), the evaluation set 918 -> 919, 150
# touching images and the sheets the same. Two lines of digits lie further apart than that.
MERGE_Y_GAP = 0.4
MERGE_MAX_HEIGHT = 1.5  # and together no taller than a digit can be (a slanted 4 beside it may be 1.5 times as tall)

# --- lines of text and punctuation (in line heights) ----------------------
LINE_OVERLAP = 0.5  # a blob joins a line that covers half its height
LINE_END = 1  # the last digit of a line says where it goes next (a page turned 12 degrees drops 0.17 heights a digit)
MAX_SLOPE, SLOPE_STEP = 0.27, 0.01  # line_slope tries slopes up to tan(15 degrees)...
ROW_SPREAD = 0.1  # ...pairing centres of one line, within about a tenth of a digit height...
LEVEL_MARGIN = 1.5  # ...and believes a slope only if it pairs them 1.5 times better than level
SLOPE_BLOBS = 300  # a page of more blobs is judged by its 300 inkiest (0.05 s)
TALL_FRACTION = 0.5  # a line's height comes from blobs at least half as tall as its tallest
MIN_LINE_HEIGHT = 0.5  # a line of only dashes still gets half the page's digit height
DOT_SIZE = 0.4  # . and , fit in a 0.4 x 0.4 square
COMMA_HEIGHT = 0.65  # a blob under 0.65 digit heights alone on a line is a comma or dot that fell out of it
FLAT_HEIGHT, FLAT_ASPECT = 0.45, 1.5  # - and = are low and wider than tall
# A / reaches above and below the digits beside it; a slanted "1" (MNIST has
# many leaning 30 degrees, just like a slash) is as tall as they are.
SLASH_MIN_HEIGHT = 1.15  # a / is taller than the digits...
SLASH_MAX_THICKNESS = 0.2  # ...a straight stroke (minor/major spread of its pixels)...
SLASH_MIN_TILT = 25.0  # ...leaning further from vertical (degrees) than a slanted "1"...
SLASH_MAX_TILT = 65.0  # ...but not lying down like a row of touching digits

# --- touching digits, with a scorer (in line heights) --------------------
# With a scorer, a narrower blob is split too if the classifier doubts it is
# one digit. Two digits side by side need 0.55 heights (a "1" beside a "7");
# a digit read with under 50% is more likely two touching ones than a bad digit.
PAIR_WIDTH = 0.55
SURE_DIGIT = 0.5
# A blob the classifier reads as one digit with 90% is kept whole, however wide
# it looks (a 5 with a long bar), unless it is wider than 2 heights. (At 1.7, slanted
# and stretched single digits 1.7-1.8 heights wide, read with 98-100%, were cut in two;
# no blob of touching digits on 150 touching images needed the lower limit.)
ONE_DIGIT = 0.9
WIDEST_DIGIT = 2.0
# join_broken: up to 3 pieces side by side, each at most 0.25 line heights from the next and
# together at most MAX_PIECE_WIDTH wide, may be one broken digit when one of them is under
# 0.7 line heights tall or doubtful (1.5 heights wide joined a doubtful 1 to the 0 beside it).
JOIN_PIECES = 3
JOIN_GAP = 0.25
FRAGMENT = 0.7
# attach_bars: a dash whose middle lies within 0.3 of a digit's height of that digit's top, at most
# JOIN_GAP beside it, may be the digit's top bar (a 5's, drawn apart and reaching past its body).
BAR_TOP = 0.3

# --- word gaps (in line heights) ------------------------------------------
WORD_GAP_TYPICAL = 2.0  # a word gap is twice the tightest gap in the line...
WORD_GAP_MIN = 0.4  # ...and at least 0.4 digit heights;
WORD_GAP_ALONE = 1.2  # between just two digits, 1.2 (a lone pair is more often one number)


@dataclass
class Segment:
    """One digit: where it is, its own ink, and its place in the text."""

    box: tuple  # (x, y, w, h) in image pixels
    mask: np.ndarray  # (h, w) bool: this digit's ink only, other blobs excluded
    line: int  # 0 for the top line
    gap_before: bool = False  # a word gap separates it from the digit before it
    # for a digit of a blob the split search weighed: how much more surely (log-score) that blob
    # reads as the pieces chosen than as the next best number of pieces; None if nothing was weighed
    cut_margin: float = None


@dataclass
class Segmentation:
    """The result of `segment`: the ink mask and the digits in reading order."""

    ink: np.ndarray  # (H, W) bool, after line removal
    segments: list  # of Segment, ordered by line, then x
    digit_height: float  # typical digit height in pixels
    # strokes beside digits dropped as "/" (Segment, line as the digits'): a 1 written steeply looks the same
    slashes: list = field(default_factory=list)
    # the blobs of touching digits the split search weighed, and the blobs kept as one digit that the
    # classifier doubts though they are wide enough for two (`_line_digits`): whole (Segment each), for
    # a second reading
    weighed: list = field(default_factory=list)

    def lines(self):
        """The segments grouped by line: a list of lists of Segment."""
        lines = {}
        for seg in self.segments:
            lines.setdefault(seg.line, []).append(seg)
        return [lines[key] for key in sorted(lines)]


@dataclass(frozen=True)
class _Blob:
    """A bounding box and the component labels whose pixels are inside it."""

    x: int
    y: int
    w: int
    h: int
    labels: frozenset
    area: int  # ink pixels

    @property
    def right(self):
        return self.x + self.w

    @property
    def bottom(self):
        return self.y + self.h

    @property
    def box(self):
        return (self.x, self.y, self.w, self.h)

    def joined(self, other):
        """The blob made of both."""
        x, y = min(self.x, other.x), min(self.y, other.y)
        right, bottom = max(self.right, other.right), max(self.bottom, other.bottom)
        return _Blob(x, y, right - x, bottom - y, self.labels | other.labels, self.area + other.area)

    def mask(self, labels):
        """(h, w) bool: the pixels of this blob's own components inside its box."""
        return np.isin(labels[self.y : self.bottom, self.x : self.right], list(self.labels))


# --- 3. components (1 and 2: threshold.py, ruling.py) ---------------------


def components(ink):
    """Label the 8-connected blobs of ink. Returns labels (H, W) int and a list of _Blob."""
    labels, count = ndi.label(ink, structure=np.ones((3, 3), dtype=bool))
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    blobs = []
    for index, (rows, cols) in enumerate(ndi.find_objects(labels), start=1):
        blobs.append(_Blob(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start,
                           frozenset([index]), int(areas[index])))
    return labels, blobs


def estimate_digit_height(blobs, shape):
    """The typical digit height: the ink-weighted median height of blobs that are not lines.

    Weighting by ink keeps a swarm of specks from dragging it down; very flat
    or very thin blobs (rules) are left out, and so are blobs cut by the image
    edge (shadows, the table) unless nothing else is left. shape: (H, W) of
    the image, whose height is the answer when there are no blobs.
    """
    shaped = [b for b in blobs if b.w <= LINE_SHAPE * b.h and b.h <= RULE_SHAPE * b.w]
    inside = [b for b in shaped if not _touches_border(b, shape)]
    shaped = inside or shaped
    if not shaped:
        return float(shape[0])
    heights = np.array([b.h for b in shaped])
    order = np.argsort(heights)
    cumulative = np.cumsum(np.array([b.area for b in shaped])[order])
    return float(heights[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def rough_digit_height(ink):
    """The digit height before line removal, which needs it. ink: (H, W) bool.

    The blobs of raw ink usually give it. But ruled lines can join all the
    digits into one blob; so also look with the runs across most of the image
    (PAGE_LINE of it, allowing some skew) erased, and believe that view if
    what it erased were lines at least LONG_LINE digit heights long.
    """
    height, width = ink.shape
    plain = estimate_digit_height(components(ink)[1], ink.shape)
    drift = min(height, width) // 60  # about 1 degree over the page
    rows = long_runs(ink, round(PAGE_LINE * width), axis=1, drift=drift)
    cols = long_runs(ink, round(PAGE_LINE * height), axis=0, drift=drift)
    if not (rows.any() or cols.any()):  # nothing erased: the view without lines is the plain one
        return plain
    erased = erase_lines(ink, rows, cols, drift, widest=round(MAX_BRIDGE * plain))
    without = estimate_digit_height(components(erased)[1], ink.shape)
    longest = max(longest_line(rows, axis=1), longest_line(cols, axis=0))
    return without if longest >= LONG_LINE * without else plain


def enclosures(blobs):
    """The blobs drawn around others: a frame or a pen circle round the number.

    A blob encloses another when the other's box lies inside its own and is
    at least ENCLOSED_HEIGHT of its height (a speck inside a 0 does not count).
    Returns (outer blob, [the blobs it encloses]) pairs.
    """
    x, y, right, bottom, height = (np.array([getattr(b, edge) for b in blobs])
                                   for edge in ("x", "y", "right", "bottom", "h"))
    found = []
    for i, outer in enumerate(blobs):  # each blob against all at once: noise can make thousands
        inside = ((height >= ENCLOSED_HEIGHT * outer.h) & (outer.x <= x) & (right <= outer.right)
                  & (outer.y <= y) & (bottom <= outer.bottom))
        inside[i] = False
        if inside.any():
            found.append((outer, [blobs[j] for j in np.flatnonzero(inside)]))
    return found


def erase_loops(ink):
    """Ink (H, W) bool without the frames and pen circles drawn round a number (see `enclosures`).

    A circle drawn in a hurry touches the first and last digits, so they are one
    blob with it; only the circle's own stroke is erased (`ring`), and the digits
    that touched it stay. A loop holds something: at least ENCLOSED_INK of the ink
    of a blob it encloses lies inside its ring, not in it (a thick 7 "encloses" a
    crumb beside its stem, and its strokes are all ring). This runs before line
    removal, which would take the flat top and bottom of a long loop and leave its
    ends joined to the digits. Returns a new mask; `ink` is not changed.
    """
    labels, blobs = components(ink)
    ink = ink.copy()
    for blob, enclosed in enclosures(blobs):
        mask = blob.mask(labels)
        hull = convex_hull(mask)
        stroke = _near_edge(mask, hull)  # where a loop's stroke runs: mask & stroke is its `ring`
        inside = hull & ~stroke
        if not any(inside[b.y - blob.y : b.bottom - blob.y, b.x - blob.x : b.right - blob.x][b.mask(labels)].mean()
                   >= ENCLOSED_INK for b in enclosed):
            continue
        if is_loop(mask, hull):
            erased = mask & stroke
        elif is_lone_frame(mask, hull):  # printed lines: only as deep as they are wide, so a 1 against a side stays
            erased = mask & _near_edge(mask, hull, line_width(mask) + 1)
        else:
            continue
        ink[blob.y : blob.bottom, blob.x : blob.right] &= ~erased
    return ink


def is_loop(mask, hull):
    """True when mask (h, w) bool is a loop drawn round something, not printed lines. hull: its `convex_hull`.

    A loop runs along the whole edge of its convex hull (all but LOOP_GAP of it), and cuts
    the corners of its box (a hull filling LOOP_FILL of the box is a printed frame, which
    line removal takes). Digits standing on a printed comb fail the first test: the
    hull's edge crosses the paper from the comb's ends to their tops.
    """
    return _goes_round(mask, hull) and bool(hull.mean() < LOOP_FILL)


def is_lone_frame(mask, hull):
    """True when mask (h, w) bool is a printed frame with nothing joined to it. hull: its `convex_hull`.

    Its ink goes round the edge of its hull and all but FRAME_INSIDE of it lies on that
    edge (`ring`): no cell walls inside, no digit touching it. Line removal would take a
    frame only when its sides are longer than digits, and the frame round a lone digit
    is not; worse, as the biggest blob it sets the digit height that line removal uses.
    """
    return _goes_round(mask, hull) and bool(ring(mask, hull).sum() >= (1 - FRAME_INSIDE) * mask.sum())


def _goes_round(mask, hull):
    """True when the ink of mask (h, w) runs along all but LOOP_GAP of the edge of its convex hull."""
    edge = hull & ~ndi.binary_erosion(hull)
    near_ink = ndi.distance_transform_edt(~mask)[edge] <= pen_width(mask) + RING_MARGIN
    return bool(near_ink.mean() >= 1 - LOOP_GAP)


def ring(mask, hull):
    """The pixels of mask (h, w) bool on its outline: a loop drawn round the rest. hull: its `convex_hull`.

    A loop round a number is about convex, so its stroke lies along the edge of
    the ink's convex hull: every pixel within a pen width and RING_MARGIN px of
    that edge is the loop. Digits inside lose at most the bit where they touched it.
    """
    return mask & _near_edge(mask, hull)


def _near_edge(mask, hull, depth=None):
    """(h, w) bool: the part of the convex hull of mask within `depth` px of its edge
    (default: a pen width and RING_MARGIN px)."""
    depth = pen_width(mask) + RING_MARGIN if depth is None else depth
    inward = ndi.distance_transform_edt(np.pad(hull, 1))[1:-1, 1:-1]  # pixels from the hull's edge
    return hull & (inward <= depth)


def line_width(mask):
    """The width of the printed lines of a frame (h, w) bool: the median run of ink inward
    from each inked pixel of its box's four edges (runs across the whole box left out)."""
    runs = []
    for side in (mask, mask[::-1], mask.T, mask.T[::-1]):  # the top edge, the bottom, the left, the right
        across = ~side.all(axis=0)
        runs.extend(np.argmin(side, axis=0)[side[0] & across])
    return float(np.median(runs)) if runs else pen_width(mask)


def convex_hull(mask):
    """(h, w) bool: the convex hull of the True pixels of mask, filled.

    scipy.spatial and PIL.ImageDraw are imported here, not at the top: they take 80 ms and
    5 ms to import, and most images have nothing drawn round anything, so they never need a hull."""
    from PIL import ImageDraw
    from scipy.spatial import ConvexHull, QhullError

    rows, cols = np.nonzero(mask)
    corners = np.concatenate([np.stack([cols + dx, rows + dy], axis=1) for dx in (0, 1) for dy in (0, 1)])
    image = Image.new("1", (mask.shape[1], mask.shape[0]))
    if len(np.unique(corners, axis=0)) >= 3:
        try:
            vertices = corners[ConvexHull(corners).vertices]
            ImageDraw.Draw(image).polygon([tuple(map(float, v)) for v in vertices], fill=1)
        except QhullError:  # all in a line
            pass
    return np.asarray(image, dtype=bool) | mask


def pen_width(mask):
    """The pen's width in px: twice the 90th percentile distance from ink to paper."""
    distance = ndi.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    return 2.0 * float(np.percentile(distance[mask], 90))


def is_tick(blob, labels, lines, digit_height):
    """True for a printed tick of a comb: a short straight vertical bar standing on an erased line.

    labels: (H, W) component labels; lines: (H, W) bool, the ink that line
    removal erased. The bar is at most TICK_WIDTH px wide (printed rules are
    thin), shorter than TICK_HEIGHT digit heights (a "1" is taller), and
    erased line ink touches its top or bottom end.
    """
    if blob.w > TICK_WIDTH or blob.h >= TICK_HEIGHT * digit_height:
        return False
    height, width = lines.shape
    x0, x1 = max(0, blob.x - 1), min(width, blob.right + 1)
    ends = [row for row in (blob.y - 1, blob.bottom) if 0 <= row < height]
    return any(lines[row, x0:x1].any() for row in ends)


def remove_specks(blobs, digit_height):
    """Drop blobs under SPECK_PX px both ways, and blobs with less than SPECK_AREA of the ink of the
    median digit-sized blob."""
    blobs = [b for b in blobs if max(b.w, b.h) >= SPECK_PX]
    digit_areas = [b.area for b in blobs if b.h >= 0.5 * digit_height]  # digit-sized: half a digit tall
    if not digit_areas:
        return blobs
    typical = float(np.median(digit_areas))
    return [b for b in blobs if b.area >= SPECK_AREA * typical]


def _touches_border(blob, shape):
    """True if the blob reaches an edge of an image of shape (H, W)."""
    return blob.x == 0 or blob.y == 0 or blob.right == shape[1] or blob.bottom == shape[0]


def is_border_junk(blob, labels, shape, digit_height):
    """A blob touching the image edge that cannot be a digit: far too big, or a long sliver:
    thin across its box, or drawn thinner than any pen (the edge of a hard shadow, which
    adaptive thresholding turns into a hairline)."""
    if not _touches_border(blob, shape):
        return False
    too_big = blob.h > BORDER_TALL * digit_height or blob.w > BORDER_WIDE * digit_height
    long = max(blob.w, blob.h) > digit_height
    sliver = long and (min(blob.w, blob.h) < BORDER_THIN * digit_height
                       or pen_width(blob.mask(labels)) < BORDER_HAIRLINE * digit_height)
    return too_big or sliver


# --- 4. merge pieces ------------------------------------------------------


def _pieces_of_one_digit(a, b, digit_height):
    """True if blobs a and b look like two pieces of one digit, one above the other."""
    x_overlap = min(a.right, b.right) - max(a.x, b.x)
    y_overlap = min(a.bottom, b.bottom) - max(a.y, b.y)  # negative: a vertical gap
    together = max(a.bottom, b.bottom) - min(a.y, b.y)
    inside = x_overlap >= MERGE_INSIDE * min(a.w, b.w)
    return (x_overlap >= MERGE_X_OVERLAP * min(a.w, b.w)
            and y_overlap <= (MERGE_INSIDE_Y_OVERLAP if inside else MERGE_Y_OVERLAP) * max(a.h, b.h)
            and -y_overlap <= MERGE_Y_GAP * digit_height
            and together <= MERGE_MAX_HEIGHT * digit_height)


def merge_pieces(blobs, digit_height):
    """Join blobs that are pieces of one digit (a 5's detached top bar, a broken 7).

    Pairs that pass `_pieces_of_one_digit` are joined, and so, through
    `_find`, are the groups they belong to; each group becomes one blob. Only
    blobs whose columns overlap are compared, found by sorting on x. Returns
    a new list.
    """
    blobs = sorted(blobs, key=lambda b: b.x)
    group = list(range(len(blobs)))  # group[i]: a blob of i's group, following to its root
    for i, a in enumerate(blobs):
        for j in range(i + 1, len(blobs)):
            if blobs[j].x >= a.right:
                break
            if _pieces_of_one_digit(a, blobs[j], digit_height):
                group[_find(group, j)] = _find(group, i)
    groups = {}
    for i, blob in enumerate(blobs):
        root = _find(group, i)
        groups[root] = groups[root].joined(blob) if root in groups else blob
    return list(groups.values())


def _find(group, i):
    """The root of i's group in a union-find list (scipy's csgraph would take 0.1 s just to import)."""
    while group[i] != i:
        group[i] = group[group[i]]  # halve the path on the way up
        i = group[i]
    return i


# --- 5. lines of text -----------------------------------------------------


def line_slope(blobs, digit_height):
    """How far the lines of text drop per pixel to the right (dy/dx): a photo taken askew.

    Sheared by the right slope, the centres of a line's blobs fall on one row. Every
    slope up to MAX_SLOPE (about 15 degrees) in steps of SLOPE_STEP is scored by how
    closely the sheared centres pair up, the sum over pairs of exp(-d^2 / 2) for a
    height difference of d * ROW_SPREAD digit heights; a slope must score LEVEL_MARGIN
    times better than level (0) to be believed, so a level page stays level.
    """
    if len(blobs) < 3:
        return 0.0
    blobs = sorted(blobs, key=lambda b: b.area)[-SLOPE_BLOBS:]  # pairs cost time and memory: the inkiest say enough
    cx = np.array([b.x + b.w / 2 for b in blobs])
    cy = np.array([b.y + b.h / 2 for b in blobs])

    def pairing(slope):
        rows = (cy - slope * cx) / (ROW_SPREAD * digit_height)
        return float(np.exp(-((rows[:, None] - rows[None, :]) ** 2) / 2).sum())

    slopes = np.arange(-MAX_SLOPE, MAX_SLOPE + SLOPE_STEP / 2, SLOPE_STEP)
    scores = [pairing(slope) for slope in slopes]
    best = int(np.argmax(scores))
    return float(slopes[best]) if scores[best] > LEVEL_MARGIN * pairing(0.0) else 0.0


def group_lines(blobs, slope=0.0):
    """Sort blobs into lines: a list of lines top to bottom, each a list of blobs left to right.

    The page is first set level: each blob is compared by its span in y minus slope
    times the x of its centre (see `line_slope`). Taking blobs from the left, each
    joins the line whose right end it overlaps most, if the overlap covers
    LINE_OVERLAP of the lower of the two; otherwise it starts a line. Comparing with
    the line's right end (its last LINE_END tall blobs), not the whole line, lets a
    line follow a wavy baseline or a slope line_slope missed.
    """
    def level(blob):  # (top, bottom) of the blob, sheared level
        drop = slope * (blob.x + blob.w / 2)
        return blob.y - drop, blob.bottom - drop

    lines, ends = [], []  # ends[i]: (top, bottom) of the right end of lines[i], kept up to date
    for blob in sorted(blobs, key=lambda b: (b.x, b.y)):
        top, bottom = level(blob)
        best = None
        if lines:  # all lines at once: a page of print has thousands of blobs and hundreds of lines
            line_top, line_bottom = np.array(ends).T
            overlap = np.minimum(line_bottom, bottom) - np.maximum(line_top, top)
            overlap[(overlap < LINE_OVERLAP * np.minimum(blob.h, line_bottom - line_top)) | (overlap <= 0)] = -np.inf
            best = int(np.argmax(overlap)) if np.isfinite(overlap).any() else None  # the first of equals
        if best is None:
            lines.append([blob])
            ends.append(_line_end(lines[-1], level))
        else:
            lines[best].append(blob)
            ends[best] = _line_end(lines[best], level)
    lines.sort(key=lambda line: np.median([level(b)[0] for b in line]))
    return lines


def _line_end(line, level):
    """(top, bottom) of the right end of a line: the median `level` span of its last LINE_END tall blobs."""
    tallest = max(b.h for b in line)
    spans = [level(b) for b in line if b.h >= TALL_FRACTION * tallest][-LINE_END:]
    return float(np.median([top for top, _ in spans])), float(np.median([bottom for _, bottom in spans]))


def attach_strays(lines, digit_height):
    """Put lines made only of small blobs (under COMMA_HEIGHT digit heights) into the line of digits
    beside them: into the line just above when their top is within COMMA_HEIGHT digit heights of
    its bottom (a comma hanging below its number, a dot); a line of flat strokes (wider than
    FLAT_ASPECT times their height) left over goes into the line just below when its bottom is
    within as much of that line's top (a 5's top bar drawn apart, higher than the digits beside
    it). There the punctuation tests and `attach_bars` see them beside their digits; alone, they
    would be read as a line of tiny digits."""
    small = COMMA_HEIGHT * digit_height

    def stray(line):
        return all(b.h < small for b in line)

    def flat(line):
        return all(b.h < small and b.w > FLAT_ASPECT * b.h for b in line)

    def join(line, into):
        into.extend(line)
        into.sort(key=lambda b: b.x)

    out = []
    for line in lines:  # top to bottom
        above = out[-1] if out else None
        if above and stray(line) and not stray(above) and min(b.y for b in line) <= max(b.bottom for b in above) + small:
            join(line, above)
        else:
            out.append(line)
    kept = []
    for line in reversed(out):  # bottom to top
        below = kept[-1] if kept else None
        if below and flat(line) and not stray(below) and max(b.bottom for b in line) >= min(b.y for b in below) - small:
            join(line, below)
        else:
            kept.append(line)
    return kept[::-1]


def drop_edge_lines(lines, shape):
    """Drop the lines made only of blobs touching the image edge, when other lines remain.

    Numbers are written inside the paper; a lone blob at the edge beside them
    is the table, a shadow or the paper's own edge. shape: (H, W) of the image.
    """
    inside = [line for line in lines if not all(_touches_border(b, shape) for b in line)]
    return inside or lines


def line_height(line, digit_height):
    """Digit height of one line: median height of its tall blobs, at least MIN_LINE_HEIGHT page digits."""
    tallest = max(b.h for b in line)
    tall = [b.h for b in line if b.h >= TALL_FRACTION * tallest]
    return max(float(np.median(tall)), MIN_LINE_HEIGHT * digit_height)


# --- 6. punctuation, touching digits, word gaps ---------------------------


def is_punctuation(mask, line_height):
    """True for separators beside numbers: . , - = / and a dash after an amount.

    mask: (h, w) bool, the blob's own ink. A "1" is tall and thin too, so a
    slash must also be a straight stroke leaning well away from vertical.
    """
    h, w = mask.shape
    if h < DOT_SIZE * line_height and w < DOT_SIZE * line_height:
        return True  # . and ,
    if is_dash(mask, line_height):
        return True  # - and =
    return is_slash(mask, line_height)


def is_slash(mask, line_height):
    """True for a / or \\: taller than the digits, straight, leaning well away from vertical."""
    return mask.shape[0] >= SLASH_MIN_HEIGHT * line_height and _is_slanted_stroke(mask)


def is_dash(mask, line_height):
    """True for a low stroke wider than tall: - and =, or a 5's top bar drawn apart from its body."""
    h, w = mask.shape
    return h < FLAT_HEIGHT * line_height and w > FLAT_ASPECT * h


def _is_slanted_stroke(mask):
    """A straight stroke leaning SLASH_MIN_TILT to SLASH_MAX_TILT degrees from vertical, like / or \\."""
    ys, xs = np.nonzero(mask)
    if xs.size < 3:
        return False
    spread, axes = np.linalg.eigh(np.cov(np.stack([xs, ys]).astype(float)))  # ascending
    if spread[1] <= 0:
        return False
    thickness = np.sqrt(max(spread[0], 0.0) / spread[1])  # ~ stroke width / length
    dx, dy = axes[:, 1]  # direction of the long axis
    tilt = np.degrees(np.arctan2(abs(dx), abs(dy)))  # 0 = vertical
    return bool(thickness < SLASH_MAX_THICKNESS and SLASH_MIN_TILT <= tilt <= SLASH_MAX_TILT)


def word_gaps(boxes, line_height, separators=()):
    """For boxes (x, y, w, h) of one line, left to right: does a word gap come before each?

    A "1" is narrow but takes a digit's room, so each box is first widened
    about its centre to at least DIGIT_ASPECT line heights. Digits inside a
    number are spaced alike, so the tightest gap shows how this writer spaces
    them: a word gap is wider than WORD_GAP_TYPICAL times that gap and than
    WORD_GAP_MIN line heights. A lone gap has nothing to compare with, so it
    must be wider than WORD_GAP_ALONE line heights. A gap holding one of the
    `separators` (boxes of the . , - / dropped from the line) is never a word
    gap: "509-71707" is one number written with a dash, not two.
    """
    room = DIGIT_ASPECT * line_height
    spans = [(x + w / 2 - max(w, room) / 2, x + w / 2 + max(w, room) / 2) for x, _, w, _ in boxes]
    gaps = [b[0] - a[1] for a, b in zip(spans, spans[1:])]
    if len(gaps) == 1:
        limit = WORD_GAP_ALONE * line_height
    else:
        limit = max(WORD_GAP_MIN * line_height, WORD_GAP_TYPICAL * max(0.0, min(gaps, default=0.0)))
    held = [any(a[0] + a[2] <= x + w / 2 <= b[0] for x, _, w, _ in separators) for a, b in zip(boxes, boxes[1:])]
    return [False] + [gap > limit and not sep for gap, sep in zip(gaps, held)]


def join_broken(digits, line_height, score_fn, counts=None):
    """The (box, mask) pieces of one line, left to right, with broken digits joined again.

    A pen that skips, a chalk stroke or a wrong cut leaves a digit in pieces side
    by side, which geometry alone (`merge_pieces`) cannot tell from digits. Runs
    of up to JOIN_PIECES neighbours, each at most JOIN_GAP line heights from the
    next and together no wider than MAX_PIECE_WIDTH, are candidates when one of them
    is a fragment (shorter than FRAGMENT line heights) or doubtful (its score
    under log SURE_DIGIT). All pieces and candidate runs are scored in one call;
    dynamic programming over the line then keeps the grouping with the highest
    total score, so pieces are joined when the classifier reads them as one digit
    more surely than as several.

    counts: (low, high), how many digits the line should hold (a form's field
    says so). When the best grouping holds some other number, every run up to
    WIDEST_DIGIT line heights wide is a candidate and the best grouping into
    low..high digits wins, if there is one.
    """
    boxes = [box for box, _ in digits]
    widest = (WIDEST_DIGIT if counts else MAX_PIECE_WIDTH) * line_height
    runs = {}  # (first, last + 1) -> the joined (box, mask)
    for i in range(len(digits)):
        piece = digits[i]
        for j in range(i + 1, min(i + JOIN_PIECES, len(digits))):
            if boxes[j][0] - (boxes[j - 1][0] + boxes[j - 1][2]) > JOIN_GAP * line_height:
                break
            piece = _joined(piece, digits[j])
            _, _, w, h = piece[0]
            if w > widest or h > MERGE_MAX_HEIGHT * line_height:
                break
            runs[(i, j + 1)] = piece
    if not runs:
        return digits
    scores = score_fn([mask for _, mask in digits] + [mask for _, mask in runs.values()])
    single, joined = scores[: len(digits)], dict(zip(runs, scores[len(digits):]))
    doubtful = [score < np.log(SURE_DIGIT) or box[3] < FRAGMENT * line_height for box, score in zip(boxes, single)]
    likely = {run: score for run, score in joined.items()
              if any(doubtful[slice(*run)]) and runs[run][0][2] <= MAX_PIECE_WIDTH * line_height}
    alone = {(k, k + 1): score for k, score in enumerate(single)}
    # the pieces' edges 0 .. n are the "cuts": {number of digits: (total, where each digit but the first starts)}
    groupings = best_paths(len(digits) + 1, {**alone, **likely})
    count = max(groupings, key=lambda c: groupings[c][0])
    if counts and not counts[0] <= count <= counts[1]:
        every = best_paths(len(digits) + 1, {**alone, **joined})
        fitting = [c for c in every if counts[0] <= c <= counts[1]]
        if fitting:
            groupings, count = every, max(fitting, key=lambda c: every[c][0])
    bounds = [0, *groupings[count][1], len(digits)]
    return [digits[a] if b == a + 1 else runs[(a, b)] for a, b in zip(bounds, bounds[1:])]


def _joined(a, b):
    """Two (box, mask) pieces -> one (box, mask) holding both."""
    (ax, ay, aw, ah), (bx, by, bw, bh) = a[0], b[0]
    x, y = min(ax, bx), min(ay, by)
    w, h = max(ax + aw, bx + bw) - x, max(ay + ah, by + bh) - y
    mask = np.zeros((h, w), dtype=bool)
    for (px, py, pw, ph), piece in (a, b):
        mask[py - y : py - y + ph, px - x : px - x + pw] |= piece
    return (x, y, w, h), mask


def attach_bars(digits, punctuation, line_height, score_fn):
    """Join top bars drawn apart back to their digits: (digits, punctuation left over), both (box, mask) lists.

    A writer who lifts the pen before a 5's top bar often draws it reaching past
    the body, so `merge_pieces` (which wants the columns shared) leaves it, and
    alone it is a dash; the 5 without it reads as a 3 or an 8. Each dash
    (`is_dash`) whose middle lies within BAR_TOP of a digit's height of that
    digit's top, at most JOIN_GAP line heights beside it, is scored joined to
    the digit, and kept there when the classifier reads the two together more
    surely than the digit alone (each bar and digit joined once, the biggest
    gains first). A dash after an amount sits at mid-height and is never tried.
    """
    tried = {}  # (punctuation index, digit index) -> the digit with the bar
    for k, (bar_box, bar) in enumerate(punctuation):
        bx, by, bw, bh = bar_box
        if not is_dash(bar, line_height):
            continue
        for i, (box, mask) in enumerate(digits):
            x, y, w, h = box
            apart = max(x - (bx + bw), bx - (x + w))  # negative when their columns overlap
            if apart <= JOIN_GAP * line_height and abs(by + bh / 2 - y) <= BAR_TOP * h:
                joined = _joined((box, mask), (bar_box, bar))
                if joined[0][2] <= MAX_PIECE_WIDTH * line_height:
                    tried[(k, i)] = joined
    if not tried:
        return digits, punctuation
    scores = score_fn([digits[i][1] for _, i in tried] + [mask for _, mask in tried.values()])
    alone, together = scores[: len(tried)], scores[len(tried):]
    gains = sorted(((b - a, key) for key, a, b in zip(tried, alone, together) if b > a), reverse=True)
    digits, bars_used, digits_done = list(digits), set(), set()
    for _, (k, i) in gains:
        if k not in bars_used and i not in digits_done:
            digits[i] = tried[(k, i)]
            bars_used.add(k)
            digits_done.add(i)
    return digits, [p for k, p in enumerate(punctuation) if k not in bars_used]


# --- the whole pipeline ---------------------------------------------------


def segment(gray, method="auto", score_fn=None, digits=None):
    """Find the digits in a grayscale image (H, W) in [0, 1]; returns a Segmentation.

    method: how to binarize ("auto", "otsu" or "adaptive").
    score_fn: optional scorer used to split touching digits (see `split.best_cuts`);
    the reader passes the classifier's confidence, so this module needs no model.
    digits: (low, high), the number of digits each line should hold, if known
    (with a scorer: a line found with fewer is split further, with more joined
    further, when the classifier finds a way; see `split_to_count`, `join_broken`).
    """
    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"gray must be a non-empty (H, W) array, got shape {gray.shape}")
    digits = _count_range(digits)
    raw = binarize(gray, method)
    if ink_is_light(gray):
        raw = close_chalk(raw)
    raw = erase_loops(raw)
    rough_height = rough_digit_height(raw)
    ink = remove_lines(raw, rough_height)
    labels, blobs = components(ink)
    # a comb's ticks, once its base line is gone, can outnumber the digits: judge them by the height seen before
    blobs = [b for b in blobs if not is_tick(b, labels, raw & ~ink, rough_height)]
    digit_height = estimate_digit_height(blobs, ink.shape)
    blobs = remove_specks(blobs, digit_height)
    blobs = [b for b in blobs if not is_border_junk(b, labels, ink.shape, digit_height)]
    blobs = merge_pieces(blobs, digit_height)

    segments, slashes, weighed = [], [], []
    lines = group_lines(blobs, line_slope(blobs, digit_height))
    for line in drop_edge_lines(attach_strays(lines, digit_height), ink.shape):
        height = line_height(line, digit_height)
        masks = [(blob, blob.mask(labels)) for blob in line]
        separator = [is_punctuation(mask, height) for _, mask in masks]
        kept = [(blob, mask) for (blob, mask), sep in zip(masks, separator) if not sep]
        if not kept:
            continue
        punctuation = [(blob.box, mask) for (blob, mask), sep in zip(masks, separator) if sep]
        found, margins, weighed_here = _line_digits(kept, height, score_fn, counts=digits)
        if score_fn is not None:
            found = join_broken(found, height, score_fn, counts=digits)
            found, punctuation = attach_bars(found, punctuation, height, score_fn)
        line_index = segments[-1].line + 1 if segments else 0
        gaps = word_gaps([box for box, _ in found], height, [box for box, _ in punctuation])
        margins = carried_margins(margins, [box for box, _ in found])
        segments.extend(Segment(box, mask, line_index, gap, margins[box]) for (box, mask), gap in zip(found, gaps))
        slashes.extend(Segment(box, mask, line_index) for box, mask in punctuation if is_slash(mask, height))
        weighed.extend(Segment(box, mask, line_index) for box, mask in weighed_here)
    return Segmentation(ink, segments, digit_height, slashes, weighed)


def carried_margins(margins, boxes):
    """{box: cut margin} for each of `boxes`: the smallest margin of the weighed pieces inside it, or
    None. A digit that join_broken or attach_bars made of pieces has a new box, but a close cut
    that made one of its pieces is as doubtful as before."""
    def inside(piece, box):
        return (box[0] <= piece[0] and piece[0] + piece[2] <= box[0] + box[2]
                and box[1] <= piece[1] and piece[1] + piece[3] <= box[1] + box[3])
    return {box: min((m for piece, m in margins.items() if m is not None and inside(piece, box)), default=None)
            for box in boxes}


def _count_range(digits):
    """A wanted number of digits, N or (low, high) or None, as (low, high) or None."""
    if digits is None:
        return None
    low, high = (digits, digits) if np.ndim(digits) == 0 else digits
    if not 1 <= low <= high:
        raise ValueError(f"digits must be a count >= 1 or (low, high) with 1 <= low <= high, got {digits!r}")
    return int(low), int(high)


def _line_digits(kept, height, score_fn, counts=None):
    """The (box, mask) pairs of the digits of one line, left to right, touching digits split.

    kept: (blob, mask) pairs of the line's blobs. Without a scorer, a blob is
    split when it is too wide for one digit (`looks_like_several`). With one,
    all blobs at least PAIR_WIDTH wide are scored in one call, and a blob is
    split when it is wider than WIDEST_DIGIT, or when it looks like several
    or is doubtful (its score under log SURE_DIGIT) and the scorer is not
    sure (ONE_DIGIT) that it is one digit. counts: (low, high) digits wanted
    in the line; fewer than low are cut again by `split_to_count`.
    Returns the pairs, {box: cut margin} for the pieces of blobs the split
    search weighed (see `split.best_option`), and the (box, mask) pairs of
    those blobs and of the blobs kept whole that the scorer doubts (under
    ONE_DIGIT) though they are at least PAIR_WIDTH wide.
    """
    median_width = float(np.median([blob.w for blob, _ in kept]))
    typical_width = typical_digit_width([blob.w for blob, _ in kept], height)
    scores = [0.0] * len(kept)
    if score_fn is not None:
        wide = [i for i, (blob, _) in enumerate(kept) if blob.w >= PAIR_WIDTH * height]
        for i, score in zip(wide, score_fn([kept[i][1] for i in wide]) if wide else []):
            scores[i] = float(score)
    digits, margins, weighed = [], {}, []
    for (blob, mask), score in zip(kept, scores):
        several = looks_like_several(blob.w, height, median_width)
        doubted = score < np.log(ONE_DIGIT) and blob.w >= PAIR_WIDTH * height  # never without a scorer: score 0
        if score_fn is not None:
            several = blob.w > WIDEST_DIGIT * height or ((several or score < np.log(SURE_DIGIT)) and doubted)
        if not several:
            digits.append((blob.box, mask))
            if doubted:
                weighed.append((blob.box, mask))  # a 1 run into its neighbour is read as that one digit
        elif score_fn is None:
            digits.extend(_pieces(blob, mask, best_cuts(mask, digit_height=height, typical_width=typical_width)))
        else:
            paths, margin = best_option(cut_options(mask, score_fn, height, typical_width))
            pieces = _pieces(blob, mask, paths)
            digits.extend(pieces)
            margins.update((box, margin) for box, _ in pieces)
            weighed.append((blob.box, mask))
    if counts and score_fn is not None and len(digits) < counts[0]:
        held = split_to_count(kept, height, score_fn, typical_width, counts)
        digits, margins = (held, {}) if held else (digits, margins)
    return digits, margins, weighed


def split_to_count(kept, height, score_fn, typical_width, counts):
    """The (box, mask) pairs of a line's blobs cut into low..high digits in all, or None if they cannot be.

    When a form says how many digits a field holds and fewer were found, some
    blob holds touching digits that the classifier read as one. Each blob's
    `cut_options` say how well it reads as 1, 2, ... pieces; dynamic
    programming over the blobs picks the counts with the highest total score
    that add up to between low and high.
    """
    low, high = counts
    best = {0: (0.0, [])}  # digits so far -> (highest total, each blob's cut paths)
    for blob, mask in kept:
        options = cut_options(mask, score_fn, height, typical_width)
        grown = {}
        for have, (total, cuts) in best.items():
            for count, (score, paths) in options.items():
                key = have + count
                if key <= high and (key not in grown or total + score > grown[key][0]):
                    grown[key] = (total + score, cuts + [paths])
        best = grown
    fitting = [count for count in best if count >= low]
    if not fitting:
        return None
    cuts = best[max(fitting, key=lambda count: best[count][0])][1]
    return [piece for (blob, mask), paths in zip(kept, cuts) for piece in _pieces(blob, mask, paths)]


def _pieces(blob, mask, cuts):
    """The (box, mask) pairs, in image pixels, of a blob cut along `cuts` (cut paths, left to right)."""
    return [((blob.x + x, blob.y + y, w, h), piece) for (x, y, w, h), piece in split_boxes(mask, cuts)]
