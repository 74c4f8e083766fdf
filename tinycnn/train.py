"""Train one of the paper's networks on MNIST with the paper's recipe.

    python -m tinycnn.train --model paper --epochs 5 --batch-size 32 --seed 0 --out model.npz

Prints the model summary (the paper's Figure 6), one log line per epoch and
the test accuracy (its Figures 7 and 10), then saves the model. Pixels are
scaled to [0, 1] by dividing by 255, as in the paper; no augmentation.
"""

import argparse
import shlex
import sys
import time

import numpy as np

from .datasets import mnist
from .models import MODELS
from .optimizers import Adam


def prepare_images(images):
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]: the paper's pixels / 255."""
    return (images.astype(np.float32) / 255.0)[..., None]


def train(model_name="paper", epochs=5, batch_size=32, seed=0, learning_rate=1e-3, data_dir=None, limit=None,
          verbose=1, stream=None, log_every=None):
    """Train and evaluate; returns (model, history, test_loss, test_accuracy, seconds_per_epoch).
    `limit` trains on the first `limit` training images only (for a quick try)."""
    (x_train, y_train), (x_test, y_test) = mnist.load_data(data_dir)
    x_train, y_train = x_train[:limit], y_train[:limit]
    x_train, x_test = prepare_images(x_train), prepare_images(x_test)
    model = MODELS[model_name](seed=seed)
    model.compile(optimizer=Adam(learning_rate=learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    if verbose:
        model.summary(print_fn=lambda text: print(text, file=stream or sys.stdout))
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, seed=seed, verbose=verbose,
                        stream=stream, validation_data=(x_test, y_test), log_every=log_every)
    seconds_per_epoch = (time.perf_counter() - start) / epochs  # includes scoring the test set each epoch
    return model, history, history.history["val_loss"][-1], history.history["val_accuracy"][-1], seconds_per_epoch


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tinycnn.train", description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="paper", help="network to train (default: paper)")
    parser.add_argument("--epochs", type=int, default=5, help="passes over the 60,000 training images (default: 5)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per step (default: 32, as Keras)")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's learning rate (default: 0.001)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the weights and the shuffling (default: 0)")
    parser.add_argument("--data-dir", help="folder with the MNIST files (default: $TINYCNN_DATA or the user cache)")
    parser.add_argument("--limit", type=int, help="train on the first LIMIT training images only (a quick try)")
    parser.add_argument("--out", default="model.npz", help="where to save the trained model (default: model.npz)")
    parser.add_argument("--history", metavar="FILE.json",
                        help="save the per-epoch and per-100-step loss and accuracy here (for tinycnn.plot)")
    parser.add_argument("--quiet", action="store_true", help="print only the final test accuracy")
    args = parser.parse_args(argv)
    if args.epochs <= 0 or args.batch_size <= 0 or (args.limit is not None and args.limit <= 0):
        parser.error("--epochs, --batch-size and --limit must be positive")
    try:
        model, history, test_loss, test_accuracy, seconds = train(
            args.model, args.epochs, args.batch_size, args.seed, args.learning_rate, args.data_dir, args.limit,
            verbose=0 if args.quiet else 1, log_every=100 if args.history else None)
    except mnist.MNISTError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Test loss: {test_loss:.4f} - test accuracy: {test_accuracy:.4f}")
    model.metadata = {
        "command": "python -m tinycnn.train " + shlex.join(sys.argv[1:] if argv is None else argv),
        "model": args.model, "epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed,
        "learning_rate": args.learning_rate, "train_accuracy": history.history["accuracy"][-1],
        "test_accuracy": test_accuracy, "test_loss": test_loss, "seconds_per_epoch": round(seconds, 1),
        "numpy": np.__version__,
    }
    try:
        model.save(args.out)
    except OSError as error:
        print(f"error: {args.out}: cannot save the model ({error.strerror or error})", file=sys.stderr)
        return 2
    print(f"Saved {args.out}")
    if args.history:
        history.save(args.history)
        print(f"Saved {args.history}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
