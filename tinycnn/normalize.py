"""Turn one digit crop into a 28x28 MNIST-style image: the third step of reading digits.

    image file -> imageio -> segment -> normalize -> model
                  (gray)     (digit boxes, lines)  (28x28 MNIST-style)

A network trained on MNIST expects its input prepared the way MNIST was:

* a white digit on black, values in [0, 1];
* scaled, keeping its aspect ratio, until its longer side is 20 px, with
  antialiasing (grey edges);
* placed in a 28x28 field with its centre of mass at the centre.

Photos add one difference MNIST never had: the pen. A biro photographed at
high resolution gives hairlines, a marker gives fat strokes. So before scaling
we redraw the strokes at MNIST's width, about 2.5 px in the 20-px box
(`normalize_stroke=False` turns this off):

    >>> stroke = np.eye(50, dtype=bool)  # a thin diagonal line, True = ink
    >>> image = to_mnist(stroke)
    >>> image.shape, image.dtype, float(image.max())
    ((28, 28), dtype('float32'), 1.0)
"""

import math

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from .imageio import load_grayscale
from .segment import Segment
from .threshold import binarize

MNIST_SIZE = 28  # the field
DIGIT_SIZE = 20  # MNIST scaled each digit to fit a 20x20 box
# Measured on the MNIST test set: the mean centre of mass is (14.0, 14.0) in
# pixel indices (0..27), with a spread of 0.3 px.
MNIST_CENTRE = 14.0
# Measured on the MNIST test set: strokes (pixels > 0.5) are 2.5 px wide
# (median) in the 20-px box, i.e. 1/8 of the digit's longer side.
MNIST_STROKE = 2.5


# Measured on 10,000 MNIST training digits: the median slant (see `slant`) is -0.125, the
# tops leaning right by about 7 degrees. Single digits spread widely (10th-90th percentile
# -0.49 to 0.22: a 7 or a 4 leans by its shape), so the reader compares a line's median.
MNIST_SLANT = -0.125


def to_mnist(crop, normalize_stroke=True):
    """One digit -> (28, 28) float32 in [0, 1], white on black, centred like MNIST.

    crop: a bool mask (h, w) with True = ink, a Segment, or a grayscale or
        colour crop of either polarity (it is binarized with Otsu's threshold).
    normalize_stroke: redraw the strokes at MNIST's width before scaling.
    An empty crop gives an all-black image.
    """
    mask = _as_mask(crop)
    if not mask.any():
        return np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.float32)
    mask = _crop_to_ink(mask)
    if normalize_stroke:
        target = MNIST_STROKE / DIGIT_SIZE * max(mask.shape)  # in this crop's pixels
        mask = _crop_to_ink(set_stroke_width(mask, target))
    digit = _resize_longest_side(mask.astype(np.float32), DIGIT_SIZE)
    return _place_by_centre_of_mass(digit)


def batch_to_mnist(crops, normalize_stroke=True):
    """A list of crops (see to_mnist) -> (N, 28, 28, 1) float32, ready for the model."""
    images = [to_mnist(crop, normalize_stroke) for crop in crops]
    if not images:
        return np.zeros((0, MNIST_SIZE, MNIST_SIZE, 1), dtype=np.float32)
    return np.stack(images)[..., np.newaxis]


def stroke_width(mask):
    """Typical pen width in pixels of the ink in mask (h, w) bool.

    Across a stroke w pixels wide the distance to the paper runs 1, 2, ..., 2, 1,
    whose mean is about w/4 + 1/2, so w ~ 4 * (mean distance - 1/2). It reads
    2 for a 1-px hairline, whose every pixel touches the paper.
    """
    distance = ndi.distance_transform_edt(np.pad(mask, 1))  # the pad makes the crop's edge paper
    return float(4.0 * (distance[np.pad(mask, 1)].mean() - 0.5))


def set_stroke_width(mask, width):
    """Thicken or thin the strokes of mask (h, w) bool to about `width` px.

    Adding r px on each side is a dilation by a disc of radius r: every pixel
    within r of the ink. Thinning keeps the pixels more than r from the paper;
    a stroke thinner than 2r would vanish, so if nothing is left the mask is
    returned as it was. Returns a bool mask, padded by the growth.
    """
    change = (width - stroke_width(mask)) / 2  # pixels to add on each side
    pad = max(1, math.ceil(change) + 1)
    mask = np.pad(mask, pad)
    if change > 0:
        return ndi.distance_transform_edt(~mask) <= change
    thinner = ndi.distance_transform_edt(mask) > -change
    return thinner if thinner.any() else mask


def slant(mask):
    """How far the ink of mask (h, w) bool leans: the columns it moves per row down, from
    its second moments (mu11 / mu02). Negative: the top leans right, as in italics."""
    rows, cols = np.nonzero(mask)
    rows, cols = rows - rows.mean(), cols - cols.mean()
    return float((rows * cols).mean() / max((rows * rows).mean(), 1e-9))


def shear(mask, amount):
    """mask (h, w) bool sheared so that its `slant` changes by -amount: (h, w + padding) bool.

    Row r moves sideways by amount * (r - h/2) columns, so the middle row stays put."""
    height = mask.shape[0]
    pad = math.ceil(abs(amount) * height / 2) + 1
    wide = np.pad(mask, ((0, 0), (pad, pad))).astype(np.float32)
    # out[r, c] = wide[r, c + amount * (r - h/2)]
    out = ndi.affine_transform(wide, [[1, 0], [amount, 1]], offset=[0, -amount * height / 2], order=1) > 0.5
    return out if out.any() else mask


def _as_mask(crop):
    """Any accepted crop -> (h, w) bool, True = ink."""
    if isinstance(crop, Segment):
        return crop.mask
    array = np.asarray(crop)
    if array.dtype == bool:
        return array
    return binarize(load_grayscale(array), method="otsu")


def _crop_to_ink(mask):
    """The bounding box of the True pixels of a non-empty mask."""
    return mask[ndi.find_objects(mask.astype(np.int8))[0]]


def _resize_longest_side(image, size):
    """(h, w) float -> scaled so max(h, w) == size, aspect kept (see `scaled`)."""
    return scaled(image, size / max(image.shape))


def scaled(image, scale):
    """(h, w) float -> scaled `scale` times both ways (at least 1 px), antialiased, clipped to [0, 1].

    Lanczos resampling in Pillow widens its filter when shrinking, so it
    antialiases; its slight ringing is clipped away.
    """
    h, w = image.shape
    new_size = (max(1, round(w * scale)), max(1, round(h * scale)))  # Pillow wants (width, height)
    resized = Image.fromarray(np.asarray(image, dtype=np.float32)).resize(new_size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def _place_by_centre_of_mass(digit):
    """Paste digit (h, w), h, w <= 20, into a 28x28 field with its centre of mass nearest MNIST_CENTRE.

    The shift is whole pixels (no blur) and never pushes the digit off the field.
    """
    field = np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.float32)
    h, w = digit.shape
    cy, cx = ndi.center_of_mass(digit)
    top = int(np.clip(round(MNIST_CENTRE - cy), 0, MNIST_SIZE - h))
    left = int(np.clip(round(MNIST_CENTRE - cx), 0, MNIST_SIZE - w))
    field[top : top + h, left : left + w] = digit
    return field
