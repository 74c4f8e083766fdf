import numpy as np
import pytest

from tinycnn.gradcheck import numerical_gradient, relative_error
from tinycnn.layers import Softmax
from tinycnn.losses import SparseCategoricalCrossentropy, log_softmax


def test_fused_softmax_cross_entropy_gradient_matches_numerical():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    loss = SparseCategoricalCrossentropy()
    softmax = Softmax(dtype="float64")

    def f():
        return loss(labels, softmax.forward(logits))

    fused = loss.gradient_wrt_logits(labels, softmax.forward(logits))
    assert relative_error(fused, numerical_gradient(f, logits)) < 1e-6


def test_unfused_path_agrees_with_fused():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((6, 10))
    labels = rng.integers(0, 10, 6)
    loss = SparseCategoricalCrossentropy()
    softmax = Softmax(dtype="float64")
    probs = softmax.forward(logits)
    chained = softmax.backward(loss.gradient(labels, probs))
    np.testing.assert_allclose(chained, loss.gradient_wrt_logits(labels, probs), atol=1e-12)


def test_from_logits_gradient_matches_numerical():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((3, 5))
    labels = np.array([4, 0, 2])
    loss = SparseCategoricalCrossentropy(from_logits=True)
    grad = loss.gradient(labels, logits)
    assert relative_error(grad, numerical_gradient(lambda: loss(labels, logits), logits)) < 1e-6


def test_log_softmax_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0]])
    out = log_softmax(logits)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[0, :2], [0.0, -1000.0])
    assert SparseCategoricalCrossentropy(from_logits=True)(np.array([2]), logits) == pytest.approx(2000.0)


def test_softmax_is_stable_for_huge_logits():
    probs = Softmax().forward(np.array([[1e4, 0.0], [-1e4, 0.0]], dtype=np.float32))
    np.testing.assert_allclose(probs, [[1, 0], [0, 1]])


def test_loss_value_is_the_mean_negative_log_likelihood():
    probs = np.array([[0.5, 0.5], [0.1, 0.9]])
    expected = -(np.log(0.5) + np.log(0.9)) / 2
    assert SparseCategoricalCrossentropy()(np.array([0, 1]), probs) == pytest.approx(expected)


@pytest.mark.parametrize("labels, message", [
    (np.array([0.0, 1.0]), "labels must be a 1-D array of ints"),
    (np.array([0, 10]), r"labels must lie in \[0, 10\), got values from 0 to 10"),
    (np.array([[0, 1]]), "labels must be a 1-D array of ints"),
])
def test_bad_labels_are_reported(labels, message):
    with pytest.raises(ValueError, match=message):
        SparseCategoricalCrossentropy()(labels, np.full((2, 10), 0.1))
