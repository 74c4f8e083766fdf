"""The paper's two networks.

paper_cnn(): the CNN of the paper's Figure 6, 93,322 parameters.

    (28, 28, 1) -conv 3x3x32-> (26, 26, 32) -pool-> (13, 13, 32) -conv 3x3x64-> (11, 11, 64)
    -pool-> (5, 5, 64) -conv 3x3x64-> (3, 3, 64) -flatten-> 576 -dense-> 64 -dense-> 10

ffnn(): its feed-forward comparison, Flatten > Dense(128, relu) > Dense(10, softmax), 101,770 parameters.

reader_cnn(): the network the reader uses by default: the paper's layers with an 11th output,
"not a digit", trained on augmented digits (scripts/train_reader.py), 93,387 parameters.
"""

from .layers import Conv2D, Dense, Flatten, MaxPool2D
from .model import Sequential


def paper_cnn(seed=None, classes=10):
    return Sequential([
        Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),
        MaxPool2D(2),
        Conv2D(64, 3, activation="relu"),
        MaxPool2D(2),
        Conv2D(64, 3, activation="relu"),
        Flatten(),
        Dense(64, activation="relu"),
        Dense(classes, activation="softmax"),
    ], seed=seed)


def reader_cnn(seed=None):
    return paper_cnn(seed, classes=11)


def ffnn(seed=None):
    return Sequential([
        Flatten(input_shape=(28, 28, 1)),
        Dense(128, activation="relu"),
        Dense(10, activation="softmax"),
    ], seed=seed)


MODELS = {"paper": paper_cnn, "ffnn": ffnn}
