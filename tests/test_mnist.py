"""Tests for tinycnn.datasets.mnist. They never touch the internet: downloads come from a local server."""

import functools
import gzip
import hashlib
import http.server
import os
import socket
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinycnn.datasets import mnist
from tinycnn.datasets.mnist import MNISTError, download, load_data, read_idx, resolve_data_dir

NAMES = list(mnist.SHA256)
REAL_DATA = Path(os.environ.get("TINYCNN_DATA") or Path(__file__).resolve().parents[2] / "shared/data/mnist")


# ---------------------------------------------------------------- fixture helpers


def idx_bytes(array, type_code=0x08):
    """The IDX encoding of a uint8 array: magic, sizes, elements."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write(path, data):
    """Write bytes to `path`, gzipped if its name ends in .gz; return the path."""
    path = Path(path)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def tiny_mnist(n=5, seed=0):
    """A fake MNIST: name -> IDX bytes, with n train and n test images (28x28) and labels."""
    rng = np.random.default_rng(seed)
    files = {}
    for prefix in ("train", "t10k"):
        files[f"{prefix}-images-idx3-ubyte"] = idx_bytes(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        files[f"{prefix}-labels-idx1-ubyte"] = idx_bytes(rng.integers(0, 10, n, dtype=np.uint8))
    return files


def write_mnist(directory, files, gz=True):
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        write(directory / (name + ".gz" if gz else name), data)
    return directory


def checksums(files):
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def raises_one_line(path, match, call, *args, **kwargs):
    """Call; expect an MNISTError whose one-line message names `path` and matches `match`."""
    with pytest.raises(MNISTError, match=match) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


# ---------------------------------------------------------------- read_idx


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_round_trip(tmp_path, suffix):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    labels = np.array([3, 7, 0], dtype=np.uint8)
    x = read_idx(write(tmp_path / ("images" + suffix), idx_bytes(images)))
    y = read_idx(write(tmp_path / ("labels" + suffix), idx_bytes(labels)), ndim=1)
    assert x.dtype == np.uint8 and x.shape == (2, 28, 28) and np.array_equal(x, images)
    assert y.dtype == np.uint8 and y.shape == (3,) and np.array_equal(y, labels)
    assert x.flags.writeable


def test_bad_magic(tmp_path):
    path = write(tmp_path / "labels.gz", b"\x12\x34\x08\x01" + struct.pack(">I", 1) + b"\x00")
    raises_one_line(path, "bad magic number 0x12340801", read_idx, path)


def test_unsupported_element_type(tmp_path):
    path = write(tmp_path / "floats", idx_bytes(np.zeros(3, np.uint8), type_code=0x0D))
    raises_one_line(path, "element type 0x0d", read_idx, path)


def test_wrong_ndim(tmp_path):
    path = write(tmp_path / "images", idx_bytes(np.zeros((4, 784), np.uint8)))
    raises_one_line(path, "expected a 3-D array, got 2-D", read_idx, path, ndim=3)
    zero_d = write(tmp_path / "scalar", b"\x00\x00\x08\x00\x05")
    raises_one_line(zero_d, "bad number of dimensions 0", read_idx, zero_d)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_truncated(tmp_path, suffix):
    data = idx_bytes(np.zeros(100, np.uint8))  # 8 header bytes + 100
    path = write(tmp_path / ("train-labels-idx1-ubyte" + suffix), data[:50])
    raises_one_line(path, "truncated: expected 108 bytes, got 50", read_idx, path)


@pytest.mark.parametrize("data", [b"", b"\x00\x00", b"\x00\x00\x08\x03\x00\x00\x00\x05"])
def test_truncated_header(tmp_path, data):
    path = write(tmp_path / "images", data)
    raises_one_line(path, "truncated: expected at least", read_idx, path)


def test_trailing_bytes(tmp_path):
    path = write(tmp_path / "labels.gz", idx_bytes(np.zeros(100, np.uint8)) + b"xy")
    raises_one_line(path, "trailing bytes: expected 108 bytes, got 110", read_idx, path)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda gz: b"this is not gzip at all",  # BadGzipFile
        lambda gz: gz[: len(gz) // 2],  # EOFError
        lambda gz: gz[:12] + bytes(b ^ 0xFF for b in gz[12:20]) + gz[20:],  # zlib.error
        lambda gz: gz[:-8] + bytes(8),  # CRC mismatch
    ],
)
def test_corrupt_gzip(tmp_path, corrupt):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(corrupt(gzip.compress(idx_bytes(np.ones((5, 28, 28), np.uint8)))))
    raises_one_line(path, "cannot read", read_idx, path)


def test_missing_file_is_mnist_error(tmp_path):
    path = tmp_path / "nope.gz"
    raises_one_line(path, "cannot read", read_idx, path)


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=st.lists(st.integers(0, 5), min_size=1, max_size=3), data=st.data())
def test_read_idx_property(tmp_path, shape, data):
    """Any uint8 array survives a round trip; any cut or extra byte is an error."""
    array = np.arange(int(np.prod(shape)), dtype=np.uint8).reshape(shape)
    encoded = idx_bytes(array)
    assert np.array_equal(read_idx(write(tmp_path / "a", encoded)), array)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(MNISTError, match="truncated"):
        read_idx(write(tmp_path / "a", encoded[:cut]))
    with pytest.raises(MNISTError, match="trailing bytes"):
        read_idx(write(tmp_path / "a", encoded + b"\x00"))


# ---------------------------------------------------------------- load_data


@pytest.mark.parametrize("gz", [True, False])
def test_load_data_from_fixtures(tmp_path, gz):
    files = tiny_mnist()
    (x_train, y_train), (x_test, y_test) = load_data(write_mnist(tmp_path, files, gz=gz), download=False)
    assert x_train.shape == (5, 28, 28) and y_train.shape == (5,)
    assert x_test.shape == (5, 28, 28) and y_test.shape == (5,)
    assert all(a.dtype == np.uint8 for a in (x_train, y_train, x_test, y_test))
    assert idx_bytes(x_train) == files["train-images-idx3-ubyte"]
    assert idx_bytes(y_test) == files["t10k-labels-idx1-ubyte"]


def test_label_out_of_range(tmp_path):
    files = tiny_mnist()
    files["t10k-labels-idx1-ubyte"] = idx_bytes(np.array([1, 2, 12, 3, 4], np.uint8))
    write_mnist(tmp_path, files)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    raises_one_line(path, "label 12 at index 2 is not a digit 0-9", load_data, tmp_path, download=False)


def test_count_mismatch(tmp_path):
    files = tiny_mnist()
    files["train-labels-idx1-ubyte"] = idx_bytes(np.array([1, 2, 3, 4], np.uint8))
    write_mnist(tmp_path, files)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    raises_one_line(path, "4 labels but .* has 5 images", load_data, tmp_path, download=False)


def test_wrong_image_size(tmp_path):
    files = tiny_mnist()
    files["train-images-idx3-ubyte"] = idx_bytes(np.zeros((5, 32, 32), np.uint8))
    write_mnist(tmp_path, files)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    raises_one_line(path, "expected 28x28 images, got 32x32", load_data, tmp_path, download=False)


def test_labels_file_with_images_ndim(tmp_path):
    files = tiny_mnist()
    files["train-labels-idx1-ubyte"] = files["train-images-idx3-ubyte"]
    write_mnist(tmp_path, files)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    raises_one_line(path, "expected a 1-D array, got 3-D", load_data, tmp_path, download=False)


def test_uncompressed_file_is_preferred(tmp_path):
    files = tiny_mnist()
    write_mnist(tmp_path, files, gz=False)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"garbage")
    (x_train, _), _ = load_data(tmp_path, download=False)
    assert idx_bytes(x_train) == files["train-images-idx3-ubyte"]


def test_missing_files_without_download(tmp_path):
    write_mnist(tmp_path, {k: v for k, v in tiny_mnist().items() if k.startswith("train")})
    message = raises_one_line(tmp_path, "missing t10k-images-idx3-ubyte, t10k-labels", load_data, tmp_path, download=False)
    assert "train-" not in message


# ---------------------------------------------------------------- data directory


def test_resolve_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TINYCNN_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert resolve_data_dir() == tmp_path / "home/.cache/tinycnn/mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_data_dir() == tmp_path / "xdg/tinycnn/mnist"
    monkeypatch.setenv("TINYCNN_DATA", str(tmp_path / "env"))
    assert resolve_data_dir() == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir("~/mine") == tmp_path / "home/mine"


def test_load_data_uses_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYCNN_DATA", str(write_mnist(tmp_path / "data", tiny_mnist())))
    (x_train, _), _ = load_data(download=False)
    assert x_train.shape == (5, 28, 28)


# ---------------------------------------------------------------- download, from a local server


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def mirrors(tmp_path, monkeypatch):
    """Start a local HTTP server; return (files, checksums, mirror URLs by kind)."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    files = tiny_mnist()
    root = tmp_path / "www"
    write_mnist(root / "good", files)
    (root / "garbage").mkdir(parents=True)
    for name in files:
        (root / "garbage" / (name + ".gz")).write_bytes(b"<html>Service Unavailable</html>")
    write_mnist(root / "altered", {name: data[:-1] + b"\x07" for name, data in files.items()})
    (root / "empty").mkdir()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    urls = {
        "down": f"http://127.0.0.1:{closed_port}/",
        "404": base + "empty/",
        "garbage": base + "garbage/",
        "altered": base + "altered/",
        "good": base + "good/",
    }
    yield files, checksums(files), urls
    server.shutdown()
    server.server_close()


