"""Sequential: a stack of layers with a Keras-like interface.

    model = Sequential([Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)), ...], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=5, batch_size=32, validation_data=(x_test, y_test))
    loss, accuracy = model.evaluate(x_test, y_test)
    probabilities = model.predict(x_test)          # (N, 10)
    model.save("model.npz"); model = load_model("model.npz")

One training step is: forward through every layer, the loss, backward through
every layer in reverse (each fills its own grads), then one optimiser update.

One shortcut: a layer ending in a ReLU followed by a max pooling is computed as
pool, then ReLU. The two commute, max(relu(a), relu(b)) = relu(max(a, b)), because
a ReLU never changes which of two numbers is larger; the output and every gradient
are exactly the same, and the ReLU runs on 4x fewer numbers (a training step of the
paper's CNN at batch 32 got about 10% faster).
"""

import json
import sys
import zipfile

import numpy as np

from .fileio import atomic_write
from .layers import LAYERS, MaxPooling2D, ReLU, Softmax
from .losses import SparseCategoricalCrossentropy, check_labels, get_loss
from .optimizers import get_optimizer
from .progress import ProgressBar

FORMAT = "tinycnn.Sequential"
FORMAT_VERSION = 1
# predict() runs the network on at most this many samples at a time, whatever its batch_size:
# the im2col buffers of 128 images stay in the CPU's cache, and inference at batch_size=1000 ran
# about 2x faster this way than on all 1000 at once (measured here, side by side in one process).
PREDICT_BLOCK = 128


class ModelFileError(ValueError):
    """A model file that cannot be loaded: the message names the file and the problem."""


