"""Cut a blob of touching digits into digits: the split search.

People who write fast join their digits ("00", "117"), and a connected blob of ink
then holds several. `segment` finds the blobs too wide for one digit, or that the
classifier doubts, and this module cuts them:

1. cut_positions   where a cut may start: the deepest valleys of the blob's column
                   profile (candidate_cuts) and a regular grid, for overlaps that
                   leave no valley
2. cut_path        from each start, the cheapest way from top to bottom (dynamic
                   programming): crossing ink costs CUT_INK a pixel, drifting
                   sideways CUT_DRIFT a column in each row
3. cut_options     every piece between two paths that could be one digit is
                   scored in one call of the classifier (score_fn: how surely it
                   is one digit, a log-probability), plus `width_prior` and
                   `height_prior`; dynamic programming over the paths
                   (best_paths) finds the best pieces for each number of pieces
4. best_option     the number of pieces with the best total wins; its lead over
                   the next best says how close the choice was (the reader flags
                   a close one as uncertain)

Without a scorer a blob is cut straight, at its lightest columns, into as many
near-equal pieces as its width suggests. Sizes are in digit heights, as in segment.
"""

import numpy as np
from scipy import ndimage as ndi

# Widths and heights in line heights (the height of the line's digits).
DIGIT_ASPECT = 0.7  # median width/height of an MNIST digit
SEVERAL_DIGITS_WIDTH = 1.2  # 99% of MNIST digits are narrower than 1.25 heights
SEVERAL_TYPICAL = 1.6  # two touching digits are at least 1.6 times as wide as one...
MIN_SEVERAL_WIDTH = 0.9  # ...but under 0.9 heights is one digit (75% of MNIST are under 0.85)
MIN_PIECE_WIDTH = 0.1  # a "1" can be this narrow
ONE_WIDTH = 0.35  # and most 1s are narrower than 0.35 heights, most other digits wider
MAX_PIECE_WIDTH = 1.25  # a piece cut from a blob is at most this wide (a wider lone digit is kept whole)
MAX_CANDIDATE_CUTS = 8  # the deepest valleys tried, by default
CUTS_PER_DIGIT = 3  # in the split search: up to 3 valleys per digit the width suggests...
GRID_STEP = 0.2  # ...and a cut every 0.2 heights, for overlaps that leave no valley
FINE_GRID_STEP, FINE_GRID_WIDTH = 0.1, 1.6  # ...every 0.1 in blobs wider than 1.6 heights (two digits at least)
CRUMB = 0.1  # a cut-off sliver of a neighbour holds under a tenth of a piece's ink
# A cut may wander 0.25 heights either way from where it starts, to pass
# between leaning digits; crossing one ink pixel costs as much as drifting one
# column away for 2 rows, so it steps round ink close to its way but does not
# wander far into a digit's loop to save a stroke. (At 20 rows, cuts went round
# through loops and left an 8 as a 3, a 0 as a C: 150 touching images 40.7% ->
# 50.0% of numbers, development set 88.8% -> 89.7%; 0.7 read the same.)
CUT_REACH = 0.25
CUT_INK, CUT_DRIFT = 1.0, 0.5
# How sure the split search is that a piece is one digit from its width: a
# piece twice the line's typical digit width (two digits read as one) costs
# 1/(2 * 1.0**2) = 0.5 nats, three times 2 nats. A prior on the number of
# digits in a blob (its width / the typical width) did worse: 1s and the
# overlap of touching digits make that count too low.
WIDTH_SPREAD = 1.0
# A piece much shorter than the line's digits is a part of one: the top of a 6 or the bar of a 5 that
# a cut took off. Under 0.6 line heights a piece pays ((0.6 - its height) / 0.1)^2 / 2 nats (2 at 0.4).
# Raising 0.6 to 0.75-1.0 mended more such splits but kept touching digits together: a line of
# touching digits written up and down is taller than each of them.
SHORT_PIECE = 0.6
SHORT_SPREAD = 0.1


def typical_digit_width(widths, line_height):
    """The median width of the blobs of a line that look like single digits other than 1s.

    Blobs of touching digits must not count, or a line of them would look like
    a writer of wide digits; nor must 1s (narrower than ONE_WIDTH), or a line of
    wide digits with a 1 among them would look like a writer of narrow ones.
    With no such blob, an MNIST digit's DIGIT_ASPECT.
    """
    single = [w for w in widths if ONE_WIDTH * line_height < w <= MIN_SEVERAL_WIDTH * line_height]
    return float(np.median(single)) if single else DIGIT_ASPECT * line_height


