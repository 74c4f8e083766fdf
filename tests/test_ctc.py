"""CTC (tinycnn/ctc.py): the likelihood against a sum over every path, its gradient against a
numerical one, and the best-path reading."""

import itertools

import numpy as np
import pytest

from tinycnn import ctc
from tinycnn.gradcheck import numerical_gradient, relative_error


def _says(path):
    """The digits a path of symbols says: repeats merged, blanks dropped."""
    return [symbol for k, symbol in enumerate(path) if symbol != ctc.BLANK and (k == 0 or path[k - 1] != symbol)]


@pytest.mark.parametrize("labels", [[3, 3], [1, 2], [4], []])
def test_likelihood_is_the_sum_over_every_path_that_says_the_labels(labels):
    steps = 4
    logits = np.random.default_rng(len(labels)).normal(size=(1, steps, ctc.BLANK + 1))
    log_y = logits[0] - np.log(np.exp(logits[0]).sum(axis=-1, keepdims=True))
    total = -np.inf
    for path in itertools.product(range(ctc.BLANK + 1), repeat=steps):
        if _says(list(path)) == labels:
            total = np.logaddexp(total, sum(log_y[t, symbol] for t, symbol in enumerate(path)))
    assert ctc.log_likelihood(logits, [labels])[0] == pytest.approx(total, abs=1e-9)


def test_loss_gradient_matches_the_numerical_gradient():
    logits = np.random.default_rng(0).normal(size=(3, 6, ctc.BLANK + 1))
    labels = [[7, 7, 1], [0], [2, 5]]
    _, grad = ctc.ctc_loss(logits, labels)
    numerical = numerical_gradient(lambda: ctc.ctc_loss(logits, labels)[0], logits)
    assert relative_error(grad, numerical) < 1e-7


def test_a_repeated_digit_needs_a_blank_between():
    logits = np.zeros((1, 2, ctc.BLANK + 1))
    assert ctc.log_likelihood(logits, [[4, 4]])[0] == -np.inf  # "44" needs three columns: 4, blank, 4
    with pytest.raises(ValueError, match="longer"):
        ctc.log_likelihood(logits, [[1, 2, 3]])


def test_best_path_merges_repeats_drops_blanks_and_says_where_each_digit_is():
    columns = [3, 3, ctc.BLANK, 3, 5, ctc.BLANK]
    logits = 5.0 * np.eye(ctc.BLANK + 1)[columns][None]
    assert ctc.best_path(logits) == [[(3, 0, 1), (3, 3, 3), (5, 4, 4)]]
