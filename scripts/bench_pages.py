"""Time `read_digits` on pages that hold no number to speak of: pixel noise, and a page of print.

    python scripts/bench_pages.py
    python scripts/bench_pages.py --runs 5

A phone pointed at the wrong thing must not make the reader hang. Noise on a blank page
thresholds into thousands of specks, and a page of print into thousands of letters; each
blob that survives is grouped into lines and classified. Prints, for each page, how many
blobs its ink holds, the digits read, and the median time of `--runs` readings in this
process (imports and model loading not counted).
"""

import argparse
import statistics
import sys
import time

import numpy as np
from PIL import Image, ImageDraw


def noise_page(seed=0, shape=(964, 735), density=0.04):
    """A blank page (H, W) in [0, 1] with `density` of its pixels dark: specks of 1 to 4 px."""
    gray = np.full(shape, 0.93, dtype=np.float32)
    gray[np.random.default_rng(seed).random(shape) < density] = 0.3
    return gray


def print_page(seed=0, size=(1240, 1754), lines=45):
    """A white A4 page at 150 dpi with `lines` lines of printed words and numbers."""
    words = "the roll number subject code marks answer sheet page 12 345 6789 total of".split()
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    rng = np.random.default_rng(seed)
    for row in range(lines):
        draw.text((60, 60 + 36 * row), " ".join(rng.choice(words, 14)), fill=0, font_size=24)
    return np.asarray(page, dtype=np.float32) / 255


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed readings of each page (default 3)")
    args = parser.parse_args(argv)
    from tinycnn import segment, threshold
    from tinycnn.read import read_digits, shipped_model

    model = shipped_model()
    for name, gray in [("pixel noise", noise_page()), ("a page of print", print_page())]:
        blobs = len(segment.components(threshold.binarize(gray))[1])
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            reading = read_digits(gray, model)
            times.append(time.perf_counter() - start)
        print(f"{name}, {gray.shape[1]}x{gray.shape[0]}: {blobs} blobs of ink, {len(reading.digits)} digits read, "
              f"median {statistics.median(times):.2f} s over {args.runs} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
