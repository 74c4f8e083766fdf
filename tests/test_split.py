"""The split search (tinycnn/split.py) on small drawn blobs: where cuts start and run, what the
priors say of a piece, and which cut wins with a stand-in for the classifier."""

import numpy as np
import pytest

from drawing import H, prefers_digit_shapes, render
from tinycnn import split, threshold


def _touching_zeros():
    """Two 0s drawn so that they touch: one blob."""
    gray, _ = render("00", spacing=-4)
    mask = threshold.binarize(gray)
    return mask[split._ink_slices(mask)]


def test_candidate_cuts_find_where_two_zeros_touch():
    mask = _touching_zeros()
    touch = mask.shape[1] // 2
    cuts = split.candidate_cuts(mask)
    assert any(abs(x - touch) <= 3 for x in cuts)
    assert all(1 <= x < mask.shape[1] - 1 for x in cuts)


def test_best_option_says_by_how_much_it_beat_the_next_number_of_pieces():
    paths = {1: (-3.0, ["whole"]), 2: (-1.0, ["a", "b"]), 3: (-1.5, ["a", "b", "c"])}
    assert split.best_option(paths) == (["a", "b"], 0.5)
    assert split.best_option({1: (-2.0, ["whole"])}) == (["whole"], None)


def test_split_blob_keeps_the_split_the_scorer_likes():
    mask = _touching_zeros()
    assert split.looks_like_several(mask.shape[1], mask.shape[0], typical_width=mask.shape[0] * 0.6)
    pieces = split.split_blob(mask, score_fn=prefers_digit_shapes)
    assert len(pieces) == 2
    assert abs(pieces[0].shape[1] - pieces[1].shape[1]) <= 4
    calls = []
    split.split_blob(mask, score_fn=lambda pieces: calls.append(pieces) or [0.0] * len(pieces))
    assert len(calls) == 1  # every candidate piece is scored in one batch
    widths = [p.shape[1] for p in calls[0]]
    assert max(widths) == mask.shape[1] and min(widths) < mask.shape[1] // 2  # the whole blob was a candidate too
    whole_only = lambda pieces: [0.0 if p.shape == mask.shape else -10.0 for p in pieces]  # noqa: E731
    assert len(split.split_blob(mask, score_fn=whole_only)) == 1


def test_split_blob_without_a_scorer_cuts_by_width():
    mask = _touching_zeros()
    assert len(split.split_blob(mask)) == 2
    assert len(split.split_blob(mask, n=3)) == 3


def test_a_single_digit_is_not_flagged_as_several():
    gray, _ = render("4")
    mask = threshold.binarize(gray)
    h, w = mask[split._ink_slices(mask)].shape
    assert not split.looks_like_several(w, h)


def test_typical_width_ignores_ones_and_touching_pairs():
    assert split.typical_digit_width([6, 24, 26, 60], line_height=40) == 25  # not the 1 (6) or the pair (60)
    assert split.typical_digit_width([6, 60], line_height=40) == pytest.approx(split.DIGIT_ASPECT * 40)


@pytest.mark.parametrize("width, step", [(1.4, split.GRID_STEP), (2.5, split.FINE_GRID_STEP)])
def test_cut_positions_lie_on_a_finer_grid_in_blobs_wider_than_a_digit(width, step):
    mask = np.ones((50, round(width * 50)), bool)  # evenly inked: no valleys, the grid alone
    positions = split.cut_positions(mask, digit_height=50)
    assert np.median(np.diff(positions)) == pytest.approx(step * 50, abs=1)


def test_cut_path_steps_round_ink_close_to_its_way():
    gap = 11 - np.arange(21) // 7  # two leaning digits: the paper between them runs from column 11 to 9
    mask = np.arange(20) != gap[:, None]
    path = split.cut_path(mask, x=10, reach=5)
    assert not mask[np.arange(21), path].any()  # a straight cut at 10 would cross 14 rows of ink
    assert (np.abs(np.diff(path)) <= 1).all()


def test_cut_path_does_not_wander_far_to_save_a_few_ink_pixels():
    mask = np.zeros((30, 40), dtype=bool)
    mask[10:20, 14:27] = True  # a stroke 10 px thick across the cut's way, 7 columns either side of it
    path = split.cut_path(mask, x=20, reach=15)
    assert np.abs(path - 20).max() <= 1  # it crosses the 10 px rather than drift 7 columns for 10 rows and more


def test_clean_piece_drops_the_crumbs_of_a_neighbour():
    piece = np.zeros((20, 12), dtype=bool)
    piece[:, 4:8] = True  # the digit
    piece[:3, 10:] = True  # a sliver of the next digit, cut off by the cut
    assert (split.clean_piece(piece) == (piece & (np.arange(12) < 10))).all()


def test_width_prior_prefers_pieces_one_digit_wide_and_leaves_ones_to_the_classifier():
    typical = 0.6 * H
    one_digit, two, three = (split.width_prior(k * typical, typical, H) for k in (1, 2, 3))
    assert one_digit == 0.0 and one_digit > two > three
    assert split.width_prior(0.45 * H, 0.9 * H, H) < 0.0  # half a wide digit
    assert split.width_prior(0.2 * H, typical, H) == 0.0  # narrow enough to be a 1


def test_height_prior_leaves_digit_sized_pieces_alone_and_makes_short_ones_pay():
    assert split.height_prior(H, H) == split.height_prior(split.SHORT_PIECE * H, H) == 0.0
    assert 0.0 > split.height_prior(0.5 * H, H) > split.height_prior(0.3 * H, H)


def test_the_split_search_does_not_cut_a_short_part_off_a_digit():
    # A 6-like blob: a tall stroke on the left and a small loop low on its right, 0.3 line heights tall.
    mask = np.zeros((H, round(0.7 * H)), bool)
    mask[:, :4] = True
    mask[-round(0.3 * H):, 4:] = True

    def fooled_by_parts(pieces):  # a stand-in classifier that doubts the whole and likes any part
        return [np.log(0.3) if p.shape[1] > 0.5 * H else np.log(0.95) for p in pieces]

    assert len(split.split_blob(mask, score_fn=fooled_by_parts, digit_height=H)) == 1
    tall = mask.copy()
    tall[:, -4:] = True  # the same with a full-height stroke on the right: two digits, cut apart
    assert len(split.split_blob(tall, score_fn=fooled_by_parts, digit_height=H)) == 2


def test_a_long_run_of_touching_digits_is_split_in_one_scoring_call():
    gray, _ = render("00000", spacing=-2)  # one blob of five touching zeros, each 0.6 heights wide
    mask = threshold.binarize(gray)
    mask = mask[split._ink_slices(mask)]
    calls = []

    def knows_these_zeros(pieces):  # a stand-in classifier that has seen zeros this narrow
        calls.append(len(pieces))
        return [-4.0 * abs(p.shape[1] / p.shape[0] - 0.6) for p in pieces]

    pieces = split.split_blob(mask, score_fn=knows_these_zeros, digit_height=H, typical_width=0.6 * H)
    assert len(pieces) == 5 and len(calls) == 1
    assert all(0.45 * H <= p.shape[1] <= 0.85 * H for p in pieces)  # about one zero each: no halves, no pairs
