"""Training curves: loss and accuracy against epochs, drawn with Pillow.

    python -m tinycnn.train --epochs 5 --history history.json
    python -m tinycnn.plot history.json --out curves.png

Reads the JSON that History.save writes,
{"epoch": [0, 1, ...], "history": {"loss": [...], "accuracy": [...], "val_loss": [...],
"val_accuracy": [...]}, "steps": [{"epoch": 0.05, "loss": ..., "accuracy": ...}, ...]},
and draws two panels side by side. Each epoch's value is plotted at its end (epoch 0 at x = 1);
the per-step points, if present, are the running averages within their epoch.
"""

import argparse
import json
import math
import sys

from PIL import Image

from . import draw

PANEL = (480, 360)
SERIES = (("", "train", draw.BLUE), ("val_", "test", draw.ORANGE))
BOUNDS = {"loss": (0.0, math.inf), "accuracy": (-math.inf, 1.0)}  # how far a panel's y range may reach


class HistoryError(ValueError):
    """A history file that cannot be plotted; the message is one line naming it."""


def _numbers(values, what, path):
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        raise HistoryError(f"{path}: {what} must be a list of finite numbers")
    return [float(v) for v in values]


def read_history(path):
    """Load and check a History JSON file -> (history dict of lists, steps list). Raises HistoryError."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise HistoryError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise HistoryError(f"{path}: cannot read ({getattr(error, 'strerror', None) or error})") from None
    except json.JSONDecodeError as error:
        raise HistoryError(f"{path}: not valid JSON ({error})") from None
    history = data.get("history") if isinstance(data, dict) else None
    if not isinstance(history, dict) or not history.get("loss"):
        raise HistoryError(f'{path}: not a training history (no "history" with a "loss" list)')
    history = {key: _numbers(values, f'history["{key}"]', path) for key, values in history.items()}
    steps = data.get("steps") or []
    if not isinstance(steps, list) or not all(isinstance(step, dict) for step in steps):
        raise HistoryError(f'{path}: "steps" must be a list of {{"epoch", "loss", "accuracy"}} objects')
    for key in ("epoch", "loss", "accuracy"):
        _numbers([step.get(key) for step in steps], f'every step\'s "{key}"', path)
    return history, steps


def _limits(values, metric):
    """A y range around the values with a little room, within BOUNDS (loss >= 0, accuracy <= 1)."""
    low, high = min(values), max(values)
    pad = (high - low) * 0.08 or 0.05
    lowest, highest = BOUNDS[metric]
    return max(low - pad, lowest), min(high + pad, highest)


def panel(history, steps, metric):
    """One panel: `metric` ("loss" or "accuracy") for training and test, against the epoch."""
    image = Image.new("RGB", PANEL, draw.WHITE)
    epochs = range(1, len(history[metric]) + 1)
    shown = [(history[prefix + metric], label, color)
             for prefix, label, color in SERIES if history.get(prefix + metric)]
    step_values = [step[metric] for step in steps]
    xlim = (0, len(epochs) + 0.1)
    ylim = _limits([v for values, _, _ in shown for v in values] + step_values, metric)
    axes = draw.Axes(image, (80, 40, PANEL[0] - 20, PANEL[1] - 60), xlim, ylim, title=metric, xlabel="epoch",
                     ylabel=metric, xticks=draw.nice_ticks(0, len(epochs), min(len(epochs), 8)))
    if steps:
        axes.dots([step["epoch"] for step in steps], step_values, draw.GREY)
    for values, label, color in shown:
        axes.line(list(epochs)[:len(values)], values, color)
    entries = [(label, color) for _, label, color in shown] + ([("train, per step", draw.GREY)] if steps else [])
    axes.legend(entries, lower=metric == "accuracy")  # out of the way of curves that rise
    return image


def plot(history, steps):
    """Loss and accuracy panels side by side -> one RGB image."""
    panels = [panel(history, steps, metric) for metric in BOUNDS if history.get(metric)]
    image = Image.new("RGB", (PANEL[0] * len(panels), PANEL[1]), draw.WHITE)
    for i, picture in enumerate(panels):
        image.paste(picture, (i * PANEL[0], 0))
    return image


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tinycnn.plot", description=__doc__.splitlines()[0])
    parser.add_argument("history", metavar="HISTORY.json", help="written by python -m tinycnn.train --history")
    parser.add_argument("--out", default="curves.png", help="the PNG to write (default: curves.png)")
    args = parser.parse_args(argv)
    try:
        draw.save_png(plot(*read_history(args.history)), args.out)
    except HistoryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {args.out}: cannot write ({error.strerror or error})", file=sys.stderr)
        return 2
    print(f"Saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
