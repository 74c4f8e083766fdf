"""Training data for the reading model: digits made to look like what the reader sees.

The reader never hands the network a clean MNIST image. It hands it a *binary
mask* cut out of a photo by the segmenter, normalised by `normalize.to_mnist`.
So every training example here takes the same road:

    source digit (MNIST 28x28, USPS 16x16 or a font glyph), ink in [0, 1]
      -> scale up to a random height                      (render)
      -> rotate, slant, stretch                            (random_affine)
      -> elastic distortion                                (elastic)
      -> blur, then threshold at a random level            (to_mask)
      -> thicker or thinner pen, or redrawn with another pen  (change_thickness, restroke)
      -> a crossbar on a 7, a flag or base on a 1          (add_style)
      -> bits of a neighbouring digit at an edge           (add_neighbour_bits)
      -> normalize.to_mnist                                (28x28, as the reader does)

`touching_row` runs several such masks together into one blob, as fast writers join
their digits: the row reader (tinycnn.rows) learns to read those whole.

`not_a_digit` makes examples of the extra class 10: pieces of digits,
punctuation, two digits run together or written side by side, scribbles. The reader uses that class
to reject a bad segment or to prefer another way of splitting a blob.

Every function takes a numpy Generator `rng`; nothing touches global state.
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage as ndi

from .normalize import stroke_width, to_mnist

NOT_A_DIGIT = 10  # the extra class of the reading model


def render(digit, height, rng):
    """Ink image (h, w) in [0, 1] or uint8 -> float32 ink image scaled to `height` px, with a margin."""
    digit = np.asarray(digit, dtype=np.float32)
    if digit.max() > 1:
        digit = digit / 255.0
    h, w = digit.shape
    width = max(1, round(w * height / h * rng.uniform(0.85, 1.15)))
    image = Image.fromarray(digit).resize((width, height), Image.Resampling.BICUBIC)
    margin = height // 3
    return np.pad(np.clip(np.asarray(image), 0, 1), margin)


def random_affine(image, rng, max_rotation=12.0, max_shear=0.3):
    """Rotate by up to max_rotation degrees and slant (shear x by y) by up to max_shear, about the centre."""
    angle = np.radians(rng.uniform(-max_rotation, max_rotation))
    shear = rng.uniform(-max_shear, max_shear)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = rotation @ np.array([[1.0, 0.0], [shear, 1.0]])  # (row, col) coordinates: col += shear * row
    centre = (np.array(image.shape) - 1) / 2
    offset = centre - matrix @ centre
    return ndi.affine_transform(image, matrix, offset=offset, order=1)


def elastic(image, rng, alpha=None, grid=4):
    """Elastic distortion (after Simard et al., 2003): move each pixel along a smooth random field.

    The field is random on a coarse grid x grid lattice and interpolated smoothly (cubic) to the
    image size, which makes it as smooth as Simard's Gaussian-filtered noise at a fraction of the
    cost. alpha, the largest displacement in pixels, is up to 8% of the image size by default."""
    h, w = image.shape
    alpha = rng.uniform(0.0, 0.08) * min(h, w) if alpha is None else alpha
    coarse = rng.uniform(-1.0, 1.0, size=(2, grid, grid)).astype(np.float32)
    dy, dx = (np.asarray(Image.fromarray(field).resize((w, h), Image.Resampling.BICUBIC)) for field in coarse)
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return ndi.map_coordinates(image, [rows + alpha * dy, cols + alpha * dx], order=1)


def to_mask(image, rng):
    """Blur a little (a soft camera) and threshold at a random level, as the segmenter would."""
    blurred = ndi.gaussian_filter(image, rng.uniform(0.0, 0.025) * min(image.shape))
    return blurred > rng.uniform(0.3, 0.6) * blurred.max()


def change_thickness(mask, rng, max_change=0.05):
    """Grow or shrink the pen by up to max_change of the digit height on each side."""
    radius = rng.uniform(-max_change, max_change) * ndi.find_objects(mask.astype(np.int8))[0][0].stop
    if abs(radius) < 0.5:
        return mask
    if radius > 0:
        return ndi.distance_transform_edt(~mask) <= radius
    thinner = ndi.distance_transform_edt(mask) > -radius
    return thinner if thinner.sum() > 0.3 * mask.sum() else mask


def thin(mask):
    """Zhang-Suen thinning: peel the boundary of a binary mask until every stroke is 1 px wide.

    Each pass removes, in two half-steps, boundary pixels whose removal keeps the shape
    connected (exactly one 0->1 transition around them) and that are not line ends.
    """
    m = np.pad(mask, 1).astype(np.uint8)
    while True:
        changed = False
        for step in (0, 1):
            p = [m[:-2, 1:-1], m[:-2, 2:], m[1:-1, 2:], m[2:, 2:],  # P2..P9, clockwise from the top
                 m[2:, 1:-1], m[2:, :-2], m[1:-1, :-2], m[:-2, :-2]]
            neighbours = sum(p)
            transitions = sum((p[i] == 0) & (p[(i + 1) % 8] == 1) for i in range(8))
            p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
            if step == 0:
                side = ((p2 & p4 & p6) == 0) & ((p4 & p6 & p8) == 0)
            else:
                side = ((p2 & p4 & p8) == 0) & ((p2 & p6 & p8) == 0)
            remove = (m[1:-1, 1:-1] == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & side
            if remove.any():
                m[1:-1, 1:-1][remove] = 0
                changed = True
        if not changed:
            return m[1:-1, 1:-1].astype(bool)


def restroke(mask, rng, min_width=0.04, max_width=0.22):
    """Write the digit again with a pen of another width, from min_width to max_width of its height.

    MNIST's strokes are brush-like, thicker in places; a biro or a marker draws one width
    along the whole path. So the new ink is everything within half a pen width of the
    digit's skeleton (`thin`), not the old edge moved in or out. But where the writer
    filled a loop in, the skeleton is a line through the blot (a 9 would become a 7), so
    the blot is kept as well, shrunk by as much as the new pen is thinner than the old.
    """
    rows = ndi.find_objects(mask.astype(np.int8))[0][0]
    half = max(0.5, rng.uniform(min_width, max_width) * (rows.stop - rows.start) / 2)
    pad = int(np.ceil(half)) + 1
    mask = np.pad(mask, pad)
    along_skeleton = ndi.distance_transform_edt(~thin(mask)) <= half
    blots = mask & (ndi.distance_transform_edt(mask) > stroke_width(mask) / 2 - half)
    return along_skeleton | blots


def _ink_box(mask):
    rows, cols = ndi.find_objects(mask.astype(np.int8))[0]
    return rows.start, rows.stop, cols.start, cols.stop


def _stroke(mask):
    """A pen width for drawing extra strokes: about the mask's own."""
    distance = ndi.distance_transform_edt(mask)
    return max(1, int(round(2 * np.percentile(distance[mask], 90))))


