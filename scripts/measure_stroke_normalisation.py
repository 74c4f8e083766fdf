"""Does redrawing strokes at MNIST's pen width help? Accuracy with and without, for thin and thick pens.

    python scripts/measure_stroke_normalisation.py --count 2000

MNIST test digits are drawn 4x larger, thresholded to a mask, and their strokes made thinner or thicker
(a hairline pen, as written, a marker), as pen and phone images differ from MNIST. Each mask then goes
through normalize.to_mnist with normalize_stroke on and off, and both shipped models classify it.
"""

import argparse
import sys

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from tinycnn.datasets import mnist
from tinycnn.normalize import batch_to_mnist
from tinycnn.read import DEFAULT_MODEL, PAPER_MODEL, shipped_model

SCALE = 4
PENS = {"hairline (thinned to ~2 px)": -3, "as written": 0, "marker (+6 px)": 6}


def pen(mask, change):
    """Grow (change > 0) or thin (change < 0) the strokes of mask by `change` px on each side."""
    if change > 0:
        return ndi.distance_transform_edt(~np.pad(mask, change)) <= change
    if change < 0:
        thinner = ndi.distance_transform_edt(mask) > -change
        return thinner if thinner.any() else mask
    return mask


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="MNIST test digits to use")
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    _, (x_test, y_test) = mnist.load_data(args.data_dir)
    x_test, y_test = x_test[:args.count], y_test[:args.count]
    masks = [np.asarray(Image.fromarray(d).resize((28 * SCALE, 28 * SCALE), Image.Resampling.BICUBIC)) > 127
             for d in x_test]
    models = {"paper": shipped_model(PAPER_MODEL), "reader": shipped_model(DEFAULT_MODEL)}
    print("| pen | model | stroke normalisation off | on |\n|---|---|---|---|")
    for name, change in PENS.items():
        drawn = [pen(m, change) for m in masks]
        inputs = {flag: batch_to_mnist(drawn, normalize_stroke=flag) for flag in (False, True)}
        for model_name, model in models.items():
            accuracy = {flag: float((model.predict(x)[:, :10].argmax(1) == y_test).mean()) for flag, x in inputs.items()}
            print(f"| {name} | {model_name} | {100 * accuracy[False]:.2f}% | {100 * accuracy[True]:.2f}% |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
