"""Tests for tinycnn.normalize: a digit crop -> 28x28 MNIST-style input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

from tinycnn import normalize as nz
from tinycnn.segment import Segment


def drawn(shape="7", height=120, stroke=6):
    """A digit-like bool mask (height, 0.7 * height) drawn with PIL, True = ink."""
    width = int(0.7 * height)
    image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(image)
    m = stroke  # keep the strokes inside the canvas
    if shape == "7":
        draw.line((m, m, width - m, m), fill=255, width=stroke)
        draw.line((width - m, m, width // 3, height - m), fill=255, width=stroke)
    elif shape == "0":
        draw.ellipse((m, m, width - m, height - m), outline=255, width=stroke)
    elif shape == "L":
        draw.line((m, m, m, height - m), fill=255, width=stroke)
        draw.line((m, height - m, width - m, height - m), fill=255, width=stroke)
    return np.asarray(image) > 127


def test_output_is_28x28_float32_in_0_1_white_on_black():
    out = nz.to_mnist(drawn("0"))
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert out.max() > 0.9  # white ink...
    assert out[0].max() == 0 and out[:, 0].max() == 0  # ...on black


@pytest.mark.parametrize("shape", ["7", "0", "L"])
@pytest.mark.parametrize("normalize_stroke", [True, False])
def test_centre_of_mass_is_at_the_centre(shape, normalize_stroke):
    cy, cx = ndi.center_of_mass(nz.to_mnist(drawn(shape), normalize_stroke=normalize_stroke))
    assert abs(cy - nz.MNIST_CENTRE) <= 1.0 and abs(cx - nz.MNIST_CENTRE) <= 1.0


@pytest.mark.parametrize("size", [(100, 10), (10, 100), (7, 3)])
def test_longest_side_becomes_20_px_and_the_aspect_is_kept(size):
    bar = np.ones(size, dtype=bool)
    out = nz.to_mnist(bar, normalize_stroke=False)
    rows, cols = np.nonzero(out > 0.5)
    h, w = np.ptp(rows) + 1, np.ptp(cols) + 1
    assert max(h, w) == nz.DIGIT_SIZE
    assert min(h, w) == pytest.approx(nz.DIGIT_SIZE * min(size) / max(size), abs=1)


def test_the_margin_around_the_ink_is_ignored():
    mask = drawn("7")
    padded = np.pad(mask, ((50, 5), (3, 80)))
    assert np.allclose(nz.to_mnist(mask), nz.to_mnist(padded))


def test_gray_crops_of_either_polarity_match_the_mask():
    mask = drawn("0")
    dark_on_light = np.where(mask, 0.1, 0.9).astype(np.float32)
    light_on_dark = (np.where(mask, 230, 20)).astype(np.uint8)
    expected = nz.to_mnist(mask)
    assert np.allclose(nz.to_mnist(dark_on_light), expected)
    assert np.allclose(nz.to_mnist(light_on_dark), expected)


def test_an_empty_crop_gives_a_black_image():
    assert not nz.to_mnist(np.zeros((10, 10), dtype=bool)).any()
    assert not nz.to_mnist(np.full((10, 10), 0.7)).any()  # blank paper


@pytest.mark.parametrize("width", [3, 5, 7, 11])
def test_stroke_width_of_straight_strokes(width):
    stroke = np.zeros((80, 40), dtype=bool)
    stroke[10:70, 20 - width // 2 : 20 - width // 2 + width] = True
    assert nz.stroke_width(stroke) == pytest.approx(width, abs=1.0)


def test_set_stroke_width_thickens_and_thins():
    for start, target in [(2, 9), (12, 5)]:
        mask = drawn("0", stroke=start)
        changed = nz.set_stroke_width(mask, target)
        assert nz.stroke_width(changed) == pytest.approx(target, abs=1.5)


def test_stroke_normalisation_evens_out_thin_and_thick_pens():
    thin, thick = drawn("7", stroke=1), drawn("7", stroke=6)
    raw = [nz.to_mnist(m, normalize_stroke=False).sum() for m in (thin, thick)]
    fixed = [nz.to_mnist(m).sum() for m in (thin, thick)]
    assert raw[1] > 2 * raw[0]  # without it, the 6-px pen gives far more ink
    assert fixed[1] == pytest.approx(fixed[0], rel=0.2)


def test_ink_mass_is_like_mnist():
    # The median MNIST test digit has an ink mass (sum of pixels) of about 93.
    for mask in (drawn("0", stroke=2), drawn("7", stroke=14), drawn("L", stroke=30)):
        assert 50 < nz.to_mnist(mask).sum() < 140


def test_batch_to_mnist_stacks_channels_last():
    mask = drawn("7")
    segment = Segment(box=(0, 0, mask.shape[1], mask.shape[0]), mask=mask, line=0)
    batch = nz.batch_to_mnist([mask, drawn("0"), segment])
    assert batch.shape == (3, 28, 28, 1) and batch.dtype == np.float32
    assert np.array_equal(batch[0, :, :, 0], nz.to_mnist(mask))
    assert np.array_equal(batch[2], batch[0])
    assert nz.batch_to_mnist([]).shape == (0, 28, 28, 1)


@settings(max_examples=40, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 40), st.integers(1, 40))), st.booleans())
def test_any_mask_gives_a_valid_image(mask, normalize_stroke):
    out = nz.to_mnist(mask, normalize_stroke=normalize_stroke)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert out.any() == mask.any()


def test_slant_measures_the_lean_and_shear_removes_it():
    bar = np.zeros((40, 40), dtype=bool)
    for row in range(40):  # a stroke whose top leans right: one column per two rows
        bar[row, 30 - row // 2 : 33 - row // 2] = True
    assert nz.slant(bar) == pytest.approx(-0.5, abs=0.05)
    upright = nz.shear(bar, nz.slant(bar))
    assert abs(nz.slant(upright)) < 0.05
    assert upright.sum() == pytest.approx(bar.sum(), rel=0.1)  # the same ink, moved
    assert nz.slant(np.eye(30, dtype=bool)) == pytest.approx(1.0)  # top leaning left
