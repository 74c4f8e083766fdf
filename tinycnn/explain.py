"""See inside the network: one digit's trip through every layer, as pictures.

    python -m tinycnn.explain 0 --out explain/            # MNIST test image 0 (a 7)
    python -m tinycnn.explain my_digit.png --out explain/

writes these pictures of the paper's CNN, and an index.html that shows them in order, each
with a one-line caption:

    01_input.png              the image as given
    02_normalized.png         the 28x28 white-on-black input the network sees
    03_filters.png            the first layer's 32 3x3 filters (red positive, blue negative weights)
    04_conv2d.png             32 feature maps, 26x26
    05_max_pooling2d.png      32 maps, 13x13
    06_conv2d_1.png           64 maps, 11x11
    07_max_pooling2d_1.png    64 maps, 5x5
    08_conv2d_2.png           64 maps, 3x3
    09_flatten.png            the 576 values in rows of 32 cells
    10_dense.png              the 64 dense units
    11_probabilities.png      the ten probabilities as bars, the predicted digit in orange
"""

import argparse
import html
import os
import sys
from pathlib import Path

import numpy as np

from . import draw
from .fileio import atomic_write
from .imageio import load_grayscale
from .layers import Conv2D
from .model import load_model
from .normalize import to_mnist

DEFAULT_MODEL = Path(__file__).parent / "weights" / "paper_cnn.npz"
ROW = 32  # cells per line when drawing a flat layer's values


# --- the input --------------------------------------------------------------------------
def to_model_input(gray):
    """A grayscale image (H, W) in [0, 1] of one digit, either polarity -> (28, 28) float32 in
    [0, 1], white digit on black, normalised as the reader does (tinycnn.normalize.to_mnist).
    Raises ValueError if there is no ink."""
    image = to_mnist(gray)
    if not image.any():
        raise ValueError("no ink found: the image is blank")
    return image


def load_input(argument, data_dir=None):
    """An MNIST test index ("0".."9999") or an image path -> (original (H, W) in [0, 1], the
    (28, 28) model input, a description). Raises ValueError with a one-line message naming it."""
    if argument.isdigit():
        from .datasets import mnist
        _, (x_test, y_test) = mnist.load_data(data_dir)
        index = int(argument)
        if index >= len(x_test):
            raise ValueError(f"MNIST test index {index} is out of range 0-{len(x_test) - 1}")
        image = x_test[index].astype(np.float32) / 255
        return image, image, f"MNIST test image {index} (label {y_test[index]})"
    gray = load_grayscale(argument)
    try:
        return gray, to_model_input(gray), os.path.basename(argument)
    except ValueError as error:
        raise ValueError(f"{argument}: {error}") from None


# --- through the network -----------------------------------------------------------------
def activations(model, image):
    """Run one (28, 28) image through the model, layer by layer.
    Returns [(layer, output)], each output without its batch axis, e.g. (26, 26, 32)."""
    out = image[None, :, :, None].astype(np.float32)
    steps = []
    for layer in model.layers:
        out = layer.forward(out)
        steps.append((layer, out[0]))
    return steps


def caption(layer, out):
    """One line saying what a layer did, with its output shape."""
    shape = "x".join(map(str, out.shape))
    then = f", then {layer.activation.activation_name}" if layer.activation is not None else ""
    kind = type(layer).__name__
    if kind == "Conv2D":
        h, w = layer.kernel_size
        return f"{layer.name}: {out.shape[-1]} filters of {h}x{w} slid over the maps below{then}: {shape}"
    if kind == "MaxPooling2D":
        h, w = layer.pool_size
        return f"{layer.name}: every {h}x{w} block keeps only its largest value: {shape}"
    if kind == "Flatten":
        return f"{layer.name}: the maps laid out as one row of {out.size} numbers (shown {ROW} to a line)"
    return f"{layer.name}: {out.size} units, each a weighted sum of all {layer.input_shape[0]} inputs{then}"


