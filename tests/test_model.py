import io
import json
import zipfile

import numpy as np
import pytest

import tinycnn
from tinycnn import Conv2D, Dense, Flatten, MaxPool2D, ModelFileError, Sequential, load_model
from tinycnn.gradcheck import numerical_gradient, relative_error
from tinycnn.models import ffnn, paper_cnn, reader_cnn
from tinycnn.train import prepare_images


def test_summary_reproduces_the_papers_figure_6():
    lines = []
    model = paper_cnn(seed=0)
    model.summary(print_fn=lines.append)
    rows = [line.split() for line in lines[0].splitlines() if line.startswith(" ") and "(None" in line]
    assert [(r[0], r[1].strip("()"), " ".join(r[2:-1]), r[-1]) for r in rows] == [
        ("conv2d", "Conv2D", "(None, 26, 26, 32)", "320"),
        ("max_pooling2d", "MaxPooling2D", "(None, 13, 13, 32)", "0"),
        ("conv2d_1", "Conv2D", "(None, 11, 11, 64)", "18496"),
        ("max_pooling2d_1", "MaxPooling2D", "(None, 5, 5, 64)", "0"),
        ("conv2d_2", "Conv2D", "(None, 3, 3, 64)", "36928"),
        ("flatten", "Flatten", "(None, 576)", "0"),
        ("dense", "Dense", "(None, 64)", "36928"),
        ("dense_1", "Dense", "(None, 10)", "650"),
    ]
    assert "Total params: 93,322" in lines[0]
    assert model.count_params() == 93322


def test_feed_forward_network_has_101770_parameters():
    assert ffnn().count_params() == 101770


def test_same_seed_same_weights_different_seed_different_weights():
    a, b, c = paper_cnn(seed=3), paper_cnn(seed=3), paper_cnn(seed=4)
    np.testing.assert_array_equal(a.layers[2].params["kernel"], b.layers[2].params["kernel"])
    assert not np.array_equal(a.layers[2].params["kernel"], c.layers[2].params["kernel"])


def small_model(dtype="float32", seed=0):
    return Sequential([
        Conv2D(3, 3, activation="relu", input_shape=(7, 7, 1), dtype=dtype),
        MaxPool2D(2, dtype=dtype),
        Conv2D(4, 2, padding="same", activation="relu", dtype=dtype),
        Flatten(dtype=dtype),
        Dense(5, activation="relu", dtype=dtype),
        Dense(3, activation="softmax", dtype=dtype),
    ], seed=seed)


def test_gradient_check_through_a_whole_model():
    model = small_model("float64")
    model.compile("adam")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 7, 7, 1)), np.array([0, 2, 1, 2])
    probs = model.forward(x, training=True)
    model.backward(model.loss.gradient_wrt_logits(y, probs), skip_last_activation=True)
    for layer in model.layers:
        for key, param in layer.params.items():
            numerical = numerical_gradient(lambda: model.loss(y, model.forward(x)), param)
            assert relative_error(layer.grads[key], numerical) < 1e-6, (layer.name, key)


def test_relu_moved_past_the_pool_changes_no_output_and_no_gradient():
    # Sequential computes "conv + relu, then max pool" as "conv, max pool, then relu" (they commute).
    # Compare with the plain order, layer by layer, on images with blank regions (ties in the pools).
    model = paper_cnn(seed=0)
    model.compile("adam")
    assert [model._relu_moves_past_pool(i) for i in range(len(model.layers))] == [True, False, True] + [False] * 5
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 28, 28, 1)).astype(np.float32), rng.integers(0, 10, 8)
    x[:, :6] = 0
    model.layers[0].params["bias"][:] = rng.standard_normal(32).astype(np.float32) * 0.1
    probs = model.forward(x, training=True)
    model.backward(model.loss.gradient_wrt_logits(y, probs), skip_last_activation=True)
    moved = {(layer.name, key): grad.copy() for layer in model.layers for key, grad in layer.grads.items()}

    plain = x
    for layer in model.layers:
        plain = layer.forward(plain, training=True)
    np.testing.assert_array_equal(plain, probs)
    d_out = model.loss.gradient_wrt_logits(y, plain)
    for i, layer in enumerate(reversed(model.layers)):
        d_out = layer.backward(d_out, skip_activation=(i == 0))
    for layer in model.layers:
        for key, grad in layer.grads.items():
            np.testing.assert_array_equal(grad, moved[layer.name, key], err_msg=f"{layer.name}/{key}")


