"""Sparse categorical cross-entropy, the paper's loss.

For N samples with integer labels y (N,) and predicted probabilities p (N, K):

    loss = -1/N * sum_n log p[n, y_n]

With logits z instead of probabilities (from_logits=True), log p is computed
stably as z - logsumexp(z), so no exp() can overflow and no log() sees 0.

Through a softmax the two gradients collapse into one simple, stable formula:

    dL/dz = (p - onehot(y)) / N

`gradient_wrt_logits` is that fused gradient; the model uses it in training
instead of multiplying the two Jacobians (which divides by p and breaks when p
underflows to 0).
"""

import numpy as np


def log_softmax(z):
    """(..., K) -> (..., K): z - logsumexp(z) over the last axis, computed without overflow."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def check_labels(y_true, num_classes):
    """Integer labels (N,) in [0, num_classes); raises a ValueError that says what was wrong."""
    y_true = np.asarray(y_true)
    if y_true.ndim != 1 or not np.issubdtype(y_true.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D array of ints, got dtype {y_true.dtype} and shape {y_true.shape}")
    if y_true.size and (y_true.min() < 0 or y_true.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got values from {y_true.min()} to {y_true.max()}")
    return y_true


class SparseCategoricalCrossentropy:
    """loss(y_true (N,) ints, y_pred (N, K)) -> mean negative log-likelihood, a float."""

    name = "sparse_categorical_crossentropy"
    # Keras clips probabilities to [eps, 1 - eps] before the log; so do we.
    epsilon = 1e-7

    def __init__(self, from_logits=False):
        self.from_logits = bool(from_logits)

    def __call__(self, y_true, y_pred):
        y_true = check_labels(y_true, y_pred.shape[-1])
        rows = np.arange(len(y_true))
        if self.from_logits:
            log_p = log_softmax(y_pred)[rows, y_true]
        else:
            log_p = np.log(np.clip(y_pred[rows, y_true], self.epsilon, 1 - self.epsilon))
        return float(-log_p.mean())

    def gradient(self, y_true, y_pred):
        """dL/dy_pred, of shape (N, K)."""
        if self.from_logits:
            return self.gradient_wrt_logits(y_true, np.exp(log_softmax(y_pred)))
        y_true = check_labels(y_true, y_pred.shape[-1])
        n = len(y_true)
        rows = np.arange(n)
        grad = np.zeros_like(y_pred)
        grad[rows, y_true] = -1.0 / (n * np.clip(y_pred[rows, y_true], self.epsilon, 1 - self.epsilon))
        return grad

    def gradient_wrt_logits(self, y_true, probs):
        """The fused softmax + cross-entropy gradient dL/dz = (p - onehot(y)) / N, of shape (N, K)."""
        y_true = check_labels(y_true, probs.shape[-1])
        grad = probs.copy()
        grad[np.arange(len(y_true)), y_true] -= 1
        grad /= len(y_true)
        return grad

    def get_config(self):
        return {"from_logits": self.from_logits}


LOSSES = {SparseCategoricalCrossentropy.name: SparseCategoricalCrossentropy}


def get_loss(loss):
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
        return LOSSES[loss]()
    return loss
