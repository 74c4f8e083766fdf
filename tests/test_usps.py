import gzip

import numpy as np
import pytest

from tinycnn.datasets import usps


def write_usps(path, rows):
    with gzip.open(path, "wt") as f:
        for row in rows:
            f.write(" ".join(f"{v:.4f}" for v in row) + "\n")


def test_reads_labels_and_maps_pixels_to_uint8_ink(tmp_path):
    pixels = -np.ones(256)
    pixels[0] = 1.0  # one ink pixel at the top left
    write_usps(tmp_path / "zip.train.gz", [[3.0, *pixels], [7.0, *(-pixels)]])
    images, labels = usps.read_usps(tmp_path / "zip.train.gz")
    assert images.shape == (2, 16, 16) and images.dtype == np.uint8
    assert labels.tolist() == [3, 7]
    assert images[0, 0, 0] == 255 and images[0, 0, 1] == 0 and images[1, 0, 0] == 0


def test_split_is_seeded_and_disjoint(tmp_path):
    rows = [[float(i % 10), *np.linspace(-1, 1, 256) * (i / 50 - 1)] for i in range(100)]
    write_usps(tmp_path / "u.gz", rows)
    (a, ya), (b, yb) = usps.load_data(tmp_path / "u.gz", validation_fraction=0.2, seed=1)
    assert len(a) == 80 and len(b) == 20
    (a2, _), _ = usps.load_data(tmp_path / "u.gz", validation_fraction=0.2, seed=1)
    np.testing.assert_array_equal(a, a2)
    train_rows = {x.tobytes() for x in a}
    assert not any(x.tobytes() in train_rows for x in b)


@pytest.mark.parametrize("content, message", [
    ("1 2 3\n", "expected 257 numbers per line"),
    ("11 " + " ".join(["0"] * 256) + "\n", "labels must be the digits 0-9"),
    ("abc\n", "cannot read USPS digits"),
])
def test_bad_files_are_named_in_one_line(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(usps.USPSError, match=message) as error:
        usps.read_usps(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(usps.USPSError, match="nothere.gz"):
        usps.read_usps(tmp_path / "nothere.gz")


def test_real_usps_counts(mnist_dir):
    path = mnist_dir.parent / "usps" / "zip.train.gz"
    if not path.exists():
        pytest.skip(f"USPS is not available at {path}")
    (x_train, y_train), (x_val, y_val) = usps.load_data(path)
    assert len(x_train) + len(x_val) == 7291
    assert np.bincount(np.concatenate([y_train, y_val])).tolist() == [1194, 1005, 731, 658, 652, 556, 664, 645, 542, 644]
