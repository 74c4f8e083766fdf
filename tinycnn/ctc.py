"""Connectionist temporal classification (Graves et al., 2006): reading a sequence without cutting it.

A network that reads a row of touching digits gives, for each of T columns, log
probabilities over the ten digits and a "blank" (nothing new here). A reading
is any path of T symbols; it says the digits left after merging repeats and
dropping blanks ("33-5-" -> 35; "3-3" -> 33). The probability of a label
sequence is the sum over all the paths that say it, which the forward
(alpha) and backward (beta) recursions add up in O(T * S), S = 2L + 1 states:
the labels with a blank before, between and after them.

    alpha[t, s] = (alpha[t-1, s] + alpha[t-1, s-1] + alpha[t-1, s-2]) * y[t, z_s]
                  (the s-2 term only onto a label that differs from the one two back)
    p(z) = alpha[T-1, S-1] + alpha[T-1, S-2]
    dL/dlogit[t, k] = y[t, k] - sum over s with z_s = k of alpha[t, s] beta[t, s] / (y[t, z_s] p(z))

with L = -log p(z) and y the softmax of the logits. Everything runs in log space.
"""

import numpy as np

from .losses import log_softmax

BLANK = 10  # the 11th output: no new digit in this column


def _shift(a, by):
    """a (N, S) moved `by` states to the right (by > 0) or left (by < 0), -inf coming in."""
    out = np.full_like(a, -np.inf)
    if by > 0:
        out[:, by:] = a[:, :-by]
    else:
        out[:, :by] = a[:, -by:]
    return out


def ctc_loss(logits, labels):
    """Mean negative log-likelihood of the label sequences, and its gradient.

    logits: (N, T, 11) float, before the softmax; labels: N sequences of digits,
    each at most T long (a digit repeated needs a blank between: "44" takes 3 columns).
    Returns (loss, dL/dlogits (N, T, 11)).
    """
    log_y, emit, states, can_skip, length = _lattice(logits, labels)
    alpha = _forward(emit, can_skip)
    logp = _log_p(alpha, length)
    beta = _backward(emit, can_skip, length)
    with np.errstate(invalid="ignore"):  # -inf - -inf where a state is unreachable
        posterior = np.nan_to_num(np.exp(alpha + beta - emit - logp[:, None, None]))  # (N, T, S)
    n, steps, _ = logits.shape
    grad = np.exp(log_y)
    for s in range(states.shape[1]):
        np.add.at(grad, (np.arange(n)[:, None], np.arange(steps)[None, :], states[:, s:s + 1]), -posterior[:, :, s])
    return float(-logp.mean()), (grad / n).astype(logits.dtype)


def log_likelihood(logits, labels):
    """log p(labels) for each of N rows: logits (N, T, 11), labels N sequences -> (N,). The forward pass alone."""
    _, emit, _, can_skip, length = _lattice(logits, labels)
    return _log_p(_forward(emit, can_skip), length)


def _lattice(logits, labels):
    """What both passes need: log y (N, T, 11); each state's log y at each step, emit (N, T, S), -inf
    past a sequence's states; the states' symbols (N, S); whether a state may be reached from two
    back, can_skip (N, S); and each sequence's number of states (N,)."""
    n, steps, _ = logits.shape
    log_y = log_softmax(logits.astype(np.float64))
    size = 2 * max((len(z) for z in labels), default=0) + 1
    states = np.full((n, size), BLANK)
    for i, z in enumerate(labels):
        states[i, 1:2 * len(z):2] = z
    length = np.array([2 * len(z) + 1 for z in labels])
    if (length > 2 * steps + 1).any():
        raise ValueError(f"ctc: a label sequence is longer than {steps} steps can say")
    can_skip = np.zeros((n, size), dtype=bool)  # onto a label from the one two states back
    can_skip[:, 2:] = (states[:, 2:] != BLANK) & (states[:, 2:] != states[:, :-2])
    emit = np.take_along_axis(log_y, np.broadcast_to(states[:, None, :], (n, steps, size)), axis=2)
    emit[np.broadcast_to((np.arange(size) >= length[:, None])[:, None, :], emit.shape)] = -np.inf
    return log_y, emit, states, can_skip, length


def _forward(emit, can_skip):
    """alpha (N, T, S): log of the probability of the paths through the first t steps that end in state s."""
    alpha = np.full(emit.shape, -np.inf)
    alpha[:, 0, :2] = emit[:, 0, :2]
    for t in range(1, emit.shape[1]):
        a = alpha[:, t - 1]
        skipped = np.where(can_skip, _shift(a, 2), -np.inf)
        alpha[:, t] = np.logaddexp(np.logaddexp(a, _shift(a, 1)), skipped) + emit[:, t]
    return alpha


def _backward(emit, can_skip, length):
    """beta (N, T, S): log of the probability of the paths from state s at step t to the end."""
    n, steps, _ = emit.shape
    rows, last = np.arange(n), np.maximum(length - 2, 0)
    beta = np.full(emit.shape, -np.inf)
    beta[rows, -1, length - 1] = emit[rows, -1, length - 1]
    beta[rows, -1, last] = emit[rows, -1, last]
    skip_from = _shift(can_skip.astype(float), -2) > 0  # state s may go on to s + 2
    for t in range(steps - 2, -1, -1):
        b = beta[:, t + 1]
        skipped = np.where(skip_from, _shift(b, -2), -np.inf)
        beta[:, t] = np.logaddexp(np.logaddexp(b, _shift(b, -1)), skipped) + emit[:, t]
    return beta


def _log_p(alpha, length):
    """log p(z) (N,): the paths ending in the last state or, unless z is empty, the last label."""
    rows = np.arange(len(length))
    ends_on_label = np.where(length > 1, alpha[rows, -1, np.maximum(length - 2, 0)], -np.inf)
    return np.logaddexp(alpha[rows, -1, length - 1], ends_on_label)


def best_path(logits):
    """The greedy reading of each row: the likeliest symbol in each column, repeats merged, blanks dropped.

    logits (N, T, 11) -> N lists of (digit, first column, last column)."""
    readings = []
    for columns in logits.argmax(axis=-1):
        reading, previous = [], BLANK
        for t, symbol in enumerate(columns):
            if symbol != BLANK and symbol == previous:
                reading[-1] = (reading[-1][0], reading[-1][1], t)
            elif symbol != BLANK:
                reading.append((int(symbol), t, t))
            previous = symbol
        readings.append(reading)
    return readings
