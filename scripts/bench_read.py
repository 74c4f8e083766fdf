"""Time `python -m tinycnn.read` on a phone-sized photo of a 10-digit number, from process start.

    python scripts/bench_read.py
    python scripts/bench_read.py --runs 7 --size 1600x1200 --model tinycnn/weights/paper_cnn.npz

The image is drawn here: ten MNIST test digits (the first of each label, 0-9 in a seeded
order), scaled to a twelfth of the image width, dark on off-white paper with a little noise,
like a number photographed on a sheet. Each run is a fresh `python -m tinycnn.read IMAGE`
process, so imports, model loading, segmentation and prediction all count. Prints every
run's time and the median; the reading is printed once to show it worked. For scale it also
times a process that only imports numpy, scipy.ndimage and pillow: the floor no reader
built on them can go below on this machine. Where PYTHONDONTWRITEBYTECODE is set (this
project's sandbox sets it), Python compiles tinycnn's modules in every run; the script says so.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def phone_image(size, seed=0, data_dir=None):
    """A (width, height) grayscale PIL image of ten handwritten digits, and the text they spell."""
    from tinycnn.datasets import mnist
    _, (x_test, y_test) = mnist.load_data(mnist.resolve_data_dir(data_dir), download=False)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(10)
    width, height = size
    digit_h = min(height // 5, width // 12)  # ten digits and their spacing fit across
    tiles = []
    for label in labels:
        digit = x_test[np.flatnonzero(y_test == label)[0]]
        tile = np.asarray(Image.fromarray(digit).resize((digit_h, digit_h), Image.Resampling.BICUBIC), dtype=float) / 255
        rows, cols = np.flatnonzero(tile.max(1) > 0.3), np.flatnonzero(tile.max(0) > 0.3)
        tiles.append(tile[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    gap = digit_h // 6
    paper = np.full((height, width), 235.0) + rng.normal(0, 3, (height, width))
    x = (width - sum(t.shape[1] for t in tiles) - 9 * gap) // 2
    for tile in tiles:
        h, w = tile.shape
        top = (height - digit_h) // 2 + digit_h - h  # standing on one baseline
        paper[top:top + h, x:x + w] *= 1 - 0.85 * tile
        x += w + gap
    image = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8))
    return image, "".join(str(k) for k in labels)


def median_seconds(command, runs):
    """The median wall time of `runs` runs of `command` (after one untimed run), and the times."""
    subprocess.run(command, capture_output=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="number of timed runs (default 5)")
    parser.add_argument("--size", default="1600x1200", help="image size WIDTHxHEIGHT (default 1600x1200)")
    parser.add_argument("--model", help="passed on to tinycnn.read --model")
    parser.add_argument("--data-dir", help="MNIST folder (default $TINYCNN_DATA)")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    from tinycnn.datasets.mnist import MNISTError
    try:
        image, truth = phone_image(size, data_dir=args.data_dir)
    except MNISTError as e:
        parser.exit(2, f"bench_read: {e}\n")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "phone.jpg"
        image.save(path, quality=90)
        command = [sys.executable, "-m", "tinycnn.read", str(path)] + (["--model", args.model] if args.model else [])
        median, times, result = median_seconds(command, args.runs)
    for run, seconds in enumerate(times, start=1):
        print(f"run {run}: {seconds:.3f} s")
    output = result.stdout.strip() or result.stderr.strip()
    floor, _, _ = median_seconds([sys.executable, "-c", "import numpy, scipy.ndimage, PIL.Image"], args.runs)
    print(f"image {size[0]}x{size[1]}, truth {truth}, read {output!r}")
    print(f"median {median:.3f} s, min {min(times):.3f} s, max {max(times):.3f} s over {len(times)} runs")
    print(f"floor (python -c 'import numpy, scipy.ndimage, PIL.Image'): median {floor:.3f} s")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("note: PYTHONDONTWRITEBYTECODE is set, so every run compiles tinycnn's modules again, which an "
              "installed tinycnn does once; time it with `env -u PYTHONDONTWRITEBYTECODE` too")
    return 0


if __name__ == "__main__":
    sys.exit(main())