def test_download_falls_through_to_good_mirror(tmp_path, mirrors, capsys):
    files, sums, urls = mirrors
    data_dir = tmp_path / "data"
    download(data_dir, mirrors=[urls["down"], urls["404"], urls["garbage"], urls["altered"], urls["good"]],
             checksums=sums, timeout=5)
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(name + ".gz" for name in NAMES)
    for name, data in files.items():
        assert gzip.decompress((data_dir / (name + ".gz")).read_bytes()) == data
    assert f"Downloaded MNIST to {data_dir}" in capsys.readouterr().err
    (x_train, _), _ = load_data(data_dir, download=False)
    assert idx_bytes(x_train) == files["train-images-idx3-ubyte"]


def test_download_all_mirrors_bad(tmp_path, mirrors):
    _, sums, urls = mirrors
    data_dir = tmp_path / "data"
    bad = [urls["down"], urls["404"], urls["garbage"], urls["altered"]]
    message = raises_one_line(data_dir / "train-images-idx3-ubyte.gz", "download failed from every mirror",
                              download, data_dir, mirrors=bad, checksums=sums, timeout=5)
    for url in bad:
        assert url + "train-images-idx3-ubyte.gz" in message
    assert "404" in message and "not a valid gzip file" in message and "SHA-256 mismatch" in message
    assert list(data_dir.iterdir()) == []  # no partial or temporary file left behind