def add_style(mask, label, rng):
    """Handwriting styles MNIST rarely shows: a crossbar through the stem of a 7,
    a flag and a base on a 1. Other digits are returned as they are."""
    if label not in (1, 7):
        return mask
    top, bottom, left, right = _ink_box(mask)
    height = bottom - top
    pad = height // 3
    image = Image.fromarray(np.pad(mask, pad).astype(np.uint8) * 255)
    draw = ImageDraw.Draw(image)
    width = _stroke(mask)
    top, bottom, left, right = top + pad, bottom + pad, left + pad, right + pad
    if label == 7:
        row = int(top + height * rng.uniform(0.45, 0.6))
        ink_cols = np.flatnonzero(np.asarray(image)[row] > 0)
        centre = ink_cols.mean() if ink_cols.size else (left + right) / 2
        half = height * rng.uniform(0.15, 0.25)
        draw.line([(centre - half, row), (centre + half, row)], fill=255, width=width)
    else:
        top_cols = np.flatnonzero(np.asarray(image)[top + 1] > 0)
        x_top = top_cols.mean() if top_cols.size else (left + right) / 2
        if rng.random() < 0.8:  # the flag
            draw.line([(x_top, top), (x_top - height * rng.uniform(0.2, 0.35), top + height * rng.uniform(0.15, 0.3))],
                      fill=255, width=width)
        if rng.random() < 0.5:  # the base
            bottom_cols = np.flatnonzero(np.asarray(image)[bottom - 2] > 0)
            x_bottom = bottom_cols.mean() if bottom_cols.size else x_top
            half = height * rng.uniform(0.15, 0.3)
            draw.line([(x_bottom - half, bottom - width // 2), (x_bottom + half, bottom - width // 2)], fill=255,
                      width=width)
    return np.asarray(image) > 0


def add_neighbour_bits(mask, neighbour, rng, max_fraction=0.3):
    """Join a strip of another digit's mask to the left or right edge of `mask`, touching it:
    what a segment looks like after touching digits were split not quite at the right place."""
    top, bottom, left, right = _ink_box(neighbour)
    strip_width = max(2, int((right - left) * rng.uniform(0.08, max_fraction)))
    on_left = rng.random() < 0.5
    strip = neighbour[top:bottom, right - strip_width:right] if on_left else neighbour[top:bottom, left:left + strip_width]
    m_top, m_bottom, m_left, m_right = _ink_box(mask)
    height = m_bottom - m_top
    strip = np.asarray(Image.fromarray(strip.astype(np.uint8) * 255).resize(
        (max(1, strip.shape[1] * height // max(strip.shape[0], 1)), height)), dtype=bool)
    width = strip.shape[1]
    out = np.pad(mask, ((0, 0), (width, width)))
    overlap = max(1, width // 4)  # so the strip touches the digit, as in a blob that was cut
    column = m_left + overlap if on_left else m_right + width - overlap  # out's columns are shifted by width
    out[m_top:m_bottom, column:column + width] |= strip
    return out


def side_by_side(left, right, rng, max_overlap=0.12, max_gap=0.06):
    """Two whole digits written next to each other, as one segment: what the reader sees when
    it misses the cut between touching digits. The right one is scaled to about the left
    one's height and placed from max_overlap of that height over it to max_gap clear of it,
    its baseline a little up or down."""
    top, bottom, l_left, l_right = _ink_box(left)
    height = bottom - top
    r_top, r_bottom, r_left, r_right = _ink_box(right)
    size = height * rng.uniform(0.85, 1.15)
    scale = size / (r_bottom - r_top)
    width = max(1, round((r_right - r_left) * scale))
    right = np.asarray(Image.fromarray(right[r_top:r_bottom, r_left:r_right].astype(np.uint8) * 255).resize(
        (width, max(1, round(size)))), dtype=bool)
    x = l_right + round(height * rng.uniform(-max_overlap, max_gap))
    y = top + round(height * rng.uniform(-0.1, 0.1))
    out = np.zeros((max(bottom, y + right.shape[0]) - min(top, y), max(l_right, x + width) - l_left), dtype=bool)
    y0 = min(top, y)
    out[top - y0:bottom - y0, :l_right - l_left] |= left[top:bottom, l_left:l_right]
    out[y - y0:y - y0 + right.shape[0], x - l_left:x - l_left + width] |= right
    return out


def digit_mask(digit, label, rng, height, style_probability=0.3, restroke_probability=0.4):
    """One source digit (ink image) -> a bool mask about `height` px tall, as the segmenter might cut
    it out of a photo: turned, slanted, distorted, thresholded, redrawn with another pen, styled."""
    image = elastic(random_affine(render(digit, height, rng), rng), rng)
    mask = to_mask(image, rng)
    if not mask.any():
        mask = render(digit, height, rng) > 0.5
    mask = restroke(mask, rng) if rng.random() < restroke_probability else change_thickness(mask, rng)
    if rng.random() < style_probability:
        mask = add_style(mask, label, rng)
    return mask


def augment_digit(digit, label, rng, neighbour=None, style_probability=0.3, neighbour_probability=0.15,
                  restroke_probability=0.4):
    """One source digit (ink image) -> a (28, 28) float32 training example, through the reader's normalisation."""
    height = int(rng.integers(28, 90))
    mask = digit_mask(digit, label, rng, height, style_probability, restroke_probability)
    if neighbour is not None and rng.random() < neighbour_probability:
        mask = add_neighbour_bits(mask, to_mask(render(neighbour, height, rng), rng), rng)
    return to_mnist(mask)


def touching_row(masks, rng, max_overlap=0.12):
    """Digit masks -> one blob of them written touching, left to right, (h, w) bool.

    Each digit starts clear of the ones before it and slides left until its ink
    meets theirs (in the rows they share), then on by up to max_overlap of its
    height, but never past the middle of the digit before it (a 1 would vanish).
    The digits stand at random heights within the tallest.
    """
    masks = [m[slice(*_ink_box(m)[:2]), slice(*_ink_box(m)[2:])] for m in masks]
    height, width = max(m.shape[0] for m in masks), sum(m.shape[1] for m in masks)
    row = np.zeros((height, width), dtype=bool)
    end = previous_middle = 0  # the blob's width so far; the middle column of the last digit
    for mask in masks:
        top = int(rng.integers(0, height - mask.shape[0] + 1))
        placed = np.zeros_like(row)
        placed[top:top + mask.shape[0], end:end + mask.shape[1]] = mask
        shared = placed.any(axis=1) & row.any(axis=1)
        shift = 0
        if shared.any():
            last_ink = width - 1 - np.argmax(row[:, ::-1], axis=1)
            gap = int((np.argmax(placed, axis=1) - last_ink)[shared].min()) - 1
            overlap = round(rng.uniform(0, max_overlap) * mask.shape[0])
            shift = min(gap + overlap, end - previous_middle)
        row |= np.roll(placed, -shift, axis=1)
        previous_middle = end - shift + mask.shape[1] // 2
        end = max(end, end - shift + mask.shape[1])
    return row[:, :end]


def not_a_digit(digits, rng):
    """A (28, 28) example of class 10, built from random source digits (a list of ink images)."""
    kind = rng.choice(["piece", "pair", "side_by_side", "punctuation", "scribble"], p=[0.3, 0.15, 0.25, 0.15, 0.15])
    height = int(rng.integers(40, 80))
    first = to_mask(random_affine(render(digits[rng.integers(len(digits))], height, rng), rng), rng)
    if kind == "piece":  # the left or right quarter to half of a digit: what a wrong cut leaves
        top, bottom, left, right = _ink_box(first)
        cut = left + int((right - left) * rng.uniform(0.25, 0.45))
        mask = first[:, :cut] if rng.random() < 0.5 else first[:, right - (cut - left):]
    elif kind == "pair":  # two digits run together
        second = to_mask(random_affine(render(digits[rng.integers(len(digits))], height, rng), rng), rng)
        mask = add_neighbour_bits(first, second, rng, max_fraction=1.0)
    elif kind == "side_by_side":
        second = to_mask(random_affine(render(digits[rng.integers(len(digits))], height, rng), rng), rng)
        mask = side_by_side(first, second, rng)
    elif kind == "punctuation":
        mask = punctuation(rng)
    else:
        mask = scribble(rng)
    if not mask.any():
        mask = scribble(rng)
    return to_mnist(mask)


def punctuation(rng, size=60):
    """A dot, comma, dash, equals sign or slash, drawn with a pen of random width."""
    image = Image.new("L", (size, size))
    draw = ImageDraw.Draw(image)
    pen = int(rng.integers(3, 9))
    mark = rng.choice(["dot", "comma", "dash", "equals", "slash"])
    if mark == "dot":
        draw.ellipse([25, 25, 25 + pen * 2, 25 + pen * 2], fill=255)
    elif mark == "comma":
        draw.ellipse([25, 20, 25 + pen * 2, 20 + pen * 2], fill=255)
        draw.line([(25 + pen * 2, 20 + pen), (20, 40)], fill=255, width=pen)
    elif mark == "dash":
        draw.line([(10, 30), (10 + int(rng.integers(15, 40)), 30 + int(rng.integers(-3, 4)))], fill=255, width=pen)
    elif mark == "equals":
        length = int(rng.integers(15, 40))
        draw.line([(10, 24), (10 + length, 24)], fill=255, width=pen)
        draw.line([(10, 36), (10 + length, 36)], fill=255, width=pen)
    else:
        draw.line([(40, 5), (15, 55)], fill=255, width=pen)
    return np.asarray(image) > 0


def scribble(rng, size=60):
    """A short random pen path: smudges, stray marks, bits of ruled lines."""
    image = Image.new("L", (size, size))
    points = [tuple(p) for p in rng.uniform(10, size - 10, size=(int(rng.integers(2, 5)), 2))]
    ImageDraw.Draw(image).line(points, fill=255, width=int(rng.integers(2, 8)))
    return np.asarray(image) > 0


def font_digits(font_paths, size=64):
    """Render 0-9 in each font -> list of (ink image float32 (h, w), label). Fonts that fail are skipped."""
    glyphs = []
    for path in font_paths:
        try:
            font = ImageFont.truetype(str(path), size)
        except OSError:
            continue
        for label in range(10):
            image = Image.new("L", (size * 2, size * 2))
            ImageDraw.Draw(image).text((size // 2, size // 4), str(label), font=font, fill=255)
            ink = np.asarray(image, dtype=np.float32) / 255
            if ink.max() > 0.5:
                top, bottom, left, right = _ink_box(ink > 0.5)
                glyphs.append((ink[top:bottom, left:right], label))
    return glyphs
