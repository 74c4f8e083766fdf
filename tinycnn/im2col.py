"""im2col: turn a convolution into one matrix product.

A convolution slides a (kh, kw, C) kernel over the image. im2col copies every
window the kernel visits into one row of a matrix, so that all F kernels can be
applied at once with a single matrix multiply:

    x      (N, H, W, C)                    the input, channels last
    cols   (N, Ho, Wo, kh, kw, C)          one window per output position
    kernel (kh, kw, C, F) -> (kh*kw*C, F)
    out    = cols.reshape(N*Ho*Wo, kh*kw*C) @ kernel.reshape(kh*kw*C, F)

Output size along one axis, for input size H, kernel k, stride s:

    valid: Ho = floor((H - k) / s) + 1
    same:  Ho = ceil(H / s), after padding the input with
           max((Ho - 1) * s + k - H, 0) zeros, the smaller half on top/left (as Keras)

col2im is the adjoint: it adds each window of `cols` back onto the image
positions it was copied from. Both loop over the kh*kw kernel offsets only;
each step moves a whole (N, Ho, Wo, C) block with strided slicing.
"""

import math

import numpy as np


def output_size(size, kernel, stride, padding):
    """Output length along one axis (the formula in the module docstring)."""
    if padding == "valid":
        return (size - kernel) // stride + 1
    return math.ceil(size / stride)


def same_padding(size, kernel, stride):
    """(before, after) zeros that make a 'same' convolution, split as Keras/TensorFlow do."""
    total = max((output_size(size, kernel, stride, "same") - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_amounts(spatial_shape, kernel_size, strides, padding):
    """((top, bottom), (left, right)) zero padding for an input of spatial shape (H, W)."""
    if padding == "valid":
        return (0, 0), (0, 0)
    return tuple(same_padding(size, k, s) for size, k, s in zip(spatial_shape, kernel_size, strides))


def pad(x, pads):
    """Zero-pad x of shape (N, H, W, C) by pads = ((top, bottom), (left, right))."""
    if pads == ((0, 0), (0, 0)):
        return x
    return np.pad(x, ((0, 0), *pads, (0, 0)))


def unpad(x, pads):
    """Undo `pad`: crop (N, H + top + bottom, W + left + right, C) back to (N, H, W, C)."""
    (top, bottom), (left, right) = pads
    return x[:, top:x.shape[1] - bottom, left:x.shape[2] - right, :]


def im2col(x, kernel_size, strides):
    """Copy every kernel window of x into its own row.

    x: array of shape (N, H, W, C), already padded.
    Returns cols of shape (N, Ho, Wo, kh, kw, C) (valid output size), where
    cols[n, i, j, di, dj, c] = x[n, i*sh + di, j*sw + dj, c].
    """
    n, h, w, c = x.shape
    kh, kw = kernel_size
    sh, sw = strides
    ho = output_size(h, kh, sh, "valid")
    wo = output_size(w, kw, sw, "valid")
    cols = np.empty((n, ho, wo, kh, kw, c), dtype=x.dtype)
    for di in range(kh):
        for dj in range(kw):
            cols[:, :, :, di, dj, :] = x[:, di:di + sh * (ho - 1) + 1:sh, dj:dj + sw * (wo - 1) + 1:sw, :]
    return cols


def col2im(cols, input_shape, strides):
    """Add the windows in cols back onto the image: the adjoint of im2col.

    cols: array of shape (N, Ho, Wo, kh, kw, C); input_shape: (N, H, W, C) of the padded input.
    Returns dx of shape input_shape with dx[n, i*sh + di, j*sw + dj, c] += cols[n, i, j, di, dj, c].
    Overlapping windows add up, which is exactly the chain rule for a pixel used by several outputs.
    """
    _, ho, wo, kh, kw, _ = cols.shape
    sh, sw = strides
    dx = np.zeros(input_shape, dtype=cols.dtype)
    for di in range(kh):
        for dj in range(kw):
            dx[:, di:di + sh * (ho - 1) + 1:sh, dj:dj + sw * (wo - 1) + 1:sw, :] += cols[:, :, :, di, dj, :]
    return dx