def test_training_step_reduces_the_loss_on_a_fixed_batch():
    model = small_model()
    model.compile(tinycnn.Adam(learning_rate=0.01))
    rng = np.random.default_rng(1)
    x, y = rng.random((16, 7, 7, 1)).astype(np.float32), rng.integers(0, 3, 16)
    losses = [model.train_step(x, y)[1] for _ in range(50)]
    assert losses[-1] < 0.5 * losses[0]


def test_fit_learns_a_small_mnist_subset(mnist_data):
    (x_train, y_train), (x_test, y_test) = mnist_data
    model = paper_cnn(seed=0)
    model.compile("adam")
    history = model.fit(prepare_images(x_train[:2000]), y_train[:2000], epochs=1, seed=0, verbose=0,
                        validation_data=(prepare_images(x_test[:500]), y_test[:500]))
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["val_accuracy"][0] > 0.75  # chance is 0.10


def test_fit_prints_one_line_per_epoch_when_not_a_terminal():
    model = small_model()
    model.compile("adam")
    out = io.StringIO()
    x, y = np.zeros((64, 7, 7, 1), np.float32), np.zeros(64, int)
    model.fit(x, y, epochs=2, batch_size=8, verbose=1, stream=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert lines[1].startswith("8/8 [==============================] - ") and "loss: " in lines[1]
    assert "\r" not in out.getvalue()


def test_fit_is_quiet_with_verbose_0_and_reproducible_with_a_seed():
    x = np.random.default_rng(0).random((40, 7, 7, 1)).astype(np.float32)
    y = np.arange(40) % 3
    results = []
    for _ in range(2):
        model = small_model(seed=1)
        model.compile("adam")
        out = io.StringIO()
        results.append(model.fit(x, y, epochs=2, batch_size=8, seed=5, verbose=0, stream=out).history["loss"])
        assert out.getvalue() == ""
    assert results[0] == results[1]


def test_predict_and_evaluate_shapes():
    model = small_model()
    model.compile("adam")
    x = np.zeros((10, 7, 7, 1), np.float32)
    probs = model.predict(x, batch_size=3)
    assert probs.shape == (10, 3) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    loss, accuracy = model.evaluate(x, np.zeros(10, int))
    assert 0 <= accuracy <= 1 and loss > 0


def test_wrong_input_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"expects inputs of shape \(N, 28, 28, 1\), got \(2, 28, 28\)"):
        paper_cnn().predict(np.zeros((2, 28, 28)))


def test_fit_needs_compile():
    with pytest.raises(ValueError, match="call compile"):
        small_model().fit(np.zeros((2, 7, 7, 1)), np.zeros(2, int))


def test_save_and_load_round_trip(tmp_path):
    model = paper_cnn(seed=0)
    model.metadata = {"seed": 0}
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = load_model(path)
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert loaded.metadata == {"seed": 0}
    assert repr(loaded) == repr(model)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def write_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "good.npz"
    small_model().save(path)
    with np.load(path) as data:
        return path, {k: data[k] for k in data.files}


def test_load_rejects_a_truncated_file(saved, tmp_path):
    path, _ = saved
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ModelFileError, match="truncated.npz: not a readable .npz model file"):
        load_model(bad)


