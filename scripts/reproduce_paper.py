"""Reproduce the paper's two results: its CNN and its feed-forward network, 5 epochs each.

    python scripts/reproduce_paper.py --epochs 5 --seed 0 --save-weights tinycnn/weights/paper_cnn.npz

Prints a Markdown table (paper vs tinycnn: train accuracy, test accuracy, seconds per epoch)
and, with --save-weights, saves the CNN of this run: that file is the one shipped in the package.
"""

import argparse
import shlex
import sys

import numpy as np

from tinycnn.train import train

# The paper's reported accuracies (train, test).
PAPER = {"paper": (0.9936, 0.9915), "ffnn": (None, 0.9750)}
NAMES = {"paper": "CNN (Figure 6, 93,322 params)", "ffnn": "Feed-forward (Flatten > Dense 128 > Dense 10)"}


def percent(value):
    return "-" if value is None else f"{100 * value:.2f}%"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir")
    parser.add_argument("--save-weights", help="save the CNN of this run here (.npz)")
    args = parser.parse_args(argv)
    rows = []
    for name in ("paper", "ffnn"):
        print(f"== {NAMES[name]}", flush=True)
        model, history, test_loss, test_accuracy, seconds = train(name, args.epochs, 32, args.seed, data_dir=args.data_dir)
        train_accuracy = history.history["accuracy"][-1]
        rows.append((name, train_accuracy, test_accuracy, seconds))
        if name == "paper" and args.save_weights:
            model.metadata = {
                "command": "python scripts/reproduce_paper.py " + shlex.join(sys.argv[1:] if argv is None else argv),
                "model": name, "epochs": args.epochs, "batch_size": 32, "seed": args.seed, "learning_rate": 1e-3,
                "train_accuracy": train_accuracy, "test_accuracy": test_accuracy, "test_loss": test_loss,
                "seconds_per_epoch": round(seconds, 1), "numpy": np.__version__,
            }
            model.save(args.save_weights)
            print(f"Saved {args.save_weights}")
    print("\n| model | paper train | tinycnn train | paper test | tinycnn test | tinycnn s/epoch |")
    print("|---|---|---|---|---|---|")
    for name, train_accuracy, test_accuracy, seconds in rows:
        paper_train, paper_test = PAPER[name]
        print(f"| {NAMES[name]} | {percent(paper_train)} | {percent(train_accuracy)} | {percent(paper_test)} "
              f"| {percent(test_accuracy)} | {seconds:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
