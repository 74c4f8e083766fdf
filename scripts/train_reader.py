"""Train the reading model: the paper's layers, 11 classes (0-9 and "not a digit"), on augmented digits.

    python scripts/train_reader.py --seed 0 --epochs 4 --out tinycnn/weights/reader_cnn.npz
    python scripts/train_reader.py --evaluate A.npz [B.npz ...]   # no training: the table for saved models, averaged

Training data (see tinycnn/augment.py for each step):
  - MNIST training digits as they are, plus --copies augmented copies of each, made to look like
    what the segmenter cuts out of a photo (binary mask -> normalize.to_mnist);
  - the USPS training digits minus the 20% held aside for validation, augmented the same way;
  - digits rendered from the handwriting-like fonts Debian packages (fonts-comic-neue, fonts-breip, ...),
    augmented; whichever of them are installed are used and recorded in the model's metadata;
  - examples of class 10: pieces of digits, pairs run together, punctuation, scribbles.
Never the MNIST test digits. Prints accuracy on MNIST test and held-aside USPS for this model and for the
shipped paper model, and saves the model with its command, seed and numbers in its metadata.
"""

import argparse
import multiprocessing
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from tinycnn import Adam, load_model, load_models
from tinycnn.augment import NOT_A_DIGIT, augment_digit, font_digits, not_a_digit
from tinycnn.datasets import mnist, usps
from tinycnn.models import reader_cnn
from tinycnn.normalize import to_mnist
from tinycnn.train import prepare_images

FONT_NAMES = ("comic-neue", "fifthhorseman", "breip", "bwht", "femkeklaver", "humor-sans", "klee", "kristi",
              "dancingscript")
PAPER_WEIGHTS = Path(__file__).resolve().parents[1] / "tinycnn" / "weights" / "paper_cnn.npz"


def handwriting_fonts():
    """The installed handwriting-like fonts from Debian's packages (by their folder names)."""
    return sorted(path for path in Path("/usr/share/fonts").rglob("*") if path.suffix in (".ttf", ".otf")
                  and any(name in str(path).lower() for name in FONT_NAMES))


def _make_chunk(job):
    """Worker: augment one chunk of (source digit, label) pairs with its own seeded generator."""
    sources, labels, neighbours, not_digits, seed = job
    rng = np.random.default_rng(seed)
    images = [augment_digit(digit, label, rng, neighbour=neighbours[rng.integers(len(neighbours))])
              for digit, label in zip(sources, labels)]
    images += [not_a_digit(neighbours, rng) for _ in range(not_digits)]
    return np.array(images, dtype=np.float32), np.concatenate([labels, np.full(not_digits, NOT_A_DIGIT)])


def build_training_set(sources, labels, not_digit_fraction, seed, workers, chunk=2000):
    """Augment every (source, label) once, plus not-a-digit examples; chunks are seeded from `seed`,
    so the result does not depend on the number of workers."""
    neighbours = [s for s in sources[::max(1, len(sources) // 3000)]]
    seeds = np.random.SeedSequence(seed).spawn(-(-len(sources) // chunk))
    jobs = [(sources[i:i + chunk], labels[i:i + chunk], neighbours, int(round(min(chunk, len(sources) - i) * not_digit_fraction)), s)
            for i, s in zip(range(0, len(sources), chunk), seeds)]
    with multiprocessing.Pool(workers) as pool:
        parts = pool.map(_make_chunk, jobs)
    return np.concatenate([p[0] for p in parts])[..., None], np.concatenate([p[1] for p in parts]).astype(np.int64)


def through_the_reader(images):
    """Digits (N, h, w) uint8 -> what the reader would feed the network: upscaled 4x, thresholded, to_mnist."""
    out = []
    for image in images:
        big = np.asarray(Image.fromarray(image).resize((image.shape[1] * 4, image.shape[0] * 4), Image.Resampling.BICUBIC))
        out.append(to_mnist(big > 127))
    return np.array(out, dtype=np.float32)[..., None]


def digit_accuracy(model, x, y):
    """Accuracy over the ten digit classes (the reader's answer is the best digit even if class 10 wins)."""
    probs = model.predict(x)[:, :10]
    return float((probs.argmax(axis=1) == y).mean())


def accuracy_table(model, x_test, y_test, u_val, uy_val):
    """Print the digit accuracy of `model` next to the shipped paper model's, as a Markdown table,
    on MNIST test (as it is and through the reader) and the held-aside USPS digits; returns model's {data: accuracy}."""
    evaluation = {
        "mnist_test": (prepare_images(x_test), y_test),
        "mnist_test_through_reader": (through_the_reader(x_test), y_test),
        "usps_held_aside": (through_the_reader(u_val), uy_val),
    }
    paper = load_model(PAPER_WEIGHTS)
    scores = {}
    print("\n| data | paper model | reading model |\n|---|---|---|")
    for name, (images, truth) in evaluation.items():
        scores[name] = digit_accuracy(model, images, truth)
        print(f"| {name} | {100 * digit_accuracy(paper, images, truth):.2f}% | {100 * scores[name]:.2f}% |")
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--copies", type=int, default=2, help="augmented copies of each MNIST training digit")
    parser.add_argument("--usps-copies", type=int, default=4, help="augmented copies of each USPS training digit")
    parser.add_argument("--font-copies", type=int, default=40, help="augmented copies of each font glyph")
    parser.add_argument("--not-digit-fraction", type=float, default=0.08)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-dir", help="MNIST folder (default: $TINYCNN_DATA)")
    parser.add_argument("--out", default="reader_cnn.npz")
    parser.add_argument("--evaluate", nargs="+", metavar="MODEL",
                        help="train nothing: print the accuracy table for these saved models (several: their average)")
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, y_test) = mnist.load_data(args.data_dir)
    (u_train, uy_train), (u_val, uy_val) = usps.load_data()
    if args.evaluate:
        accuracy_table(load_models(args.evaluate), x_test, y_test, u_val, uy_val)
        return 0
    fonts = handwriting_fonts()
    glyphs = font_digits(fonts)
    print(f"MNIST {len(x_train)}, USPS {len(u_train)} (+{len(u_val)} held aside), {len(fonts)} fonts "
          f"-> {len(glyphs)} glyphs", flush=True)

    sources = ([*x_train] * args.copies + [*u_train] * args.usps_copies + [g for g, _ in glyphs] * args.font_copies)
    labels = np.concatenate([np.tile(y_train, args.copies), np.tile(uy_train, args.usps_copies),
                             np.tile([label for _, label in glyphs], args.font_copies)]).astype(np.int64)
    start = time.perf_counter()
    x_aug, y_aug = build_training_set(sources, labels, args.not_digit_fraction, args.seed, args.workers)
    print(f"augmented {len(x_aug)} examples in {time.perf_counter() - start:.0f}s", flush=True)
    x = np.concatenate([prepare_images(x_train), x_aug])
    y = np.concatenate([y_train.astype(np.int64), y_aug])

    model = reader_cnn(seed=args.seed)
    model.compile(optimizer=Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x, y, epochs=args.epochs, batch_size=32, seed=args.seed)
    seconds = time.perf_counter() - start

    scores = accuracy_table(model, x_test, y_test, u_val, uy_val)
    model.metadata = {
        "command": "python scripts/train_reader.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "seed": args.seed, "epochs": args.epochs, "examples": int(len(x)), "classes": "0-9 and 10 = not a digit",
        "fonts": [p.name for p in fonts], "train_accuracy": history.history["accuracy"][-1],
        "seconds_training": round(seconds), "accuracy": scores, "numpy": np.__version__,
    }
    model.save(args.out)
    print(f"Saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