def test_load_rejects_garbage_missing_and_directories(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(ModelFileError, match="junk.npz: not a readable"):
        load_model(tmp_path / "junk.npz")
    with pytest.raises(ModelFileError, match="nothere.npz: no such file"):
        load_model(tmp_path / "nothere.npz")
    with pytest.raises(ModelFileError, match="is a directory"):
        load_model(tmp_path)


def test_load_rejects_mismatched_weights(saved, tmp_path):
    arrays = dict(saved[1])
    arrays["dense/kernel"] = np.zeros((2, 2), np.float32)
    write_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelFileError, match=r"'dense/kernel' have shape \(2, 2\), the architecture needs"):
        load_model(tmp_path / "bad.npz")


def test_load_rejects_missing_and_extra_weights(saved, tmp_path):
    arrays = dict(saved[1])
    del arrays["conv2d/bias"]
    write_npz(tmp_path / "missing.npz", **arrays)
    with pytest.raises(ModelFileError, match="'conv2d/bias' are missing"):
        load_model(tmp_path / "missing.npz")
    arrays = dict(saved[1])
    arrays["extra"] = np.zeros(3)
    write_npz(tmp_path / "extra.npz", **arrays)
    with pytest.raises(ModelFileError, match=r"unexpected arrays \['extra'\]"):
        load_model(tmp_path / "extra.npz")


def test_load_never_unpickles(saved, tmp_path):
    arrays = dict(saved[1])
    arrays["dense/kernel"] = np.array([object()], dtype=object)
    write_npz(tmp_path / "pickled.npz", **arrays)
    with pytest.raises(ModelFileError, match="pickled.npz"):
        load_model(tmp_path / "pickled.npz")


def test_load_rejects_a_bad_architecture(saved, tmp_path):
    arrays = dict(saved[1])
    config = json.loads(str(arrays["__config__"]))
    config["layers"][0]["class"] = "Lambda"
    arrays["__config__"] = np.array(json.dumps(config))
    write_npz(tmp_path / "arch.npz", **arrays)
    with pytest.raises(ModelFileError, match="unknown layer class 'Lambda'"):
        load_model(tmp_path / "arch.npz")
    arrays["__config__"] = np.array("{not json")
    write_npz(tmp_path / "json.npz", **arrays)
    with pytest.raises(ModelFileError, match="json.npz: bad model architecture"):
        load_model(tmp_path / "json.npz")


def test_a_zip_that_is_not_a_model(tmp_path):
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(ModelFileError, match="other.npz"):
        load_model(tmp_path / "other.npz")


def test_public_names():
    for name in ("Sequential", "Conv2D", "MaxPool2D", "Dense", "Flatten", "ReLU", "Softmax", "Adam", "SGD",
                 "load_model", "SparseCategoricalCrossentropy"):
        assert hasattr(tinycnn, name)


def test_an_ensemble_predicts_the_mean_of_its_models_probabilities(tmp_path):
    models = [paper_cnn(seed=seed) for seed in (0, 1, 2)]
    x = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    mean = np.mean([m.predict(x) for m in models], axis=0)
    np.testing.assert_allclose(tinycnn.Ensemble(models).predict(x), mean, rtol=1e-6)
    for i, model in enumerate(models):
        model.save(tmp_path / f"m{i}.npz")
    assert isinstance(tinycnn.load_models([tmp_path / "m0.npz"]), Sequential)
    loaded = tinycnn.load_models([tmp_path / f"m{i}.npz" for i in range(3)])
    np.testing.assert_allclose(loaded.predict(x), mean, rtol=1e-6)


def test_an_ensemble_needs_models_of_one_shape():
    with pytest.raises(ValueError, match="at least one"):
        tinycnn.Ensemble([])
    with pytest.raises(ValueError, match="same input and output shapes"):
        tinycnn.Ensemble([paper_cnn(seed=0), reader_cnn(seed=0)])  # 10 classes and 11
    tinycnn.Ensemble([paper_cnn(seed=0), ffnn(seed=0)])  # different layers, same inputs and classes: fine