class History:
    """What fit() returns: history["loss"], ["accuracy"] (and "val_..." with validation data), one
    value per epoch; with fit(log_every=K), `steps` also holds the running loss and accuracy every K steps."""

    def __init__(self):
        self.epoch = []
        self.history = {}
        self.steps = []

    def append(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def save(self, path):
        """Write {"epoch": [...], "history": {...}, "steps": [...]} as JSON, atomically."""
        with atomic_write(path, "w") as f:
            json.dump({"epoch": self.epoch, "history": self.history, "steps": self.steps}, f, indent=1)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class Sequential:
    """Layers applied one after the other. Weights are created when the input
    shape is known: at once if the first layer has `input_shape`, else by build()."""

    def __init__(self, layers=(), name="sequential", seed=None):
        self.name = name
        self.seed = seed
        self.layers = []
        self.optimizer = None
        self.loss = None
        self.metadata = {}
        for layer in layers:
            self.add(layer)
        if self.layers and self.layers[0].input_shape is not None:
            self.build()

    def add(self, layer):
        """Append a layer, naming it like Keras: conv2d, conv2d_1, ... (unless it has a name)."""
        taken = {existing.name for existing in self.layers}
        if layer.name is None:
            layer.name = layer.base_name
            count = 0
            while layer.name in taken:
                count += 1
                layer.name = f"{layer.base_name}_{count}"
        elif layer.name in taken:
            raise ValueError(f"layer name {layer.name!r} is used twice in model {self.name!r}")
        self.layers.append(layer)

    def build(self, input_shape=None):
        """Create every layer's weights for samples of `input_shape` (no batch axis), drawing
        them from np.random.default_rng(self.seed) layer by layer, so a seed reproduces them."""
        if not self.layers:
            raise ValueError("cannot build a model with no layers")
        shape = tuple(input_shape) if input_shape is not None else self.layers[0].input_shape
        if shape is None:
            raise ValueError("the input shape is unknown: give the first layer input_shape=... or call build(input_shape)")
        rng = np.random.default_rng(self.seed)
        for layer in self.layers:
            layer.build(shape, rng)
            shape = layer.output_shape
        self.layers[0].needs_input_grad = False

    @property
    def built(self):
        return bool(self.layers) and all(layer.built for layer in self.layers)

    @property
    def input_shape(self):
        return self.layers[0].input_shape

    def count_params(self):
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn=print):
        """Print the layer table of the paper's Figure 6 (Keras's model.summary())."""
        if not self.built:
            raise ValueError("the model is not built yet: give the first layer input_shape=... or call build()")
        columns = (34, 26, 10)
        rule, double_rule = "_" * sum(columns), "=" * sum(columns)

        def row(*cells):
            return "".join(f"{cell:<{width}}" for cell, width in zip(cells, columns)).rstrip()

        lines = [f'Model: "{self.name}"', rule, row(" Layer (type)", "Output Shape", "Param #"), double_rule]
        for i, layer in enumerate(self.layers):
            shape = "(None, " + ", ".join(map(str, layer.output_shape)) + ")"
            lines.append(row(f" {layer.name} ({type(layer).__name__})", shape, str(layer.count_params())))
            lines.append("" if i < len(self.layers) - 1 else double_rule)
        total = self.count_params()
        lines += [f"Total params: {total:,}", f"Trainable params: {total:,}", "Non-trainable params: 0", rule]
        print_fn("\n".join(lines))

    def __repr__(self):
        return f"Sequential({self.layers!r})"

    # --- the computation ---------------------------------------------------------
    def _check_input(self, x):
        if not self.built:
            self.build(np.shape(x)[1:])
        x = np.asarray(x, dtype=self.layers[0].dtype)
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"model {self.name!r} expects inputs of shape (N, {', '.join(map(str, self.input_shape))}), "
                             f"got {x.shape}")
        return x

    def _relu_moves_past_pool(self, i):
        """True if layer i ends in a ReLU that is applied after the next layer, a max pooling (see the module docstring)."""
        return (isinstance(self.layers[i].activation, ReLU) and i + 1 < len(self.layers)
                and isinstance(self.layers[i + 1], MaxPooling2D) and self.layers[i + 1].activation is None)

    def forward(self, x, training=False):
        for i, layer in enumerate(self.layers):
            x = layer.forward(x, training, skip_activation=self._relu_moves_past_pool(i))
            if i > 0 and self._relu_moves_past_pool(i - 1):
                x = self.layers[i - 1].activation.forward(x, training)
        return x

    def backward(self, d_out, skip_last_activation=False):
        """Backpropagate dL/d(output) through every layer, last to first; each fills its grads."""
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            if i > 0 and self._relu_moves_past_pool(i - 1):
                d_out = self.layers[i - 1].activation.backward(d_out)
            skip_activation = self._relu_moves_past_pool(i) or (i == last and skip_last_activation)
            d_out = self.layers[i].backward(d_out, skip_activation=skip_activation)

    def compile(self, optimizer="adam", loss="sparse_categorical_crossentropy", metrics=("accuracy",)):
        """Choose the optimiser and the loss. Accuracy is the one metric (and always reported)."""
        unknown = [m for m in (metrics or ()) if m not in ("accuracy", "acc")]
        if unknown:
            raise ValueError(f"metrics: only 'accuracy' is supported, got {unknown}")
        self.optimizer = get_optimizer(optimizer)
        self.loss = get_loss(loss)

    def _uses_fused_gradient(self):
        """True when the model ends in a softmax activation and the loss is cross-entropy on probabilities:
        then the gradient at the logits is simply (p - onehot(y)) / N."""
        return (isinstance(self.loss, SparseCategoricalCrossentropy) and not self.loss.from_logits
                and isinstance(self.layers[-1].activation, Softmax))

    def train_step(self, x, y):
        """One forward/backward/update on a batch x (N, ...) with labels y (N,); returns the batch's probabilities and loss."""
        probs = self.forward(x, training=True)
        loss = self.loss(y, probs)
        if self._uses_fused_gradient():
            self.backward(self.loss.gradient_wrt_logits(y, probs), skip_last_activation=True)
        else:
            self.backward(self.loss.gradient(y, probs))
        self.optimizer.apply_gradients(
            (layer.grads[key], layer.params[key]) for layer in self.layers for key in layer.params)
        return probs, loss

    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, shuffle=True, seed=None, verbose=1,
            stream=None, log_every=None):
        """Train for `epochs` passes over x (N, ...) with integer labels y (N,).

        Batches are drawn in an order shuffled by np.random.default_rng(seed) each epoch.
        verbose=1 shows a progress line per epoch (one plain line per epoch when the output
        is not a terminal); verbose=0 is silent. log_every=K records the running loss and
        accuracy every K steps in history.steps. Returns a History.
        """
        if self.optimizer is None:
            raise ValueError("call compile() before fit()")
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"fit: batch_size must be a positive int, got {batch_size!r}")
        x = self._check_input(x)
        y = check_labels(y, self.layers[-1].output_shape[-1])
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(f"fit: x and y need the same, non-zero number of samples; got {len(x)} and {len(y)}")
        stream = stream if stream is not None else sys.stdout
        rng = np.random.default_rng(seed)
        history = History()
        steps = -(-len(x) // batch_size)
        for epoch in range(epochs):
            if verbose:
                stream.write(f"Epoch {epoch + 1}/{epochs}\n")
            bar = ProgressBar(steps, stream=stream) if verbose else None
            order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
            seen = correct = 0
            loss_sum = 0.0
            for step in range(steps):
                batch = order[step * batch_size:(step + 1) * batch_size]
                probs, loss = self.train_step(x[batch], y[batch])
                seen += len(batch)
                loss_sum += loss * len(batch)
                correct += int((probs.argmax(axis=1) == y[batch]).sum())
                logs = {"loss": loss_sum / seen, "accuracy": correct / seen}
                if bar:
                    bar.update(step + 1, logs)
                if log_every and (step + 1) % log_every == 0:
                    history.steps.append({"epoch": epoch + (step + 1) / steps, **logs})
            if validation_data is not None:
                val_loss, val_accuracy = self.evaluate(*validation_data)
                logs.update(val_loss=val_loss, val_accuracy=val_accuracy)
            if bar:
                bar.finish(logs)
            history.append(epoch, logs)
        return history

    def predict(self, x, batch_size=256):
        """Class probabilities (N, K) for x (N, ...), computed min(batch_size, PREDICT_BLOCK) samples at a time."""
        x = self._check_input(x)
        step = min(batch_size, PREDICT_BLOCK)
        out = np.empty((len(x), self.layers[-1].output_shape[-1]), dtype=x.dtype)
        for i in range(0, len(x), step):
            out[i:i + step] = self.forward(x[i:i + step])
        return out

    def evaluate(self, x, y, batch_size=256):
        """(loss, accuracy) on x (N, ...) with labels y (N,)."""
        probs = self.predict(x, batch_size)
        y = check_labels(y, probs.shape[-1])
        loss = self.loss if self.loss is not None else SparseCategoricalCrossentropy()
        return loss(y, probs), float((probs.argmax(axis=1) == y).mean())

    # --- saving and loading ---------------------------------------------------------
    def get_config(self):
        return {"format": FORMAT, "version": FORMAT_VERSION, "name": self.name,
                "input_shape": list(self.input_shape),
                "layers": [{"class": type(layer).__name__, "config": layer.get_config()} for layer in self.layers]}

    def save(self, path):
        """Write the architecture (JSON) and the weights to one .npz file, atomically.
        self.metadata (a JSON-serialisable dict: how it was trained, its accuracy) is saved too."""
        arrays = {f"{layer.name}/{key}": value for layer in self.layers for key, value in layer.params.items()}
        arrays["__config__"] = np.array(json.dumps(self.get_config()))
        arrays["__metadata__"] = np.array(json.dumps(self.metadata))
        with atomic_write(path) as f:
            np.savez(f, **arrays)


def _model_from_config(config, path):
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a tinycnn model (no {FORMAT} architecture in it)")
    if config.get("version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: model format version {config.get('version')!r}, this tinycnn reads {FORMAT_VERSION}")
    layers = []
    for spec in config["layers"]:
        if spec.get("class") not in LAYERS:
            raise ModelFileError(f"{path}: unknown layer class {spec.get('class')!r}")
        layers.append(LAYERS[spec["class"]](**spec["config"]))
    model = Sequential(layers, name=config["name"])
    model.build(config["input_shape"])
    return model


def load_model(path):
    """Rebuild a model saved by Sequential.save. Never unpickles anything: a model
    file holds only arrays and JSON. Raises ModelFileError naming the file on any problem."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a directory, not a model file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ModelFileError(f"{path}: not a readable .npz model file ({error})") from None
    try:
        config = json.loads(str(arrays.pop("__config__")))
        metadata = json.loads(str(arrays.pop("__metadata__", "{}")))
        model = _model_from_config(config, path)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: bad model architecture ({type(error).__name__}: {error})") from None
    model.metadata = metadata
    for layer in model.layers:
        for key, expected in layer.params.items():
            name = f"{layer.name}/{key}"
            if name not in arrays:
                raise ModelFileError(f"{path}: weights {name!r} are missing")
            value = arrays.pop(name)
            if value.shape != expected.shape:
                raise ModelFileError(f"{path}: weights {name!r} have shape {value.shape}, the architecture needs {expected.shape}")
            if not np.issubdtype(value.dtype, np.floating) or not np.all(np.isfinite(value)):
                raise ModelFileError(f"{path}: weights {name!r} are not finite floating-point numbers")
            layer.params[key] = value.astype(layer.dtype)
    if arrays:
        raise ModelFileError(f"{path}: unexpected arrays {sorted(arrays)} that no layer uses")
    return model


class Ensemble:
    """Several trained models read as one: `predict` averages their class probabilities.

    Networks trained from different random seeds (or with different recipes) make
    partly different mistakes, so the mean of their outputs is right more often than one of them,
    and less sure where they disagree. All must take the same inputs and give
    the same classes. Only for reading: it has no `fit`.
    """

    def __init__(self, models):
        self.models = list(models)
        if not self.models:
            raise ValueError("an Ensemble needs at least one model")
        shapes = {(m.input_shape, m.layers[-1].output_shape) for m in self.models}
        if len(shapes) > 1:
            raise ValueError("the models of an Ensemble must have the same input and output shapes, "
                             f"got {sorted(shapes)}")

    def predict(self, x, batch_size=256):
        """Mean class probabilities (N, K) of the models for x (N, ...)."""
        return sum(model.predict(x, batch_size) for model in self.models) / len(self.models)

    def __repr__(self):
        return f"Ensemble({len(self.models)} models)"


def load_models(paths):
    """One model file -> its model (`load_model`); several -> their `Ensemble`.
    Raises ModelFileError naming the files if they cannot be averaged."""
    paths = list(paths)
    models = [load_model(path) for path in paths]
    try:
        return models[0] if len(models) == 1 else Ensemble(models)
    except ValueError as error:
        raise ModelFileError(f"{', '.join(map(str, paths))}: {error}") from None
