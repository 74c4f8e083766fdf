"""The weights shipped in the package: trained by scripts/reproduce_paper.py, the default model for reading."""

from importlib import resources

import pytest

from tinycnn import load_model
from tinycnn.train import prepare_images

SHIPPED = resources.files("tinycnn") / "weights" / "paper_cnn.npz"


def test_shipped_paper_weights_reach_99_percent_on_mnist_test(mnist_data):
    _, (x_test, y_test) = mnist_data
    model = load_model(SHIPPED)
    assert model.count_params() == 93322
    _, accuracy = model.evaluate(prepare_images(x_test), y_test)
    assert accuracy >= 0.99
    assert model.metadata["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)
    assert model.metadata["seed"] == 0 and "reproduce_paper.py" in model.metadata["command"]


def test_shipped_reading_model_reads_mnist_test_at_least_as_well(mnist_data):
    _, (x_test, y_test) = mnist_data
    model = load_model(resources.files("tinycnn") / "weights" / "reader_cnn.npz")
    assert model.layers[-1].output_shape == (11,)  # 0-9 and "not a digit"
    probs = model.predict(prepare_images(x_test))[:, :10]
    accuracy = float((probs.argmax(axis=1) == y_test).mean())
    assert accuracy >= 0.99
    assert model.metadata["accuracy"]["mnist_test"] == pytest.approx(accuracy, abs=1e-4)
    assert "scripts/train_reader.py" in model.metadata["command"] and model.metadata["seed"] == 0
