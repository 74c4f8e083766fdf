import math

import numpy as np
import pytest

from tinycnn.optimizers import SGD, Adam


def adam_closed_form(grads, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
    """Adam written out for a scalar parameter starting at 0, from the formulas in Keras's documentation."""
    p, m, v = 0.0, 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p -= lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (math.sqrt(v) + eps)
    return p


def test_adam_matches_its_closed_form_over_several_steps():
    grads = [0.5, -1.0, 2.0, 0.25, 0.0]
    param = np.zeros(1)
    adam = Adam()
    for g in grads:
        adam.apply_gradients([(np.array([g]), param)])
    assert param[0] == pytest.approx(adam_closed_form(grads), rel=1e-12)


def test_adam_first_step_moves_each_weight_by_about_the_learning_rate():
    param = np.array([1.0, 1.0])
    Adam(learning_rate=0.01).apply_gradients([(np.array([3.0, -1e-3]), param)])
    np.testing.assert_allclose(param, [0.99, 1.01], rtol=1e-4)


def test_adam_keeps_separate_state_per_parameter():
    a, b = np.zeros(1), np.zeros(1)
    adam = Adam()
    for _ in range(3):
        adam.apply_gradients([(np.array([1.0]), a), (np.array([-2.0]), b)])
    assert a[0] == pytest.approx(adam_closed_form([1.0] * 3))
    assert b[0] == pytest.approx(adam_closed_form([-2.0] * 3))


def test_sgd_with_and_without_momentum():
    param = np.array([1.0])
    SGD(learning_rate=0.1).apply_gradients([(np.array([2.0]), param)])
    assert param[0] == pytest.approx(0.8)
    param, sgd = np.array([0.0]), SGD(learning_rate=0.1, momentum=0.5)
    for _ in range(2):
        sgd.apply_gradients([(np.array([1.0]), param)])
    assert param[0] == pytest.approx(-0.1 - 0.15)


@pytest.mark.parametrize("make, message", [
    (lambda: Adam(learning_rate=-1), "Adam: learning_rate must be a positive number, got -1"),
    (lambda: Adam(beta_1=1.0), r"Adam: beta_1 must be in \[0, 1\), got 1.0"),
    (lambda: Adam(epsilon=0), "Adam: epsilon must be a positive number, got 0"),
    (lambda: SGD(momentum=1.5), r"SGD: momentum must be in \[0, 1\), got 1.5"),
])
def test_optimizers_validate_their_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()
