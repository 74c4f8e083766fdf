"""tinycnn: the CNN of "Implementation of Handwritten Digit Recognizer using CNN", written with NumPy alone."""

from .layers import Conv2D, Dense, Flatten, MaxPool2D, MaxPooling2D, ReLU, Softmax
from .losses import SparseCategoricalCrossentropy
from .model import Ensemble, History, ModelFileError, Sequential, load_model, load_models
from .optimizers import SGD, Adam

__version__ = "0.1.0"


def __getattr__(name):
    """tinycnn.read_digits and tinycnn.Reading, imported on first use (they pull in scipy and pillow)."""
    if name in ("read_digits", "Reading"):
        from . import read
        return getattr(read, name)
    raise AttributeError(f"module 'tinycnn' has no attribute {name!r}")


__all__ = ["Conv2D", "Dense", "Flatten", "MaxPool2D", "MaxPooling2D", "ReLU", "Softmax", "SparseCategoricalCrossentropy",
           "Ensemble", "History", "ModelFileError", "Sequential", "load_model", "load_models", "SGD", "Adam",
           "read_digits", "Reading"]
