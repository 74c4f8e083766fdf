import numpy as np
import pytest

from tinycnn import augment


def bar_digit():
    """A 28x28 "1": a vertical bar of ink, uint8 like MNIST."""
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 12:16] = 255
    return digit


def test_augment_digit_gives_an_mnist_style_image_and_is_reproducible():
    a = augment.augment_digit(bar_digit(), 1, np.random.default_rng(3), neighbour=bar_digit())
    b = augment.augment_digit(bar_digit(), 1, np.random.default_rng(3), neighbour=bar_digit())
    assert a.shape == (28, 28) and a.dtype == np.float32
    assert 0 <= a.min() and a.max() <= 1 and a.max() > 0.5
    np.testing.assert_array_equal(a, b)


def test_touching_row_runs_the_digits_together_in_one_blob():
    from scipy import ndimage as ndi
    rng = np.random.default_rng(0)
    masks = [augment.digit_mask(bar_digit(), 1, rng, 40) for _ in range(3)]
    row = augment.touching_row(masks, rng)
    widths = [m.any(axis=0).sum() for m in masks]
    assert ndi.label(row, structure=np.ones((3, 3)))[1] == 1  # touching: one connected blob
    assert max(widths) < row.shape[1] < sum(widths) + 3  # side by side, overlapping at most a little
    assert row.sum() >= 0.9 * sum(m.sum() for m in masks)  # no digit hidden under another


def test_render_scales_to_the_requested_height():
    image = augment.render(bar_digit(), 56, np.random.default_rng(0))
    rows = np.flatnonzero((image > 0.5).any(axis=1))
    assert 36 <= rows[-1] - rows[0] + 1 <= 44  # the bar is 20/28 of the height


def test_affine_and_elastic_keep_the_ink():
    rng = np.random.default_rng(0)
    image = augment.render(bar_digit(), 60, rng)
    for transformed in (augment.random_affine(image, rng), augment.elastic(image, rng, alpha=4.0)):
        assert transformed.shape == image.shape
        assert transformed.sum() == pytest.approx(image.sum(), rel=0.2)


def test_elastic_with_zero_strength_is_the_identity():
    image = np.random.default_rng(0).random((30, 20))
    np.testing.assert_allclose(augment.elastic(image, np.random.default_rng(1), alpha=0.0), image, atol=1e-6)


def test_crossbar_is_added_to_a_seven_only():
    mask = np.zeros((60, 40), bool)
    mask[10:14, 5:35] = True            # the top bar of a 7
    mask[10:55, 30:34] = True           # its stem (drawn straight for the test)
    styled = augment.add_style(mask, 7, np.random.default_rng(0))
    assert styled.sum() > mask.sum()
    assert augment.add_style(mask, 3, np.random.default_rng(0)) is mask


def test_neighbour_bits_touch_the_digit():
    rng = np.random.default_rng(0)
    mask = augment.render(bar_digit(), 60, rng) > 0.5
    joined = augment.add_neighbour_bits(mask, mask, rng)
    from scipy import ndimage
    assert joined.sum() > mask.sum()
    assert ndimage.label(joined, structure=np.ones((3, 3)))[1] == 1  # one blob: the strip touches the digit


def test_thin_leaves_a_one_pixel_skeleton_that_keeps_the_shape_whole():
    ring = np.zeros((40, 40), bool)
    yy, xx = np.mgrid[:40, :40]
    ring[(14 <= np.hypot(yy - 20, xx - 20)) & (np.hypot(yy - 20, xx - 20) <= 18)] = True  # a 0 drawn 5 px wide
    skeleton = augment.thin(ring)
    from scipy import ndimage
    assert skeleton.sum() < ring.sum() / 3 and not (skeleton & ~ring).any()
    assert ndimage.label(skeleton, structure=np.ones((3, 3)))[1] == 1  # still one loop...
    assert ndimage.label(~skeleton)[1] == 2  # ...that still closes round its hole
    assert not ndimage.binary_erosion(skeleton, structure=np.ones((2, 2))).any()  # nowhere 2 px thick


@pytest.mark.parametrize("width", [0.05, 0.2])
def test_restroke_redraws_the_digit_with_an_even_pen_of_the_chosen_width(width):
    blotchy = np.zeros((60, 40), bool)
    blotchy[5:55, 17:23] = True   # a "1" 6 px wide...
    blotchy[20:35, 12:28] = True  # ...with a blot 16 px wide in the middle
    redrawn = augment.restroke(blotchy, np.random.default_rng(0), min_width=width, max_width=width)
    rows = np.flatnonzero(redrawn.any(axis=1))
    assert rows[-1] - rows[0] + 1 == pytest.approx(50, abs=width * 50 + 2)  # as tall as before
    widths = redrawn.sum(axis=1)
    stem = np.concatenate([widths[rows[0] + 3:rows[0] + 12], widths[rows[-1] - 12:rows[-1] - 3]])
    assert np.all(np.abs(stem - width * 50) <= 1.5)  # the stem drawn with the new pen
    blot = widths[27]
    # the blot stays (a 9 whose loop is filled in must not become a 7), shrunk if the pen is thinner
    assert stem.max() + 5 <= blot <= 16 - (4 if width * 50 < 6 else 0)


def test_side_by_side_puts_two_whole_digits_next_to_each_other():
    rng = np.random.default_rng(0)
    one = augment.render(bar_digit(), 60, rng) > 0.5
    for seed in range(10):
        pair = augment.side_by_side(one, one, np.random.default_rng(seed))
        rows, cols = np.flatnonzero(pair.any(axis=1)), np.flatnonzero(pair.any(axis=0))
        width, height = np.flatnonzero(one.any(axis=0)).size, np.flatnonzero(one.any(axis=1)).size
        # two bars side by side: overlapping by up to 12% of the height, or up to 6% apart
        assert 1.85 * width - 0.12 * height - 1 <= cols.size <= 2.15 * width + 0.06 * height + 1  # (heights differ by 15%)
        assert rows.size <= 1.3 * height  # not stacked


def test_not_a_digit_examples_are_valid_images():
    rng = np.random.default_rng(0)
    for _ in range(20):
        image = augment.not_a_digit([bar_digit()], rng)
        assert image.shape == (28, 28) and image.max() > 0


def test_font_digits_skips_missing_fonts():
    assert augment.font_digits(["/nonexistent/font.ttf"]) == []