def test_download_checks_idx_header(tmp_path, mirrors):
    """A file whose checksum matches but whose IDX header is broken is still refused."""
    files, _, urls = mirrors
    name = "train-labels-idx1-ubyte"
    broken = files[name][:-1]
    (tmp_path / "www/broken").mkdir()  # the server serves tmp_path/www
    write(tmp_path / "www/broken" / (name + ".gz"), broken)
    with pytest.raises(MNISTError, match="truncated"):
        download(tmp_path / "data", mirrors=[urls["good"].replace("good", "broken")],
                 checksums={name: hashlib.sha256(broken).hexdigest()}, timeout=5)
    assert list((tmp_path / "data").iterdir()) == []


def test_download_skips_present_files(tmp_path, mirrors):
    files, sums, _ = mirrors
    data_dir = write_mnist(tmp_path / "data", files, gz=False)
    download(data_dir, mirrors=[], checksums=sums)  # nothing to fetch, so no mirror is needed
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(NAMES)


def test_load_data_downloads_missing_files(tmp_path, mirrors, monkeypatch):
    files, sums, urls = mirrors
    data_dir = write_mnist(tmp_path / "data", {k: v for k, v in files.items() if k.startswith("train")})
    monkeypatch.setattr(mnist, "_download", functools.partial(download, mirrors=[urls["good"]], checksums=sums))
    _, (x_test, y_test) = load_data(data_dir)
    assert idx_bytes(x_test) == files["t10k-images-idx3-ubyte"]
    assert idx_bytes(y_test) == files["t10k-labels-idx1-ubyte"]


# ---------------------------------------------------------------- the real MNIST


@pytest.mark.slow
@pytest.mark.skipif(not all((REAL_DATA / n).is_file() or (REAL_DATA / (n + ".gz")).is_file() for n in NAMES),
                    reason=f"real MNIST not found in {REAL_DATA} (set TINYCNN_DATA to its directory)")
def test_real_mnist():
    (x_train, y_train), (x_test, y_test) = load_data(REAL_DATA, download=False)
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert all(a.dtype == np.uint8 for a in (x_train, y_train, x_test, y_test))
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert x_train.max() == 255 and x_train.min() == 0
