"""MNIST handwritten digits: read the IDX files, downloading them once if needed.

MNIST comes as four files in the IDX format, a tiny binary layout for arrays.
All integers are big-endian:

    bytes 0-1   always zero
    byte  2     type of the elements; 0x08 means unsigned byte (uint8)
    byte  3     number of dimensions, n
    next 4*n    the size of each dimension, as 32-bit integers
    the rest    the elements in row-major (C) order, exactly prod(sizes) of them

So the labels files start with 0x00000801 (a 1-D uint8 array of N labels) and the
images files with 0x00000803 (a 3-D uint8 array, N x 28 x 28). The files may be
gzipped (name ending in ".gz") or not.

    >>> (x_train, y_train), (x_test, y_test) = load_data()
    >>> x_train.shape, y_train.shape, x_test.shape, y_test.shape
    ((60000, 28, 28), (60000,), (10000, 28, 28), (10000,))
"""

import gzip
import hashlib
import math
import http.client
import os
import sys
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from tinycnn.fileio import atomic_write

MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]

# SHA-256 of the *decompressed* files, so that any gzip wrapper of the right bytes is accepted.
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error, OSError)


class MNISTError(ValueError):
    """A missing, corrupt or undownloadable MNIST file; the message is one line naming it."""


def resolve_data_dir(data_dir=None):
    """Where MNIST lives: `data_dir`, else $TINYCNN_DATA, else ~/.cache/tinycnn/mnist (or $XDG_CACHE_HOME)."""
    if data_dir is None:
        data_dir = os.environ.get("TINYCNN_DATA")
    if not data_dir:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        data_dir = os.path.join(cache, "tinycnn", "mnist")
    return Path(data_dir).expanduser()


def _parse_idx(data, path):
    """Turn the bytes of an IDX file into a uint8 array; `path` only names the file in errors."""
    if len(data) < 4:
        raise MNISTError(f"{path}: truncated: expected at least 4 bytes, got {len(data)}")
    if data[0] != 0 or data[1] != 0:
        raise MNISTError(f"{path}: bad magic number 0x{data[:4].hex()}: not an IDX file")
    if data[2] != 0x08:
        raise MNISTError(f"{path}: unsupported element type 0x{data[2]:02x}: only 0x08 (uint8) is supported")
    ndim = data[3]
    if ndim == 0:
        raise MNISTError(f"{path}: bad number of dimensions 0")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise MNISTError(f"{path}: truncated: expected at least {header} bytes, got {len(data)}")
    shape = tuple(int(n) for n in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + math.prod(shape)
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "trailing bytes"
        raise MNISTError(f"{path}: {problem}: expected {expected} bytes, got {len(data)}")
    # Copy so the array is writable, like the ones Keras returns.
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def read_idx(path, ndim=None):
    """Read one IDX file (gzipped if the name ends in ".gz") into a uint8 array.

    With `ndim` given, also check the number of dimensions (1 for labels, 3 for images).
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            data = path.read_bytes()
    except _GZIP_ERRORS as e:
        raise MNISTError(f"{path}: cannot read: {e}") from e
    array = _parse_idx(data, path)
    if ndim is not None and array.ndim != ndim:
        raise MNISTError(f"{path}: expected a {ndim}-D array, got {array.ndim}-D with shape {array.shape}")
    return array


def _find(directory, name):
    """The path of file `name` in `directory`, uncompressed if present, else gzipped, else None."""
    for candidate in (directory / name, directory / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _load_split(directory, prefix):
    """Read images (N, 28, 28) and labels (N,) of the "train" or "t10k" split; check they match."""
    images_path = _find(directory, f"{prefix}-images-idx3-ubyte")
    labels_path = _find(directory, f"{prefix}-labels-idx1-ubyte")
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    if images.shape[1:] != (28, 28):
        raise MNISTError(f"{images_path}: expected 28x28 images, got {images.shape[1]}x{images.shape[2]}")
    if len(images) != len(labels):
        raise MNISTError(f"{labels_path}: {len(labels)} labels but {images_path} has {len(images)} images")
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        raise MNISTError(f"{labels_path}: label {labels[bad[0]]} at index {bad[0]} is not a digit 0-9")
    return images, labels


def _fetch(url, name, sha256, timeout):
    """Download `url`, a gzipped IDX file, and return its bytes if the content checks out."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        blob = response.read()
    try:
        data = gzip.decompress(blob)
    except _GZIP_ERRORS as e:
        raise MNISTError(f"not a valid gzip file ({e})") from e
    if hashlib.sha256(data).hexdigest() != sha256:
        raise MNISTError("wrong content (SHA-256 mismatch)")
    _parse_idx(data, name)
    return blob


def download(data_dir, mirrors=MIRRORS, checksums=SHA256, timeout=30):
    """Download each file named in `checksums` (name -> SHA-256 of its decompressed bytes)
    that `data_dir` lacks, as name + ".gz", trying the mirrors in order."""
    directory = Path(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    downloaded = False
    for name, sha256 in checksums.items():
        if _find(directory, name) is not None:
            continue
        failures = []
        for mirror in mirrors:
            url = mirror + name + ".gz"
            try:
                blob = _fetch(url, name, sha256, timeout)
            except (OSError, http.client.HTTPException, MNISTError) as e:  # URLError is an OSError
                failures.append(f"{url}: {e}")
                continue
            with atomic_write(directory / (name + ".gz")) as f:
                f.write(blob)
            downloaded = True
            break
        else:
            raise MNISTError(f"{directory / name}.gz: download failed from every mirror: " + "; ".join(failures))
    if downloaded:
        print(f"Downloaded MNIST to {directory}", file=sys.stderr)


_download = download  # load_data's `download` flag hides the function's name inside load_data


def load_data(data_dir=None, download=True):
    """Return MNIST as `(x_train, y_train), (x_test, y_test)`, all uint8, like Keras.

    Shapes: x_train (60000, 28, 28), y_train (60000,), x_test (10000, 28, 28), y_test (10000,).
    Pixels are 0 (background) to 255 (ink); labels are the digits 0-9.
    Missing files are downloaded into the data directory (see `resolve_data_dir`) unless `download` is False.
    """
    directory = resolve_data_dir(data_dir)
    missing = [name for name in SHA256 if _find(directory, name) is None]
    if missing and not download:
        raise MNISTError(f"{directory}: missing {', '.join(missing)} (use download=True or set TINYCNN_DATA)")
    if missing:
        _download(directory)
    return _load_split(directory, "train"), _load_split(directory, "t10k")