def looks_like_several(width, line_height, typical_width=None):
    """True when a blob is too wide to be one digit of its line: probably touching digits.

    The limit is SEVERAL_DIGITS_WIDTH line heights; for a writer whose digits
    are narrow (typical_width, the median width in the line) it comes down to
    SEVERAL_TYPICAL typical widths, but never below MIN_SEVERAL_WIDTH heights.
    """
    limit = SEVERAL_DIGITS_WIDTH * line_height
    if typical_width:
        limit = min(limit, max(SEVERAL_TYPICAL * typical_width, MIN_SEVERAL_WIDTH * line_height))
    return width > limit


def candidate_cuts(mask, min_width=1, limit=MAX_CANDIDATE_CUTS):
    """Where a blob of touching digits might be cut: valleys of its column projection.

    mask: (h, w) bool. A cut at x gives the pieces mask[:, :x] and mask[:, x:].
    Returns up to `limit` positions, the deepest valleys, sorted, each at
    least `min_width` columns from either end.
    """
    profile = ndi.uniform_filter1d(mask.sum(axis=0).astype(float), 3)  # 1-px wobbles smoothed out
    width = profile.size
    valleys = [x for x in range(max(1, min_width), min(width - 1, width - min_width + 1))
               if profile[x] <= profile[x - 1] and profile[x] <= profile[x + 1]
               and profile[x] < max(profile[x - 1], profile[x + 1])]
    deepest = sorted(valleys, key=lambda x: profile[x])[:limit]
    return sorted(deepest)


