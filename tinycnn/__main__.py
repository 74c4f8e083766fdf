"""`tinycnn COMMAND ...`: one entry point for the package's commands.

    tinycnn read IMAGE ...                      (same as python -m tinycnn.read)
    tinycnn train --model paper --epochs 5      (same as python -m tinycnn.train)
"""

import importlib
import sys

COMMANDS = {
    "read": ("tinycnn.read", "print the handwritten numbers read from images"),
    "marks": ("tinycnn.marks.cli", "photos of answer sheets -> roll number, subject code and marks in a database"),
    "train": ("tinycnn.train", "train the paper's CNN or its feed-forward comparison on MNIST"),
    "explain": ("tinycnn.explain", "draw one digit's trip through the network as PNGs and an HTML page"),
    "plot": ("tinycnn.plot", "draw loss and accuracy curves from a --history JSON file"),
    "serve": ("tinycnn.serve.__main__", "a local web page to draw a digit or read a photo of a number"),
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        lines = ["usage: tinycnn COMMAND [ARGS ...]", "", "commands:"]
        lines += [f"  {name:<8} {help_text}" for name, (_, help_text) in COMMANDS.items()]
        lines += ["", "Run 'tinycnn COMMAND --help' for a command's options."]
        known = argv and argv[0] in ("-h", "--help")
        print("\n".join(lines), file=sys.stdout if known else sys.stderr)
        if argv and not known:
            print(f"tinycnn: unknown command {argv[0]!r}", file=sys.stderr)
        return 0 if known else 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
