"""Small drawn images for the segmentation tests: digits drawn with straight strokes and arcs, the
boxes they were drawn in, and stand-ins for the classifier and the row reader. Used by test_segment,
test_split, test_threshold, test_ruling, test_rows and test_read."""

import numpy as np
from PIL import Image, ImageDraw

from tinycnn.rows import row_cnn

H = 40  # digit height used by the drawings
STROKE = 5


def glyph(draw, char, x, y, h, stroke):
    """Draw one character with its top-left corner at (x, y); return its advance width."""
    w = int(0.6 * h)

    def line(*points):
        draw.line(points, fill=0, width=stroke)

    if char == "1":
        line((x + w // 2, y), (x + w // 2, y + h))
    elif char == "l":  # a "1" leaning 15 degrees, as in slanted handwriting
        line((x + w // 2 + round(0.27 * h), y), (x + w // 2, y + h))
    elif char == "7":
        line((x, y), (x + w, y))
        line((x + w, y), (x + w // 3, y + h))
    elif char == "0":
        draw.ellipse((x, y, x + w, y + h), outline=0, width=stroke)
    elif char == "4":
        line((x + 2 * w // 3, y), (x, y + 2 * h // 3))
        line((x, y + 2 * h // 3), (x + w, y + 2 * h // 3))
        line((x + 2 * w // 3, y), (x + 2 * w // 3, y + h))
    elif char in "5SB":  # "S": a 5 whose top bar is not joined to the rest; "B": drawn apart, reaching past it
        gap = h // 6 if char in "SB" else 0
        start, end = {"5": (0, w), "S": (stroke, w), "B": (w // 2 + 6, w + 14)}[char]
        line((x + start, y), (x + end, y))
        line((x, y + gap), (x, y + h // 2))
        draw.arc((x - w // 4, y + h // 3, x + w, y + h), -130, 140, fill=0, width=stroke)
        return end
    elif char == ".":
        draw.ellipse((x, y + h - 6, x + 6, y + h), fill=0)
        return 8
    elif char == ",":
        line((x + 4, y + h - 5), (x, y + h + 4))
        return 8
    elif char == "-":
        line((x, y + h // 2), (x + w, y + h // 2))
    elif char == "=":
        line((x, y + 2 * h // 5), (x + w, y + 2 * h // 5))
        line((x, y + 3 * h // 5), (x + w, y + 3 * h // 5))
    elif char == "/":  # reaching above and below the digits, as a handwritten slash does
        line((x, y + h + h // 8), (x + w, y - h // 8))
    elif char != " ":
        raise ValueError(char)
    return w


def render(text, h=H, stroke=STROKE, size=(420, 200), origin=(20, 30), spacing=10, word=40):
    """Black digits on white paper as (H, W) float32 in [0, 1], plus the digits' boxes.

    Characters: 0 1 4 5 7, l (slanted 1), S and B (5s with a detached bar), . , - = /,
    space (a word gap of `word` px) and newline. Boxes are (x0, y0, x1, y1).
    """
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    x, y = origin
    boxes = []
    for char in text:
        if char == "\n":
            x, y = origin[0], y + int(1.8 * h)
        elif char == " ":
            x += word
        else:
            advance = glyph(draw, char, x, y, h, stroke)
            if char.isdigit() or char in "lSB":
                boxes.append((x, y, x + advance, y + h))
            x += advance + spacing
    return np.asarray(image, dtype=np.float32) / 255.0, boxes


def centres(result):
    """(cx, cy) of every segment's box, in reading order."""
    return [(x + w / 2, y + h / 2) for x, y, w, h in (s.box for s in result.segments)]


def assert_finds(result, boxes):
    """One segment per drawn digit, in order, each centred inside its drawn box."""
    assert len(result.segments) == len(boxes), [s.box for s in result.segments]
    for (cx, cy), (x0, y0, x1, y1) in zip(centres(result), boxes):
        assert x0 - 3 <= cx <= x1 + 3 and y0 - 3 <= cy <= y1 + 3


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


def prefers_digit_shapes(pieces):
    """A stand-in for the classifier: one log-score per piece, highest for pieces shaped like
    a digit (w/h near 0.7) or a 1 (a bar one pen stroke wide)."""
    return [0.0 if p.shape[1] <= STROKE + 1 else -4.0 * abs(p.shape[1] / p.shape[0] - 0.7) for p in pieces]


class RowReaderSaying:
    """A stand-in for a row reader (tinycnn.rows) of 28x112 rows: its forward gives these logits
    (22, 11) for every row, as (N, 1, 22, 11); its layers are row_cnn's, so its columns lie where a real one's do."""

    input_shape = (28, 112, 1)
    layers = row_cnn().layers

    def __init__(self, logits):
        self.logits = np.asarray(logits, dtype=float)

    def forward(self, x):
        return np.repeat(self.logits[None, None], len(x), axis=0)


class FineRowReaderSaying(RowReaderSaying):
    """RowReaderSaying for a row reader in columns 2 px apart (row_cnn(column_px=2)): logits (47, 11)."""

    layers = row_cnn(column_px=2).layers


def sideways_jpeg(path, stored):
    """Save the PIL image `stored` as a JPEG whose EXIF says: turn it a quarter turn clockwise to view."""
    exif = stored.getexif()
    exif[0x0112] = 6  # Orientation: the camera was turned; rotate 90 degrees clockwise to view
    stored.save(path, exif=exif, quality=95)


def saying(columns, sureness=8.0):
    """Row-reader logits (columns, 11) whose columns say `columns` (a digit, or 10 for blank), `sureness` apart."""
    return sureness * np.eye(11)[columns]


class ClassifierSaying:
    """A stand-in for the reading model: its predict gives these 11 probabilities for every image."""

    def __init__(self, probs):
        self.probs = np.asarray(probs, dtype=float)

    def predict(self, x):
        return np.repeat(self.probs[None], len(x), axis=0)


def sure_of(label):
    """Reading-model probabilities (11,) that are 0.99 sure of `label`."""
    probs = np.full(11, 0.001)
    probs[label] = 1 - 0.001 * 10
    return probs
