"""The layers of the paper's network, written out by hand.

Every layer follows one contract (as in CS231n):

    out  = layer.forward(x, training=False)   # keeps what backward needs
    d_x  = layer.backward(d_out)              # d_out = dL/d(out); fills layer.grads, returns dL/dx

Arrays are channels-last, as in Keras: images (N, H, W, C), kernels
(kh, kw, C, F), dense kernels (D, M). N is the batch, F the number of filters.
Layers with weights keep them in `params` and their gradients in `grads`, two
dicts with the same keys ("kernel", "bias"). backward *overwrites* grads, so
calling it twice never doubles them; the optimiser reads them afterwards.

Conv2D and Dense take a Keras-style `activation` ("relu", "softmax" or None):
the base class applies it after the layer's own `_forward` and takes its
gradient before the layer's own `_backward`.
"""

import math

import numpy as np

from . import im2col as _im2col


def _pair(value, what):
    """3 -> (3, 3); (3, 2) -> (3, 2). Raises a ValueError naming the argument otherwise."""
    if isinstance(value, (int, np.integer)) and value > 0:
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, (int, np.integer)) and v > 0 for v in value):
        return int(value[0]), int(value[1])
    raise ValueError(f"{what} must be a positive int or a pair of positive ints, got {value!r}")


def sum_rows(d):
    """(M, F) -> (F,): the sum of the rows of d, computed as the matrix-vector product ones(M) @ d.

    Same result as d.sum(axis=0) up to float rounding; BLAS does it about 4x faster for the tall,
    narrow gradients of a convolution (21632 x 32 for the paper's first layer at batch 32).
    """
    return np.ones(d.shape[0], dtype=d.dtype) @ d


