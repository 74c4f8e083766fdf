"""Update rules. An optimiser never computes gradients: the layers do that in
backward; the optimiser only reads them and changes the weights in place.

    optimizer.apply_gradients([(grad, param), ...])

State (Adam's moments) is created per parameter on first use, as in PyTorch.
"""

import math

import numpy as np


def _check_positive(value, what):
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{what} must be a positive number, got {value!r}")


class SGD:
    """Plain stochastic gradient descent, with optional momentum:

        velocity = momentum * velocity - learning_rate * grad
        param   += velocity
    """

    def __init__(self, learning_rate=0.01, momentum=0.0):
        _check_positive(learning_rate, "SGD: learning_rate")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum!r}")
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.velocity = {}

    def apply_gradients(self, grads_and_params):
        for grad, param in grads_and_params:
            if self.momentum == 0.0:
                param -= self.learning_rate * grad
                continue
            velocity = self.velocity.setdefault(id(param), np.zeros_like(param))
            velocity *= self.momentum
            velocity -= self.learning_rate * grad
            param += velocity

    def get_config(self):
        return {"learning_rate": self.learning_rate, "momentum": self.momentum}


class Adam:
    """Adam (Kingma & Ba, 2015) in the form Keras uses, with its defaults.

    At step t (counted from 1), for every parameter p with gradient g:

        m   = beta_1 * m + (1 - beta_1) * g            first moment (running mean of g)
        v   = beta_2 * v + (1 - beta_2) * g**2         second moment (running mean of g**2)
        lr_t = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)     bias correction
        p  -= lr_t * m / (sqrt(v) + epsilon)

    Keras adds epsilon to sqrt(v) after folding the bias correction into lr_t
    (the paper's "epsilon hat"), with epsilon = 1e-7.
    """

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        _check_positive(learning_rate, "Adam: learning_rate")
        _check_positive(epsilon, "Adam: epsilon")
        for value, what in ((beta_1, "beta_1"), (beta_2, "beta_2")):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"Adam: {what} must be in [0, 1), got {value!r}")
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.iterations = 0
        self.moments = {}  # id(param) -> (m, v)

    def apply_gradients(self, grads_and_params):
        self.iterations += 1
        t = self.iterations
        lr_t = self.learning_rate * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        for grad, param in grads_and_params:
            if id(param) not in self.moments:
                self.moments[id(param)] = (np.zeros_like(param), np.zeros_like(param))
            m, v = self.moments[id(param)]
            m *= self.beta_1
            m += (1 - self.beta_1) * grad
            v *= self.beta_2
            v += (1 - self.beta_2) * np.square(grad)
            param -= lr_t * m / (np.sqrt(v) + self.epsilon)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


OPTIMIZERS = {"adam": Adam, "sgd": SGD}


def get_optimizer(optimizer):
    if isinstance(optimizer, str):
        if optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}")
        return OPTIMIZERS[optimizer.lower()]()
    return optimizer
