"""Collect blobs of touching digits as the reader meets them, for training the row readers on.

    python scripts/harvest_blobs.py --images 6400 --seed 11 --out blobs_11.npz

A row reader reads blobs the segmenter cut out of a page (tinycnn.read.read_again): ink that
went through thresholding, speck and line removal, at the working scale. train_row_reader.py
makes its rows otherwise, by running augmented digits together (augment.touching_row). This
script draws numbers with make_digit_strings.py's generator, but from the MNIST *training*
digits (never the test digits the evaluation sets are drawn from), nine in ten of them under
its "touching" condition and the rest under one of the others, reads each with the segmenter
and the shipped reading model as `read_digits` does, and keeps every blob the split search
weighed: its digits are the generator's digits whose box centres lie inside the blob's box,
left to right (blobs holding none, or more than six, are skipped).

The file holds the blobs made into rows of both widths the row readers take (rows.row_input):
rows112 (N, 28, 112) and rows144 (N, 28, 144) float32, digits (all labels, one after another),
lengths (N,) how many digits each blob holds, and conditions (N,) the image's condition.
Images are drawn in chunks of CHUNK, each with its own generator seeded from --seed, so the file
does not depend on --workers.
"""

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling script make_digit_strings.py
from make_digit_strings import CONDITIONS, make_image

from tinycnn import read, rows, segment
from tinycnn.datasets import mnist
from tinycnn.fileio import atomic_write

TOUCHING_SHARE = 0.9
MAX_DIGITS = 6  # a 28x112 row holds about six digits
CHUNK = 800


def blob_digits(blob, labels, boxes, factor):
    """The labels, left to right, of the digits whose boxes (image px) have their centres inside the blob's box
    (working px, the image shrunk `factor` times)."""
    bx, by, bw, bh = blob.box
    centres = [((x + w / 2) / factor, (y + h / 2) / factor) for x, y, w, h in boxes]
    inside = sorted((cx, label) for (cx, cy), label in zip(centres, labels)
                    if bx <= cx < bx + bw and by <= cy < by + bh)
    return [label for _, label in inside]


def _harvest(job):
    """Worker: the blobs of `count` images drawn with a generator seeded `seed`, from the digits given."""
    images, labels, count, seed = job
    model = read.shipped_model()
    score = read.make_scorer(model)
    others = [c for c in CONDITIONS if c != "touching"]
    rng = np.random.default_rng(seed)
    found_rows = {rows.ROW_WIDTH: [], rows.WIDE_ROW: []}
    strings, conditions = [], []
    for _ in range(count):
        condition = "touching" if rng.random() < TOUCHING_SHARE else others[rng.integers(len(others))]
        image, truth = make_image(condition, np.random.default_rng(int(rng.integers(2 ** 31))), images, labels)
        gray, factor, _ = read.load_at_working_scale(image)
        digits = [int(c) for c in truth["text"] if c.isdigit()]
        for blob in segment.segment(gray, score_fn=score).weighed:
            string = blob_digits(blob, digits, truth["boxes"], factor)
            if 1 <= len(string) <= MAX_DIGITS:
                for width, made in found_rows.items():
                    made.append(rows.row_input(blob.mask, width)[0])
                strings.append(string)
                conditions.append(condition)
    return found_rows, strings, conditions


def harvest(images, labels, count, seed, workers, chunk=CHUNK):
    """The blobs of `count` images (rounded down to whole chunks): (rows by width, strings, conditions)."""
    seeds = np.random.SeedSequence(seed).generate_state(count // chunk)
    with multiprocessing.Pool(workers) as pool:
        parts = pool.map(_harvest, [(images, labels, chunk, int(s)) for s in seeds])
    by_width = {}
    for width in (rows.ROW_WIDTH, rows.WIDE_ROW):
        made = [row for found_rows, _, _ in parts for row in found_rows[width]]
        by_width[width] = np.array(made, dtype=np.float32).reshape(-1, rows.ROW_HEIGHT, width)  # (0, 28, w) if none
    return by_width, [s for _, ss, _ in parts for s in ss], [c for _, _, cs in parts for c in cs]


def save_blobs(path, by_width, strings, conditions):
    """Write harvest's blobs to `path` (.npz) as the module docstring describes, all or nothing."""
    with atomic_write(path) as f:
        np.savez(f, rows112=by_width[rows.ROW_WIDTH], rows144=by_width[rows.WIDE_ROW],
                 lengths=np.array([len(s) for s in strings], dtype=int),
                 digits=np.array([d for s in strings for d in s], dtype=int),
                 conditions=np.array(conditions, dtype=str))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6400, help=f"images to draw, a multiple of {CHUNK}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-dir", help="MNIST folder (default: $TINYCNN_DATA)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.images < CHUNK or args.images % CHUNK:
        parser.error(f"--images must be a positive multiple of {CHUNK}, got {args.images}")
    try:
        (x_train, y_train), _ = mnist.load_data(args.data_dir)
    except mnist.MNISTError as e:
        sys.exit(f"harvest_blobs: {e}")
    start = time.perf_counter()
    by_width, strings, conditions = harvest(x_train, y_train, args.images, args.seed, args.workers)
    save_blobs(args.out, by_width, strings, conditions)
    lengths = np.array([len(s) for s in strings])
    print(f"{len(strings)} blobs from {args.images} images in {time.perf_counter() - start:.0f}s; "
          f"blobs of 1-{MAX_DIGITS} digits: {np.bincount(lengths, minlength=MAX_DIGITS + 1)[1:].tolist()}")
    print(f"Saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
