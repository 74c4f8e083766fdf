"""Slow, obviously-correct loop versions of the layers, to test the vectorised ones against."""

import numpy as np


def conv2d_naive(x, kernel, bias, stride=(1, 1), pads=((0, 0), (0, 0))):
    """x (N, H, W, C), kernel (kh, kw, C, F) -> (N, Ho, Wo, F), one output pixel at a time."""
    x = np.pad(x, ((0, 0), *pads, (0, 0)))
    n, h, w, _ = x.shape
    kh, kw, _, f = kernel.shape
    ho, wo = (h - kh) // stride[0] + 1, (w - kw) // stride[1] + 1
    out = np.zeros((n, ho, wo, f))
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                window = x[b, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw, :]
                for k in range(f):
                    out[b, i, j, k] = np.sum(window * kernel[..., k]) + bias[k]
    return out


def maxpool_naive(x, size=2):
    """x (N, H, W, C) -> (N, H // size, W // size, C), one window at a time."""
    n, h, w, c = x.shape
    out = np.zeros((n, h // size, w // size, c))
    for i in range(h // size):
        for j in range(w // size):
            out[:, i, j, :] = x[:, i * size:(i + 1) * size, j * size:(j + 1) * size, :].max(axis=(1, 2))
    return out