def _even_cuts(mask, count):
    """count - 1 cuts near equal-width positions, each moved to the lightest column nearby."""
    profile = mask.sum(axis=0)
    width = profile.size
    reach = max(1, width // (4 * count))  # a quarter of a piece either way
    cuts = []
    for i in range(1, count):
        centre = round(i * width / count)
        low, high = max(1, centre - reach), min(width - 1, centre + reach)
        cuts.append(low + int(np.argmin(profile[low : high + 1])))
    return cuts


def cut_positions(mask, digit_height):
    """Every x where the split search may start a cut through a blob (h, w): its valleys, and a grid.

    Overlapping digits often leave no valley between them, so a cut is also
    tried every GRID_STEP digit heights, moved to the lightest column near it;
    in a blob too wide for one digit (over FINE_GRID_WIDTH heights), where
    the cuts between digits lie, every FINE_GRID_STEP heights.
    Returns sorted positions, 0 and w included, at least MIN_PIECE_WIDTH apart.
    """
    width = mask.shape[1]
    min_width = max(1, round(MIN_PIECE_WIDTH * digit_height))
    limit = CUTS_PER_DIGIT * max(1, round(width / (DIGIT_ASPECT * digit_height)))
    valleys = candidate_cuts(mask, min_width, limit)
    step = max(1, round((FINE_GRID_STEP if width > FINE_GRID_WIDTH * digit_height else GRID_STEP) * digit_height))
    grid = _even_cuts(mask, max(1, round(width / step))) if width > 2 * step else []
    positions = [0]
    for x in sorted(set(valleys) | set(grid)):
        if x - positions[-1] >= min_width and width - x >= min_width:
            positions.append(x)
    return positions + [width]


def cut_path(mask, x, reach):
    """The cut through mask (h, w) that starts near column x and crosses the least ink.

    Touching digits lean and overlap, so a straight cut would slice through
    one of them. The cut runs from the top row to the bottom one, moving at
    most one column per row and at most `reach` columns from x; each ink
    pixel crossed costs CUT_INK, each column of drift CUT_DRIFT in each row
    (so it runs straight through paper, and steps round ink only close to its
    way). Dynamic programming over the rows finds it.
    Returns (h,) int: the column of the cut in each row; a piece left of it
    holds the columns < path[row].
    """
    height, width = mask.shape
    low, high = max(1, x - reach), min(width - 1, x + reach)
    if high < low:
        return np.full(height, x)
    columns = np.arange(low, high + 1)
    cost = mask[:, low : high + 1] * CUT_INK + np.abs(columns - x) * CUT_DRIFT
    total = cost[0].astype(float)
    came_from = np.zeros((height, columns.size), dtype=np.int8)  # -1, 0, +1: the column before
    for row in range(1, height):
        options = np.stack([np.r_[np.inf, total[:-1]], total, np.r_[total[1:], np.inf]])
        came_from[row] = options.argmin(axis=0) - 1
        total = options.min(axis=0) + cost[row]
    path = np.empty(height, dtype=int)
    path[-1] = int(np.argmin(total))
    for row in range(height - 1, 0, -1):
        path[row - 1] = path[row] + came_from[row, path[row]]
    return columns[path]


def piece_between(mask, left, right):
    """The ink of mask (h, w) between two cut paths (h,): columns left[row] <= x < right[row], cleaned."""
    columns = np.arange(mask.shape[1])
    inside = (columns >= left[:, None]) & (columns < right[:, None])
    return clean_piece(mask & inside)


def _cut_paths(mask, digit_height):
    """The candidate cut paths of a blob: straight edges at both ends, a `cut_path` from each position between."""
    height, width = mask.shape
    reach = max(1, round(CUT_REACH * digit_height))
    positions = cut_positions(mask, digit_height)
    paths = [cut_path(mask, x, reach) for x in positions[1:-1]]
    return [np.zeros(height, dtype=int), *paths, np.full(height, width)]


def _candidate_pieces(mask, paths, digit_height):
    """All pieces between two cut paths that could be one digit wide: {(i, j): trimmed piece mask}.

    The whole blob is a candidate too, however wide: `width_prior` judges it."""
    widest = MAX_PIECE_WIDTH * digit_height
    starts = [int(np.median(path)) for path in paths]
    last = len(paths) - 1
    pieces = {}
    for i in range(last):
        for j in range(i + 1, last + 1):
            if starts[j] - starts[i] > widest and (i, j) != (0, last):
                continue
            piece = piece_between(mask, paths[i], paths[j])
            if piece.any():
                pieces[(i, j)] = piece[_ink_slices(piece)]
    return pieces


def best_cuts(mask, n=None, score_fn=None, digit_height=None, typical_width=None):
    """Where to cut a blob of touching digits: a list of cut paths, left to right.

    mask: (h, w) bool. n: number of pieces if known. digit_height: the line's
    digit height (default: the blob's height), which sets the piece widths;
    typical_width: the line's typical digit width (default DIGIT_ASPECT
    heights), which says how many digits the blob probably holds.
    score_fn(list of piece masks) -> one score per piece: the log-probability
    that it is one digit (<= 0; higher = more digit-like; see read.make_scorer).
    With it, the best of `cut_options` wins (with n given, the best of n
    pieces). Without it, cut straight into n (or as many as the width suggests)
    near-equal pieces at the lightest columns. Each cut is an (h,) int array:
    its column in each row.
    """
    height, width = mask.shape
    digit_height = digit_height or height
    typical_width = typical_width or DIGIT_ASPECT * digit_height
    if score_fn is None:
        return [np.full(height, x) for x in _even_cuts(mask, n or max(1, round(width / typical_width)))]
    by_count = cut_options(mask, score_fn, digit_height, typical_width)
    if n is not None:
        by_count = {count: value for count, value in by_count.items() if count == n}
    if not by_count:
        return best_cuts(mask, n, None, digit_height, typical_width)
    return best_option(by_count)[0]


def best_option(by_count):
    """The cut paths of the best of `cut_options`, and by how much its score beats the next best
    number of pieces (None when there is no other)."""
    ranked = sorted(by_count.values(), key=lambda option: option[0], reverse=True)
    return ranked[0][1], (ranked[0][0] - ranked[1][0] if len(ranked) > 1 else None)


def cut_options(mask, score_fn, digit_height, typical_width):
    """The best way to cut a blob (h, w) bool into each number of pieces: {count: (total score, cut paths)}.

    Every piece between two candidate cuts (see `cut_path`) that is at most
    MAX_PIECE_WIDTH wide, and the whole blob, is scored in ONE call of
    score_fn, plus its `width_prior` and `height_prior`; dynamic programming
    over the cuts then finds, for each number of pieces, the pieces with the
    highest total score. Count 1 is the blob kept whole.
    """
    paths = _cut_paths(mask, digit_height)
    pieces = _candidate_pieces(mask, paths, digit_height)
    scores = {key: float(score) + width_prior(piece.shape[1], typical_width, digit_height)
              + height_prior(piece.shape[0], digit_height)
              for (key, piece), score in zip(pieces.items(), score_fn(list(pieces.values())))}
    by_count = best_paths(len(paths), scores)
    return {count: (total, [paths[k] for k in cuts]) for count, (total, cuts) in by_count.items()}


def width_prior(width, typical_width, digit_height):
    """Log-prior of a piece `width` px wide being one digit of a line whose digits are
    typical_width wide: a Gaussian of spread WIDTH_SPREAD typical widths. The classifier
    reads some pairs of touching digits confidently as one; this makes a piece twice
    as wide as a digit pay for it. A piece narrow enough to be a 1 (ONE_WIDTH heights)
    pays nothing: the classifier judges it alone."""
    if width <= ONE_WIDTH * digit_height:
        return 0.0
    return -((width / typical_width - 1) ** 2) / (2 * WIDTH_SPREAD ** 2)


def height_prior(height, digit_height):
    """Log-prior of a piece `height` px tall being one digit of a line whose digits are digit_height
    tall: nothing down to SHORT_PIECE line heights, then a Gaussian fall of spread SHORT_SPREAD."""
    short = SHORT_PIECE - height / digit_height
    return -(max(short, 0.0) / SHORT_SPREAD) ** 2 / 2


def best_paths(count, scores):
    """The best ways through cut indexes 0 .. count - 1, by pieces {(i, j): score}:
    {number of pieces: (total score, interior cut indexes)}, the highest total for each number."""
    best = [{} for _ in range(count)]  # best[j]: {pieces so far: (total score, cut indexes)} of the ways to cut j
    best[0][0] = (0.0, [])
    for (i, j), score in sorted(scores.items(), key=lambda item: item[0][1]):  # every way to i is known before i goes on
        for pieces, (total, cuts) in best[i].items():
            if pieces + 1 not in best[j] or total + score > best[j][pieces + 1][0]:
                best[j][pieces + 1] = (total + score, cuts + [j])
    return {pieces: (total, cuts[:-1]) for pieces, (total, cuts) in best[count - 1].items()}


def clean_piece(piece):
    """A piece cut from a blob, (h, w) bool, without the crumbs of its neighbours.

    A cut through a neighbour's stroke leaves slivers of it at the piece's
    edge; components that hold less than CRUMB of the piece's ink are dropped
    (unless nothing else is left).
    """
    labels, count = ndi.label(piece, structure=np.ones((3, 3), dtype=bool))
    if count < 2:
        return piece
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    crumbs = areas < CRUMB * areas[1:].sum()
    crumbs[0] = False
    return piece & ~crumbs[labels]


def _as_paths(mask, cuts):
    """Cuts given as x positions or as paths (h,) -> paths, with the blob's two edges added."""
    height, width = mask.shape
    paths = [np.full(height, c) if np.ndim(c) == 0 else np.asarray(c) for c in cuts]
    return [np.zeros(height, dtype=int), *paths, np.full(height, width)]


def split_boxes(mask, cuts):
    """Cut mask (h, w) along `cuts` (x positions or cut paths): [(box, piece)], each piece trimmed
    to its ink and its box (x, y, w, h) in the mask's pixels."""
    paths = _as_paths(mask, cuts)
    pieces = []
    for left, right in zip(paths, paths[1:]):
        piece = piece_between(mask, left, right)
        if piece.any():
            rows, cols = _ink_slices(piece)
            pieces.append(((cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start), piece[rows, cols]))
    return pieces


def split_at(mask, cuts):
    """Cut mask (h, w) along `cuts` (x positions or cut paths): the pieces, each trimmed to its ink."""
    return [piece for _, piece in split_boxes(mask, cuts)]


def split_blob(mask, n=None, score_fn=None, digit_height=None, typical_width=None):
    """Split a blob of touching digits into piece masks; see `best_cuts` for the arguments."""
    return split_at(mask, best_cuts(mask, n, score_fn, digit_height, typical_width))


def _ink_slices(mask):
    """(rows, cols) slices of the bounding box of the True pixels of a non-empty mask."""
    return ndi.find_objects(mask.astype(np.int8))[0]
