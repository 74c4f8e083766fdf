"""Numerical gradient checks: is a layer's backward the derivative of its forward?

For a scalar function f, the centred difference

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)

has error O(h^2). To check a layer, we make its output a scalar with a fixed
random "upstream gradient" G: L = sum(forward(x) * G), so that dL/d(out) = G
and backward(G) must return dL/dx. Run it in float64: float32 has too few
digits for a difference quotient.

    from tinycnn.gradcheck import check_layer
    errors = check_layer(Conv2D(4, 3, dtype="float64"), x)   # {"x": 3e-10, "kernel": ..., "bias": ...}
"""

import numpy as np


def numerical_gradient(f, x, h=1e-6):
    """Centred-difference gradient of the scalar function f() with respect to the array x,
    which f reads and which is perturbed in place, one element at a time."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        original = x[i]
        x[i] = original + h
        f_plus = f()
        x[i] = original - h
        f_minus = f()
        x[i] = original
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(a, b):
    """||a - b|| / (||a|| + ||b||): about 1e-10 for a correct float64 gradient, ~1 for a wrong one."""
    denominator = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denominator == 0 else float(np.linalg.norm(a - b) / denominator)


def check_layer(layer, x, rng=None, h=1e-6):
    """Compare backward() with numerical gradients for the input and every parameter.

    Returns {"x": error, "kernel": error, ...} (relative errors, see relative_error)."""
    rng = np.random.default_rng(rng)
    x = np.array(x, dtype=np.float64)
    out = layer.forward(x, training=True)
    upstream = rng.standard_normal(out.shape)

    def loss():
        return float(np.sum(layer.forward(x, training=True) * upstream))

    layer.forward(x, training=True)
    analytic = {"x": layer.backward(upstream)}
    analytic.update({key: grad.copy() for key, grad in layer.grads.items()})
    errors = {"x": relative_error(analytic["x"], numerical_gradient(loss, x, h))}
    for key, param in layer.params.items():
        errors[key] = relative_error(analytic[key], numerical_gradient(loss, param, h))
    return errors
