"""The weights shipped in the package: the paper CNN (scripts/reproduce_paper.py) and the four networks of
the reading model (scripts/train_reader.py, seeds 0-3), the default model for reading."""

from importlib import resources

import pytest

from tinycnn import load_model
from tinycnn.read import DEFAULT_MODEL, shipped_model
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


def digit_accuracy(model, x, y):
    return float((model.predict(x)[:, :10].argmax(axis=1) == y).mean())


@pytest.mark.parametrize("seed, name", list(enumerate(DEFAULT_MODEL)))
def test_each_shipped_reading_network_reads_mnist_test_at_least_as_well(mnist_data, seed, name):
    _, (x_test, y_test) = mnist_data
    model = load_model(resources.files("tinycnn") / "weights" / name)
    assert model.layers[-1].output_shape == (11,)  # 0-9 and "not a digit"
    accuracy = digit_accuracy(model, prepare_images(x_test), y_test)
    assert accuracy >= 0.99
    assert model.metadata["accuracy"]["mnist_test"] == pytest.approx(accuracy, abs=1e-4)
    assert "scripts/train_reader.py" in model.metadata["command"] and model.metadata["seed"] == seed


def test_the_default_reading_model_averages_its_networks(mnist_data):
    _, (x_test, y_test) = mnist_data
    x = prepare_images(x_test)
    ensemble = shipped_model()
    assert [m.metadata["seed"] for m in ensemble.models] == [0, 1, 2, 3]
    alone = [digit_accuracy(model, x, y_test) for model in ensemble.models]
    assert digit_accuracy(ensemble, x, y_test) >= min(alone)