def glorot_uniform(shape, fan_in, fan_out, rng, dtype):
    """Keras's default kernel initializer: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out))."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


class Layer:
    """Base class. Subclasses write their op in `_forward`/`_backward` and,
    if they have weights, create them in `build`."""

    base_name = "layer"

    def __init__(self, activation=None, input_shape=None, name=None, dtype="float32"):
        self.dtype = np.dtype(dtype)
        self.activation = get_activation(activation, self.dtype)
        self.input_shape = tuple(input_shape) if input_shape is not None else None  # one sample, no batch axis
        self.name = name
        self.params = {}
        self.grads = {}
        self.output_shape = None
        self.built = False
        # The model switches this off for its first layer: nobody needs dL/d(image).
        self.needs_input_grad = True

    # --- shapes and weights -------------------------------------------------
    def build(self, input_shape, rng=None):
        """Create the weights for inputs of `input_shape` (one sample, no batch axis)."""
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.init_params(self.input_shape, np.random.default_rng(rng))
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        self.built = True

    def compute_output_shape(self, input_shape):
        return input_shape

    def init_params(self, input_shape, rng):
        """Layers with weights fill self.params here."""

    def count_params(self):
        return sum(p.size for p in self.params.values())

    # --- the computation -----------------------------------------------------
    def forward(self, x, training=False, skip_activation=False):
        """x -> out. With skip_activation=True, out is the value before the activation
        (the model then applies the activation itself, see Sequential.forward)."""
        x = np.asarray(x, dtype=self.dtype)
        if not self.built:
            self.build(x.shape[1:])
        out = self._forward(x, training)
        if self.activation is None or skip_activation:
            return out
        return self.activation.forward(out, training)

    def backward(self, d_out, skip_activation=False):
        """dL/d(out) -> dL/dx. With skip_activation=True, d_out is already the gradient
        before the activation (the fused softmax + cross-entropy gradient, or a ReLU the
        model moved past a max pooling)."""
        if self.activation is not None and not skip_activation:
            d_out = self.activation.backward(d_out)
        return self._backward(d_out)

    def _forward(self, x, training):
        raise NotImplementedError

    def _backward(self, d_out):
        raise NotImplementedError

    # --- description -----------------------------------------------------------
    def get_config(self):
        """Constructor arguments, JSON-serialisable, so that cls(**config) rebuilds the layer."""
        config = {"name": self.name}
        if self.activation is not None:
            config["activation"] = self.activation.activation_name
        return config

    def __repr__(self):
        args = ", ".join(f"{k}={tuple(v) if isinstance(v, list) else v!r}" for k, v in self.get_config().items()
                         if k != "name" and v is not None)
        return f"{type(self).__name__}({args})"


class ReLU(Layer):
    """out = max(x, 0); dL/dx = dL/dout where x > 0, else 0. Any shape."""

    base_name = "re_lu"
    activation_name = "relu"

    def _forward(self, x, training):
        self.mask = x > 0
        return x * self.mask  # the same as np.maximum(x, 0), and faster here (no NaN bookkeeping)

    def _backward(self, d_out):
        return d_out * self.mask


class Softmax(Layer):
    """(N, K) -> (N, K): p = exp(z - max z) / sum exp(z - max z), along the last axis.

    Subtracting the row maximum changes nothing mathematically and keeps exp()
    from overflowing. backward is the Jacobian-vector product
    dL/dz = p * (dL/dp - sum_k p_k dL/dp_k). In training, the model skips it and
    uses the fused softmax + cross-entropy gradient (p - onehot(y)) / N instead.
    """

    base_name = "softmax"
    activation_name = "softmax"

    def _forward(self, x, training):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        self.out = e / e.sum(axis=-1, keepdims=True)
        return self.out

    def _backward(self, d_out):
        p = self.out
        return p * (d_out - (d_out * p).sum(axis=-1, keepdims=True))


ACTIVATIONS = {"relu": ReLU, "softmax": Softmax}


def get_activation(activation, dtype="float32"):
    """None, "linear", "relu", "softmax" or a layer instance -> a layer or None."""
    if activation is None or activation == "linear":
        return None
    if isinstance(activation, Layer):
        return activation
    if activation in ACTIVATIONS:
        return ACTIVATIONS[activation](dtype=dtype)
    raise ValueError(f"activation must be one of None, 'linear', {', '.join(map(repr, ACTIVATIONS))}; got {activation!r}")


class Conv2D(Layer):
    """2-D convolution (really cross-correlation, as in every framework), im2col-vectorised.

    x (N, H, W, C) -> out (N, Ho, Wo, F),  out = im2col(x) @ kernel + bias
    kernel (kh, kw, C, F), bias (F,). Ho, Wo: see `tinycnn.im2col` for the formula.
    Parameters: kh * kw * C * F + F  (3*3*1*32 + 32 = 320 for the paper's first layer).

    backward, with cols = im2col(x) reshaped to (N*Ho*Wo, kh*kw*C) and d = dL/dout as (N*Ho*Wo, F):
        dL/dkernel = cols.T @ d,   dL/dbias = sum of d over rows,   dL/dx = col2im(d @ kernel.T)
    """

    base_name = "conv2d"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None, **kwargs):
        super().__init__(activation=activation, **kwargs)
        if not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"Conv2D: filters must be a positive int, got {filters!r}")
        if padding not in ("valid", "same"):
            raise ValueError(f"Conv2D: padding must be 'valid' or 'same', got {padding!r}")
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size, "Conv2D: kernel_size")
        self.strides = _pair(strides, "Conv2D: strides")
        self.padding = padding

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"Conv2D expects inputs of shape (H, W, C) per sample, got {input_shape}")
        h, w, _ = input_shape
        ho = _im2col.output_size(h, self.kernel_size[0], self.strides[0], self.padding)
        wo = _im2col.output_size(w, self.kernel_size[1], self.strides[1], self.padding)
        if ho <= 0 or wo <= 0:
            raise ValueError(f"Conv2D: input {h}x{w} is smaller than the kernel {self.kernel_size}")
        return ho, wo, self.filters

    def init_params(self, input_shape, rng):
        kh, kw = self.kernel_size
        c = input_shape[-1]
        self.params["kernel"] = glorot_uniform((kh, kw, c, self.filters), kh * kw * c, kh * kw * self.filters, rng, self.dtype)
        self.params["bias"] = np.zeros(self.filters, dtype=self.dtype)

    def _forward(self, x, training):
        # (N, H, W, C) -> pad -> cols (N, Ho, Wo, kh, kw, C) -> (N, Ho, Wo, F)
        self.x_shape = x.shape
        self.pads = _im2col.pad_amounts(x.shape[1:3], self.kernel_size, self.strides, self.padding)
        x_padded = _im2col.pad(x, self.pads)
        self.padded_shape = x_padded.shape
        self.cols = _im2col.im2col(x_padded, self.kernel_size, self.strides)
        n, ho, wo = self.cols.shape[:3]
        out = self.cols.reshape(n * ho * wo, -1) @ self.params["kernel"].reshape(-1, self.filters)
        out += self.params["bias"]
        return out.reshape(n, ho, wo, self.filters)

    def _backward(self, d_out):
        kernel = self.params["kernel"]
        d_out_2d = d_out.reshape(-1, self.filters)                      # (N*Ho*Wo, F)
        cols_2d = self.cols.reshape(d_out_2d.shape[0], -1)             # (N*Ho*Wo, kh*kw*C)
        self.grads["kernel"] = (cols_2d.T @ d_out_2d).reshape(kernel.shape)
        self.grads["bias"] = sum_rows(d_out_2d)
        if not self.needs_input_grad:
            return None
        d_cols = (d_out_2d @ kernel.reshape(-1, self.filters).T).reshape(self.cols.shape)
        d_x_padded = _im2col.col2im(d_cols, self.padded_shape, self.strides)
        return _im2col.unpad(d_x_padded, self.pads)

    def get_config(self):
        return {"filters": self.filters, "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, **super().get_config()}


class MaxPooling2D(Layer):
    """Max pooling over non-overlapping (ph, pw) windows (stride = pool size, as Keras's default).

    x (N, H, W, C) -> out (N, H // ph, W // pw, C): odd sizes are floored like
    Keras's 'valid' padding (11 -> 5); the last row/column is then dropped.

    The window's ph * pw positions are visited as ph * pw strided views of x,
    x[:, di::ph, dj::pw, :], each shaped like the output: the output is their
    elementwise maximum. backward routes each output gradient to the position
    that held the maximum. Tie rule: when several positions share the maximum,
    the first in row-major order of the window gets it all (as PyTorch and
    TensorFlow do), so no gradient is duplicated.
    """

    base_name = "max_pooling2d"

    def __init__(self, pool_size=2, strides=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _pair(pool_size, "MaxPool2D: pool_size")
        if strides is not None and _pair(strides, "MaxPool2D: strides") != self.pool_size:
            raise ValueError(f"MaxPool2D: only strides equal to pool_size are supported, got strides={strides!r}")

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"MaxPool2D expects inputs of shape (H, W, C) per sample, got {input_shape}")
        h, w, c = input_shape
        return h // self.pool_size[0], w // self.pool_size[1], c

    def _window_views(self, x):
        """The ph * pw views x[:, di::ph, dj::pw, :] (each (N, Ho, Wo, C)), in row-major window order."""
        ph, pw = self.pool_size
        ho, wo = x.shape[1] // ph, x.shape[2] // pw
        return [x[:, di:ho * ph:ph, dj:wo * pw:pw, :] for di in range(ph) for dj in range(pw)]

    def _forward(self, x, training):
        views = self._window_views(x)
        out = views[0].copy()
        for view in views[1:]:
            np.maximum(out, view, out=out)
        self.x, self.out = x, out
        return out

    def _backward(self, d_out):
        # The views cover all of d_x, except a last row/column that odd sizes leave out: zero it then.
        ph, pw = self.pool_size
        covered = self.x.shape[1:3] == (self.out.shape[1] * ph, self.out.shape[2] * pw)
        d_x = np.empty_like(self.x, dtype=d_out.dtype) if covered else np.zeros_like(self.x, dtype=d_out.dtype)
        taken = None  # windows whose maximum has been found already
        for d_view, x_view in zip(self._window_views(d_x), self._window_views(self.x)):
            is_max = x_view == self.out
            if taken is None:
                taken = is_max
            else:
                is_max &= ~taken                     # a maximum, and the first one in its window
                taken |= is_max
            np.multiply(d_out, is_max, out=d_view)   # the gradient goes where the maximum was
        return d_x

    def get_config(self):
        return {"pool_size": list(self.pool_size), **super().get_config()}


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...), in C (row-major) order, like Keras. backward reshapes back."""

    base_name = "flatten"

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def _forward(self, x, training):
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def _backward(self, d_out):
        return d_out.reshape(self.x_shape)


class Dense(Layer):
    """Fully connected: x (N, D) -> out (N, M), out = x @ kernel + bias.

    kernel (D, M), bias (M,); parameters D * M + M (576 * 64 + 64 = 36,928 in the paper).
    backward: dL/dkernel = x.T @ d,  dL/dbias = sum of d over the batch,  dL/dx = d @ kernel.T
    """

    base_name = "dense"

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(activation=activation, **kwargs)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense: units must be a positive int, got {units!r}")
        self.units = int(units)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"Dense expects flat inputs of shape (D,) per sample, got {input_shape}: add a Flatten layer first")
        return (self.units,)

    def init_params(self, input_shape, rng):
        (d,) = input_shape
        self.params["kernel"] = glorot_uniform((d, self.units), d, self.units, rng, self.dtype)
        self.params["bias"] = np.zeros(self.units, dtype=self.dtype)

    def _forward(self, x, training):
        self.x = x
        return x @ self.params["kernel"] + self.params["bias"]

    def _backward(self, d_out):
        self.grads["kernel"] = self.x.T @ d_out
        self.grads["bias"] = sum_rows(d_out)
        if not self.needs_input_grad:
            return None
        return d_out @ self.params["kernel"].T

    def get_config(self):
        return {"units": self.units, **super().get_config()}


MaxPool2D = MaxPooling2D  # Keras's short alias

LAYERS = {cls.__name__: cls for cls in (Conv2D, MaxPooling2D, Flatten, Dense, ReLU, Softmax)}
