"""Tests for tinycnn.threshold: gray image -> ink mask, on small drawn images."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from drawing import assert_finds, iou, render
from tinycnn import segment as seg
from tinycnn import threshold


def test_otsu_threshold_splits_a_bimodal_image():
    rng = np.random.default_rng(0)
    gray = np.where(rng.random((60, 60)) < 0.3, 0.2, 0.8) + rng.normal(0, 0.03, (60, 60))
    t = threshold.otsu_threshold(gray)
    assert 0.3 < t < 0.7
    assert ((gray < t) == (gray < 0.5)).all()


def test_otsu_threshold_of_a_constant_image_is_its_value():
    assert threshold.otsu_threshold(np.full((5, 5), 0.4)) == pytest.approx(0.4)


def test_otsu_threshold_of_a_nearly_constant_image():
    gray = np.array([[6e-8, 0.0, 0.0]], dtype=np.float32)  # found by hypothesis: float32 bins failed
    assert 0.0 <= threshold.otsu_threshold(gray) <= 6e-8
    assert seg.segment(gray).segments == []


def test_polarity_dark_on_light_and_light_on_dark_give_the_same_mask():
    gray, _ = render("1704")
    dark_ink = threshold.binarize(gray)
    assert dark_ink.mean() < 0.2 and dark_ink[gray < 0.5].all()
    assert (threshold.binarize(1.0 - gray) == dark_ink).all()
    assert threshold.ink_is_light(1.0 - gray) and not threshold.ink_is_light(gray)


def test_blank_paper_has_no_ink():
    rng = np.random.default_rng(1)
    paper = 0.9 + rng.normal(0, 0.01, (80, 120))
    assert not threshold.binarize(paper).any()
    assert seg.segment(paper).segments == []


def _badly_lit(gray):
    """Light falling off from left to right, and a hard-edged shadow over the lower right."""
    h, w = gray.shape
    light = np.tile(np.linspace(1.0, 0.55, w), (h, 1))
    light[h // 2 :, w // 2 :] *= 0.5
    return (gray * light).astype(np.float32)


def test_adaptive_threshold_handles_a_gradient_and_a_shadow():
    gray, _ = render("1704\n4071")
    truth = gray < 0.5
    lit = _badly_lit(gray)
    assert iou(threshold.binarize(lit, "otsu"), truth) < 0.5  # a global threshold fails...
    adaptive = threshold.binarize(lit, "adaptive")
    assert iou(adaptive, truth) > 0.9  # ...dividing out the lighting works
    assert (threshold.binarize(lit, "auto") == adaptive).all()


def test_the_black_of_a_hard_shadow_at_the_edge_is_not_ink():
    gray, _ = render("1704", origin=(80, 30))
    photo = gray * 0.75
    photo[:, :40] = 0.05  # the near-black of a hard shadow along the left edge, wider than half the window
    photo = ndi.uniform_filter(photo, 3) + np.random.default_rng(0).normal(0, 0.01, photo.shape)
    ink = threshold.binarize(photo.astype(np.float32), "adaptive")
    assert ink[:, :38].sum() < 50  # noise in the dark, magnified by dividing by the paper, is not ink (657 were)
    assert (ink & (gray < 0.5)).sum() > 0.99 * (gray < 0.5).sum()  # the digits are


def test_auto_uses_otsu_on_evenly_lit_paper():
    gray, _ = render("1704")
    assert not threshold.lighting_is_uneven(threshold.paper_background(gray))
    assert (threshold.binarize(gray, "auto") == threshold.binarize(gray, "otsu")).all()


def test_binarize_rejects_an_unknown_method():
    with pytest.raises(ValueError, match="method"):
        threshold.binarize(np.zeros((4, 4)), "sauvola")


def test_a_noisy_photo_is_median_filtered_but_a_clean_one_is_not():
    clean, boxes = render("1704")
    rng = np.random.default_rng(3)
    noisy = np.clip(clean + rng.normal(0, 0.08, clean.shape), 0, 1).astype(np.float32)
    hits = rng.random(clean.shape) < 0.003
    noisy[hits] = rng.integers(0, 2, hits.sum())  # salt and pepper
    assert threshold.noise_level(clean) < threshold.NOISY < threshold.noise_level(noisy)
    assert threshold.denoise(clean) is clean  # a 1-px hairline would not survive a median filter
    assert_finds(seg.segment(noisy), boxes)


def test_broken_chalk_strokes_are_joined():
    gray, boxes = render("1704")
    board = 1.0 - gray  # light strokes on a dark board...
    board[:, ::4] = 0.0  # ...broken every 4 columns, as chalk grains break them
    assert len(seg.components(threshold.binarize(board))[1]) > 20
    assert_finds(seg.segment(board), boxes)
