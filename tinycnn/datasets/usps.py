"""USPS handwritten digits: real handwriting from other writers than MNIST's.

7,291 digits scanned from US Postal Service envelopes, deslanted and scaled to
16x16 (Le Cun et al., 1990), in the text format of *The Elements of
Statistical Learning*: one digit per line, the label (as a float) and then 256
values in [-1, 1] row by row, -1 the background and 1 the ink.

    (x_train, y_train), (x_val, y_val) = load_data()   # uint8 (N, 16, 16), ink 255 on 0, like MNIST

The file is found at `path`, else $TINYCNN_USPS, else `usps/zip.train.gz` beside
the MNIST data directory ($TINYCNN_DATA). It is not downloaded: it is not part
of the paper's recipe, only extra handwriting for the reading model.
"""

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from . import mnist


class USPSError(ValueError):
    """A missing or malformed USPS file; the message is one line naming it."""


def default_path():
    if os.environ.get("TINYCNN_USPS"):
        return Path(os.environ["TINYCNN_USPS"])
    return mnist.resolve_data_dir().parent / "usps" / "zip.train.gz"


def read_usps(path):
    """Parse the text file at `path` (gzipped if it ends in .gz) -> images uint8 (N, 16, 16), labels uint8 (N,)."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as f:
            rows = np.loadtxt(f, dtype=np.float32, ndmin=2)
    except (OSError, EOFError, zlib.error, ValueError) as error:
        raise USPSError(f"{path}: cannot read USPS digits ({error})") from None
    if rows.shape[1] != 257:
        raise USPSError(f"{path}: expected 257 numbers per line (a label and 16x16 pixels), got {rows.shape[1]}")
    labels = rows[:, 0]
    if not np.all((labels >= 0) & (labels <= 9) & (labels == np.round(labels))):
        raise USPSError(f"{path}: labels must be the digits 0-9")
    images = np.round((np.clip(rows[:, 1:], -1, 1) + 1) * 127.5).astype(np.uint8).reshape(-1, 16, 16)
    return images, labels.astype(np.uint8)


def load_data(path=None, validation_fraction=0.2, seed=0):
    """(x_train, y_train), (x_val, y_val): the digits split at random (seeded), the
    validation part kept aside for measuring how a model reads writers it has not seen."""
    images, labels = read_usps(path if path is not None else default_path())
    order = np.random.default_rng(seed).permutation(len(labels))
    n_val = int(round(validation_fraction * len(labels)))
    val, train = order[:n_val], order[n_val:]
    return (images[train], labels[train]), (images[val], labels[val])
