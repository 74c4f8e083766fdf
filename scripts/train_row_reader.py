"""Train the row reader (tinycnn/rows.py) with CTC on rows of touching augmented MNIST training digits.

    python scripts/train_row_reader.py --seed 0 --out tinycnn/weights/row_reader.npz
    python scripts/train_row_reader.py --seed 0 --row-width 144 --out tinycnn/weights/row_reader_wide.npz
    python scripts/train_row_reader.py --seed 2 --epochs 4 --learning-rate 3e-4 --start-from row_reader.npz --out further.npz
    python scripts/train_row_reader.py --seed 0 --column-px 2 --out row_reader_fine.npz
    python scripts/train_row_reader.py --blobs blobs_11.npz --seed 21 --epochs 3 --learning-rate 2e-4 --start-from row_reader.npz --out on_blobs.npz

Each row holds 1 to 6 training digits (1 to 8 in a 144-px row; never the MNIST test digits), each augmented as for the
reading model (augment.digit_mask: turned, slanted, distorted, thresholded, redrawn with another pen)
and run together until they touch or overlap a little (augment.touching_row), then normalised as the
reader does (rows.row_input). The network starts from the shipped reading model's three convolutions
(rows.take_convolutions; --start-from none: from random weights), or, given a row reader of the same
width, from all its weights, to train it further on new rows (another --seed makes other rows; the
metadata keeps every command before it, oldest first, as start_from_commands). The rows
are made once, before training; --held-aside of them (1,000) are kept out of training to measure how many
rows the network reads exactly. --blobs adds blobs the segmenter cut out of generated pages
(scripts/harvest_blobs.py): then a tenth of the blobs are held aside instead, and the rest are
trained on beside as many made rows. Saves the model with its command, seed and numbers in its metadata.
"""

import argparse
import multiprocessing
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from tinycnn import Adam
from tinycnn.augment import digit_mask, touching_row
from tinycnn.ctc import best_path, ctc_loss
from tinycnn.datasets import mnist
from tinycnn.model import load_model
from tinycnn.rows import ROW_WIDTH, WIDE_ROW, column_geometry, logits_of, row_cnn, row_input, take_convolutions

# The share of rows holding 1, 2, 3, ... digits, by row width: mostly the pairs and triples fast writers join.
ROW_SHARES = {ROW_WIDTH: (0.08, 0.27, 0.25, 0.2, 0.1, 0.1), WIDE_ROW: (0.06, 0.2, 0.2, 0.16, 0.12, 0.1, 0.08, 0.08)}
DEFAULT_ROWS = 96000
READER_WEIGHTS = Path(__file__).resolve().parents[1] / "tinycnn" / "weights" / "reader_cnn.npz"


def _make_rows(job):
    """Worker: `count` rows `width` px wide from the digits (N, 28, 28) and labels, with its own seeded generator."""
    images, labels, count, seed, width = job
    rng = np.random.default_rng(seed)
    shares = ROW_SHARES[width]
    rows, strings = [], []
    for _ in range(count):
        picked = rng.integers(0, len(images), rng.choice(np.arange(1, len(shares) + 1), p=shares))
        height = int(rng.integers(28, 70))
        row = touching_row([digit_mask(images[i], int(labels[i]), rng, height) for i in picked], rng)
        rows.append(row_input(row, width)[0])
        strings.append([int(labels[i]) for i in picked])
    return rows, strings


