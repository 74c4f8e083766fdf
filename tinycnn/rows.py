"""The row reader: a blob of touching digits read whole, without cutting it.

The split search (split.py) cuts a blob of touching digits into pieces and reads
each; where digits overlap, no cut leaves both whole, and a 1 crossing its
neighbour is swallowed by it. The row reader reads the blob as it is: the
paper's three convolutions slide along the row, and each of the 22 output
columns says which digit it sees, or "blank"; CTC (tinycnn.ctc) turns the
columns into digits, and trains them from the digit string alone.

    (28, 112, 1) -conv 3x3x32-> (26, 110, 32) -pool-> (13, 55, 32) -conv 3x3x64-> (11, 53, 64)
    -pool-> (5, 26, 64) -conv 3x3x64-> (3, 24, 64) -conv 3x3x256-> (1, 22, 256)
    -conv 1x3x128-> (1, 22, 128) -conv 1x3x128-> (1, 22, 128) -conv 1x1x11-> (1, 22, 11)

The fourth convolution spans the row's height and three columns: like the
paper's dense layer over its 3x3x64 map, it sees about one digit (column t of
the output is centred on input column 4t + 12.5, see `column_geometry`). The
two 1x3 convolutions after it (zero-padded at the ends) let each column see the
features of the two columns either side too (8 px further each way, 42 px in
all): where digits overlap, what the next digit is tells which strokes belong
to this one.

The blob is scaled to 20 px tall (MNIST's box), strokes at MNIST's width, and
placed at the left of a 28x112 row: up to about six digits fit. A wider row
(`row_cnn(width=144)`: 30 columns, about eight digits) takes the same layers;
the reader reads every blob with the seven networks it ships (see read.ROW_MODELS
and read.read_again). `row_cnn(column_px=2)` reads in columns 2 px apart (47
in a 28x112 row): its second pooling halves the height only, and the fourth
convolution and the two after it span five columns instead of three, the same
stretch of row. Three of the seven are such networks.
scripts/train_row_reader.py trains them on rows of augmented MNIST training
digits run together (augment.touching_row), starting from the reading model's
three convolutions (`take_convolutions`).
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from . import ctc
from .layers import Conv2D, MaxPool2D
from .losses import log_softmax
from .model import Sequential
from .normalize import DIGIT_SIZE, MNIST_STROKE, scaled, set_stroke_width

ROW_HEIGHT, ROW_WIDTH, WIDE_ROW = 28, 112, 144
LEFT = 4  # the row starts 4 px in, as MNIST leaves 4 px round its 20-px box


def row_cnn(seed=None, width=ROW_WIDTH, column_px=4):
    """The row reader's network for rows `width` px wide, 352,587 parameters (the same for any width);
    its output (N, 1, 22, 11) are logits (30 columns for 144 px: one per 4 px of row).
    column_px=2: a column per 2 px of row (47 for 112 px), 549,195 parameters."""
    if column_px not in (2, 4):
        raise ValueError(f"row_cnn: column_px must be 2 or 4, got {column_px!r}")
    near = 3 if column_px == 4 else 5  # columns the fourth convolution and the two after it span
    return Sequential([
        Conv2D(32, 3, activation="relu", input_shape=(ROW_HEIGHT, width, 1)),
        MaxPool2D(2),
        Conv2D(64, 3, activation="relu"),
        MaxPool2D((2, column_px // 2)),
        Conv2D(64, 3, activation="relu"),
        Conv2D(256, (3, near), activation="relu"),
        Conv2D(128, (1, near), padding="same", activation="relu"),
        Conv2D(128, (1, near), padding="same", activation="relu"),
        Conv2D(ctc.BLANK + 1, 1),
    ], name="row_reader", seed=seed)


def column_geometry(model):
    """(px of row between output columns, the row column under output column 0's centre) of a row reader:
    (4, 12.5) for row_cnn(), (2, 9.5) for row_cnn(column_px=2). Each valid convolution k wide moves the
    centre (k - 1) / 2 steps on; each pooling p wide moves it (p - 1) / 2 steps and makes the steps p times longer."""
    step, centre = 1, 0.0
    for layer in model.layers:
        if isinstance(layer, Conv2D) and layer.padding == "valid":
            centre += (layer.kernel_size[1] - 1) / 2 * step
        elif isinstance(layer, MaxPool2D):
            centre += (layer.pool_size[1] - 1) / 2 * step
            step *= layer.pool_size[1]
    return step, centre


def take_convolutions(row_model, reader):
    """Copy a trained reading model's three convolutions into the row reader's first three, in place.

    Both slide the same paper convolutions over a digit 20 px tall; the reading model's
    already know strokes and digit parts, so CTC training need not find them again (on
    30,000 rows and 3 epochs: 52.6% of held-aside rows read exactly, against 41.4% from
    random weights)."""
    theirs = [layer for layer in reader.layers if isinstance(layer, Conv2D)][:3]
    mine = [layer for layer in row_model.layers if isinstance(layer, Conv2D)][:3]
    if len(theirs) < 3 or any(a.params["kernel"].shape != b.params["kernel"].shape for a, b in zip(theirs, mine)):
        raise ValueError("the reading model does not start with the row reader's three convolutions")
    for a, b in zip(theirs, mine):
        for key in b.params:
            b.params[key][...] = a.params[key]


def row_input(mask, row_width=ROW_WIDTH):
    """A blob (h, w) bool -> ((28, row_width) float32 in [0, 1], scale, origin): its strokes redrawn at
    MNIST's width, cropped to the ink, 20 px tall (or less, if it is too wide for the row), 4 px
    from the left and centred in height. Blob column x lands on row column LEFT + (x - origin) * scale."""
    rows, cols = ndi.find_objects(mask.astype(np.int8))[0]
    restroked = set_stroke_width(mask[rows, cols], MNIST_STROKE / DIGIT_SIZE * (rows.stop - rows.start))
    pad = (restroked.shape[0] - (rows.stop - rows.start)) // 2  # set_stroke_width pads alike on every side
    ink_rows, ink_cols = ndi.find_objects(restroked.astype(np.int8))[0]
    mask = restroked[ink_rows, ink_cols]
    height, width = mask.shape
    scale = min(DIGIT_SIZE / height, (row_width - 2 * LEFT) / width)
    ink = scaled(mask.astype(np.float32), scale)
    row = np.zeros((ROW_HEIGHT, row_width), dtype=np.float32)
    top = (ROW_HEIGHT - ink.shape[0]) // 2
    row[top:top + ink.shape[0], LEFT:LEFT + ink.shape[1]] = ink
    return row, scale, cols.start + ink_cols.start - pad


def logits_of(model, rows):
    """rows (N, 28, W) -> the row reader's logits (N, (W - 24) / 4, 11)."""
    return model.forward(np.asarray(rows, dtype=np.float32)[..., None])[:, 0]


@dataclass
class RowDigit:
    """One digit the row reader found: its label, how sure its columns were, and where it lies."""

    label: int
    prob: float  # the label's probability in the column that says it most surely
    alternatives: list  # [(label, prob)] in that column, most likely first
    left: float  # its extent in the blob's columns
    right: float


def read_rows(models, mask):
    """read_row by each of `models`, the blob made into a row once for each width they take."""
    prepared = {width: row_input(mask, width) for width in {model.input_shape[1] for model in models}}
    return [read_row(model, mask, prepared[model.input_shape[1]]) for model in models]


def read_row(model, mask, prepared=None):
    """A row reader's reading of a blob (h, w) bool: (list of RowDigit, logits (columns, 11)), in a
    row as wide as the network takes (prepared: `row_input` for that width, if already made).

    Each digit's extent runs half way to its neighbours' centres (the blob's edges
    at the ends); a centre is the middle of the columns that say it."""
    row, scale, origin = row_input(mask, model.input_shape[1]) if prepared is None else prepared
    logits = logits_of(model, row[None])[0]
    probs = np.exp(log_softmax(logits))
    found = ctc.best_path(logits[None])[0]
    step, first_centre = column_geometry(model)
    centres = [origin + (step * (first + last) / 2 + first_centre - LEFT) / scale for _, first, last in found]
    bounds = [0.0] + [float(np.clip((a + b) / 2, 0, mask.shape[1])) for a, b in zip(centres, centres[1:])]
    bounds.append(float(mask.shape[1]))
    digits = []
    for (label, first, last), left, right in zip(found, bounds, bounds[1:]):
        column = first + int(np.argmax(probs[first:last + 1, label]))
        ranked = [int(k) for k in np.argsort(probs[column, :ctc.BLANK])[::-1]]
        digits.append(RowDigit(label, float(probs[column, label]),
                               [(k, float(probs[column, k])) for k in ranked if k != label][:3], left, right))
    return digits, logits
