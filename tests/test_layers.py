import numpy as np
import pytest

from tinycnn.gradcheck import check_layer, numerical_gradient, relative_error
from tinycnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Softmax

from reference import conv2d_naive, maxpool_naive

TOLERANCE = 1e-6


def random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def assert_gradients_match(layer, x):
    errors = check_layer(layer, x, rng=1)
    assert max(errors.values()) < TOLERANCE, errors


@pytest.mark.parametrize("kwargs, shape", [
    (dict(filters=3, kernel_size=3), (2, 7, 6, 2)),
    (dict(filters=3, kernel_size=3, padding="same"), (2, 6, 5, 2)),
    (dict(filters=2, kernel_size=3, strides=2), (2, 7, 8, 3)),
    (dict(filters=2, kernel_size=(2, 3), strides=2, padding="same"), (1, 7, 6, 2)),
    (dict(filters=2, kernel_size=3, activation="relu"), (2, 6, 6, 1)),
])
def test_conv2d_gradients(kwargs, shape):
    assert_gradients_match(Conv2D(dtype="float64", **kwargs), random(shape))


@pytest.mark.parametrize("shape", [(2, 6, 6, 3), (2, 7, 5, 2), (1, 11, 11, 1)])
def test_maxpool_gradients_including_odd_sizes(shape):
    assert_gradients_match(MaxPool2D(2, dtype="float64"), random(shape))


@pytest.mark.parametrize("layer, shape", [
    (Dense(4, dtype="float64"), (3, 5)),
    (Dense(4, activation="relu", dtype="float64"), (3, 5)),
    (Dense(4, activation="softmax", dtype="float64"), (3, 5)),
    (ReLU(dtype="float64"), (3, 4, 2)),
    (Flatten(dtype="float64"), (2, 3, 3, 2)),
    (Softmax(dtype="float64"), (4, 6)),
])
def test_other_layer_gradients(layer, shape):
    assert_gradients_match(layer, random(shape))


def test_gradient_check_catches_a_wrong_backward():
    class BrokenReLU(ReLU):
        def _backward(self, d_out):
            return d_out  # forgets the mask
    errors = check_layer(BrokenReLU(dtype="float64"), random((4, 5)), rng=1)
    assert errors["x"] > 1e-2


@pytest.mark.parametrize("stride, padding", [((1, 1), "valid"), ((2, 2), "valid"), ((1, 1), "same"), ((2, 1), "same")])
def test_conv2d_matches_the_naive_loop(stride, padding):
    x = random((2, 7, 8, 3))
    layer = Conv2D(4, 3, strides=stride, padding=padding, dtype="float64")
    out = layer.forward(x)
    layer.params["bias"][:] = random(4, seed=5)
    out = layer.forward(x)
    expected = conv2d_naive(x, layer.params["kernel"], layer.params["bias"], stride, layer.pads)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


def test_conv2d_same_padding_is_split_like_keras():
    # Keras pads 'same' with the odd pixel at the bottom/right: for H=6, k=3, s=2 -> 1 row in all, (0, 1)
    layer = Conv2D(1, 3, strides=2, padding="same")
    layer.forward(np.zeros((1, 6, 6, 1), dtype=np.float32))
    assert layer.pads == ((0, 1), (0, 1))
    assert layer.output_shape == (3, 3, 1)


def test_maxpool_matches_the_naive_loop_and_floors_odd_sizes():
    x = random((2, 11, 11, 3))
    out = MaxPool2D(2, dtype="float64").forward(x)
    assert out.shape == (2, 5, 5, 3)
    np.testing.assert_array_equal(out, maxpool_naive(x))


def test_maxpool_routes_a_tied_gradient_to_the_first_maximum_only():
    layer = MaxPool2D(2)
    x = np.ones((1, 2, 2, 1), dtype=np.float32)
    layer.forward(x)
    d_x = layer.backward(np.full((1, 1, 1, 1), 5.0, dtype=np.float32))
    np.testing.assert_array_equal(d_x[0, :, :, 0], [[5.0, 0.0], [0.0, 0.0]])


def test_backward_overwrites_gradients_instead_of_adding():
    layer = Dense(3, dtype="float64")
    x = random((4, 2))
    d_out = random((4, 3))
    layer.forward(x)
    layer.backward(d_out)
    first = layer.grads["kernel"].copy()
    layer.backward(d_out)
    np.testing.assert_array_equal(layer.grads["kernel"], first)


def test_layers_keep_float32():
    for layer, shape in [(Conv2D(2, 3), (1, 5, 5, 1)), (MaxPool2D(), (1, 4, 4, 2)), (Dense(3), (2, 4))]:
        x = random(shape)  # float64 in: the layer computes in its own dtype
        out = layer.forward(x)
        assert out.dtype == np.float32
        assert layer.backward(np.ones_like(out)).dtype == np.float32


def test_glorot_uniform_limits_and_zero_bias():
    layer = Conv2D(32, 3)
    layer.build((28, 28, 1), rng=0)
    limit = np.sqrt(6 / (9 * 1 + 9 * 32))
    kernel = layer.params["kernel"]
    assert kernel.shape == (3, 3, 1, 32) and kernel.dtype == np.float32
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert not layer.params["bias"].any()


@pytest.mark.parametrize("make, message", [
    (lambda: Conv2D(0, 3), "filters must be a positive int, got 0"),
    (lambda: Conv2D(8, 3, padding="full"), "padding must be 'valid' or 'same', got 'full'"),
    (lambda: Conv2D(8, (3, 0)), "kernel_size must be a positive int or a pair"),
    (lambda: Dense(-1), "units must be a positive int, got -1"),
    (lambda: Dense(3, activation="tanh"), "activation must be one of"),
    (lambda: MaxPool2D(2, strides=1), "only strides equal to pool_size"),
])
def test_constructor_errors_name_the_argument(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_numerical_gradient_of_a_known_function():
    x = np.array([1.0, -2.0, 3.0])
    grad = numerical_gradient(lambda: float(np.sum(x ** 3)), x)
    assert relative_error(grad, 3 * x ** 2) < 1e-9