def make_rows(images, labels, count, seed, workers, chunk=2000, width=ROW_WIDTH):
    """`count` rows (count, 28, width) float32 and their digit strings; chunks are seeded from `seed`,
    so the rows do not depend on the number of workers."""
    seeds = np.random.SeedSequence(seed).spawn(-(-count // chunk))
    jobs = [(images, labels, min(chunk, count - i), s, width) for i, s in zip(range(0, count, chunk), seeds)]
    with multiprocessing.Pool(workers) as pool:
        parts = pool.map(_make_rows, jobs)
    return np.array([r for rows, _ in parts for r in rows], dtype=np.float32), [s for _, ss in parts for s in ss]


def load_blobs(path, width):
    """The blobs harvested by scripts/harvest_blobs.py as rows (N, 28, width), and their digit strings."""
    with np.load(path) as blobs:
        strings = np.split(blobs["digits"], np.cumsum(blobs["lengths"])[:-1])
        return blobs[f"rows{width}"], [[int(d) for d in s] for s in strings]


def training_rows(args, images, labels, blobs=None):
    """(rows, strings) to train on and (rows, strings) held aside to measure, made as the arguments say.

    Made rows alone: --rows + --held-aside of them, the first --held-aside held aside. With blobs (load_blobs'
    rows and strings of --blobs), a tenth of them (picked by --seed) are held aside: they are what the reader
    meets, so they are what to measure it on; the rest are trained on beside --rows made rows (as many as
    them by default)."""
    if blobs is None:
        count = DEFAULT_ROWS if args.rows is None else args.rows
        rows, strings = make_rows(images, labels, count + args.held_aside, args.seed, args.workers,
                                  width=args.row_width)
        return rows[args.held_aside:], strings[args.held_aside:], rows[:args.held_aside], strings[:args.held_aside]
    blobs, blob_strings = blobs
    order = np.random.default_rng(args.seed).permutation(len(blobs))
    aside, kept = order[:len(order) // 10], order[len(order) // 10:]
    made, made_strings = make_rows(images, labels, len(kept) if args.rows is None else args.rows, args.seed + 100,
                                   args.workers, width=args.row_width)
    return (np.concatenate([blobs[kept], made]), [blob_strings[k] for k in kept] + made_strings,
            blobs[aside], [blob_strings[k] for k in aside])


def rows_read_exactly(model, rows, strings, batch=250):
    """The share of rows whose best-path reading is exactly their digit string."""
    read = [[label for label, _, _ in found] for i in range(0, len(rows), batch)
            for found in best_path(logits_of(model, rows[i:i + batch]))]
    return float(np.mean([r == s for r, s in zip(read, strings)]))


def shifted(rows, rng):
    """Rows (N, 28, W) each moved 0-3 px right and up to a pixel up or down, zeros coming in: where a
    digit falls against the network's columns varies, so the rows cannot be learnt by heart."""
    out = np.zeros_like(rows)
    for k, row in enumerate(rows):
        dx, dy = int(rng.integers(0, 4)), int(rng.integers(-1, 2))
        moved = np.roll(row, (dy, dx), axis=(0, 1))
        moved[:, :dx] = 0
        moved[:max(dy, 0)] = 0
        moved[len(row) + min(dy, 0):] = 0
        out[k] = moved
    return out


def train(model, rows, strings, epochs, batch_size, learning_rate, seed, log=print, shift=False):
    """Adam on the CTC loss; the last epoch at a third of the learning rate (shift: each batch's rows
    moved by `shifted`). Returns the last epoch's mean loss."""
    optimizer = Adam(learning_rate)
    rng, shift_rng = np.random.default_rng(seed), np.random.default_rng(seed + 1000)
    for epoch in range(epochs):
        if epoch == epochs - 1 and epochs > 1:
            optimizer.learning_rate = learning_rate / 3
        order, losses, start = rng.permutation(len(rows)), [], time.perf_counter()
        for i in range(0, len(order), batch_size):
            picked = order[i:i + batch_size]
            batch = shifted(rows[picked], shift_rng) if shift else rows[picked]
            logits = model.forward(batch[..., None], training=True)
            loss, grad = ctc_loss(logits[:, 0], [strings[k] for k in picked])
            model.backward(grad[:, None])
            optimizer.apply_gradients((layer.grads[key], layer.params[key])
                                      for layer in model.layers for key in layer.params)
            losses.append(loss)
        log(f"epoch {epoch + 1}/{epochs}: CTC loss {np.mean(losses):.3f} ({time.perf_counter() - start:.0f}s)")
    return float(np.mean(losses))


def earlier_commands(model):
    """The commands that trained the row readers `model` was trained further from, oldest first
    (older files name only the one before them, as start_from_command)."""
    if "start_from_commands" in model.metadata:
        return list(model.metadata["start_from_commands"])
    return [model.metadata["start_from_command"]] if "start_from_command" in model.metadata else []


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int,
                        help=f"rows made for training (default {DEFAULT_ROWS}; with --blobs, as many as the blobs "
                             "trained on)")
    parser.add_argument("--held-aside", type=int, default=1000,
                        help="rows made to measure, not to train on (with --blobs, a tenth of the blobs instead)")
    parser.add_argument("--blobs", help="also train on the blobs in this file (scripts/harvest_blobs.py)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--row-width", type=int, choices=sorted(ROW_SHARES), default=ROW_WIDTH,
                        help="the row's width in px: 112 holds about six digits, 144 about eight")
    parser.add_argument("--column-px", type=int, choices=(2, 4), default=4,
                        help="px of row between the network's output columns (rows.row_cnn)")
    parser.add_argument("--start-from", default=str(READER_WEIGHTS),
                        help="a reading model whose three convolutions the network starts from "
                             "(default: the shipped one), a row reader of this width and columns to train further, "
                             "or none: random weights")
    parser.add_argument("--shift", action="store_true", help="move each training row 0-3 px right and a pixel up or down")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-dir", help="MNIST folder (default: $TINYCNN_DATA)")
    parser.add_argument("--out", default="row_reader.npz")
    args = parser.parse_args(argv)

    (x_train, y_train), _ = mnist.load_data(args.data_dir)
    start = time.perf_counter()
    blobs = None
    if args.blobs:
        try:
            blobs = load_blobs(args.blobs, args.row_width)
        except (OSError, ValueError, KeyError) as e:
            sys.exit(f"train_row_reader: {args.blobs}: not a file of blobs from harvest_blobs.py ({e})")
    rows, strings, aside, aside_strings = training_rows(args, x_train, y_train, blobs)
    print(f"{len(rows)} rows to train on, {len(aside)} held aside, in {time.perf_counter() - start:.0f}s", flush=True)

    model, start_from = row_cnn(seed=args.seed, width=args.row_width, column_px=args.column_px), {}
    if args.start_from != "none":
        given = load_model(args.start_from)
        if given.input_shape == model.input_shape and column_geometry(given) == column_geometry(model):
            commands = earlier_commands(given) + [given.metadata.get("command")]
            model, start_from = given, {"start_from_commands": commands}
        else:
            take_convolutions(model, given)
    start = time.perf_counter()
    loss = train(model, rows, strings, args.epochs, args.batch_size, args.learning_rate, args.seed,
                 log=lambda line: print(line, flush=True), shift=args.shift)
    seconds = time.perf_counter() - start
    exact = rows_read_exactly(model, aside, aside_strings)
    print(f"{'blobs' if args.blobs else 'rows'} held aside read exactly: {100 * exact:.1f}% of {len(aside)}")
    model.metadata = {
        "command": "python scripts/train_row_reader.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "seed": args.seed, "row_width": args.row_width, "column_px": args.column_px,
        "start_from": Path(args.start_from).name, "epochs": args.epochs, "rows": int(len(rows)), "ctc_loss": loss,
        "held_aside_rows_read_exactly": exact, "seconds_training": round(seconds), "numpy": np.__version__,
        **start_from, **({"blobs": Path(args.blobs).name} if args.blobs else {}),
    }
    model.save(args.out)
    print(f"Saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