def layer_picture(out, columns=8):
    """A layer's output -> image: (H, W, C) maps as a grid of C tiles, (D,) values as rows of
    ROW cells (black 0, white the largest value)."""
    if out.ndim == 3:
        return draw.feature_maps(out, columns, scale=max(2, 104 // out.shape[0]))
    rows = np.pad(out, (0, -out.size % ROW)).reshape(-1, ROW)
    return draw.gray(rows, 0.0, float(out.max()) or 1.0, scale=14)


def pictures(model, original, image, description):
    """Every picture, in order: [(filename, caption, PIL image)]."""
    steps = activations(model, image)
    probabilities = steps[-1][1]
    digit = int(probabilities.argmax())
    given = draw.gray(original, 0.0, 1.0, scale=max(1, 280 // max(original.shape)))
    given.thumbnail((560, 560))
    seen = draw.gray(image, 0.0, 1.0, scale=10)
    shown = [("input", f"The input: {description}", given),
             ("normalized", "What the network sees: 28x28, white on black, values 0 to 1", seen)]
    first = model.layers[0]
    if isinstance(first, Conv2D):
        kernel = first.params["kernel"]  # (kh, kw, 1, F)
        filters = draw.grid([draw.diverging(kernel[:, :, 0, f], 12) for f in range(kernel.shape[-1])], 8, gap=4)
        shown.append(("filters", f"The first layer's {kernel.shape[-1]} filters of {kernel.shape[0]}x{kernel.shape[1]} "
                                 "weights: red positive, blue negative", filters))
    for layer, out in steps[:-1]:
        shown.append((layer.name, caption(layer, out), layer_picture(out)))
    chart = draw.bar_chart(probabilities, range(len(probabilities)), digit,
                           f"predicted: {digit} ({probabilities[digit]:.1%})", "probability")
    shown.append(("probabilities", f"{steps[-1][0].name}: softmax turns 10 scores into probabilities; "
                                   f"the prediction is {digit}", chart))
    return [(f"{i:02d}_{name}.png", text, picture) for i, (name, text, picture) in enumerate(shown, 1)]


def index_html(shown, title):
    """A page listing the pictures in order, each under its caption."""
    items = "\n".join(f'<figure><figcaption>{html.escape(text)}</figcaption>'
                      f'<img src="{name}" alt="{html.escape(text)}"></figure>' for name, text, _ in shown)
    return (f'<!doctype html>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}img{image-rendering:pixelated;"
            "max-width:100%}figure{margin:0 0 2em}figcaption{margin-bottom:.4em}</style>\n"
            f"<h1>{html.escape(title)}</h1>\n{items}\n")


def explain(argument, out_dir, model_path=DEFAULT_MODEL, data_dir=None):
    """Write the pictures and index.html into out_dir; return the list of files written."""
    model = load_model(model_path)
    original, image, description = load_input(argument, data_dir)
    shown = pictures(model, original, image, description)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, _, picture in shown:
        draw.save_png(picture, out_dir / name)
    with atomic_write(out_dir / "index.html", "w") as f:
        f.write(index_html(shown, f"Inside the network: {description}"))
    return [name for name, _, _ in shown] + ["index.html"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tinycnn.explain", description=__doc__.splitlines()[0])
    parser.add_argument("input", metavar="IMAGE_OR_MNIST_INDEX",
                        help="an image file of one digit, or the index of an MNIST test image (0-9999)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the PNGs and index.html")
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="model file (default: the shipped paper CNN)")
    parser.add_argument("--data-dir", help="MNIST folder (default: $TINYCNN_DATA or the user cache)")
    args = parser.parse_args(argv)
    try:
        written = explain(args.input, args.out, args.model, args.data_dir)
    except ValueError as error:  # ImageError, ModelFileError and MNISTError are ValueErrors, named by file
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {args.out}: cannot write ({error.strerror or error})", file=sys.stderr)
        return 2
    print(f"Wrote {len(written)} files to {args.out}: open {Path(args.out) / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
