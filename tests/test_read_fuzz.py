"""Fuzzing the reader: whatever bytes or pixels it is given, it ends in a reading or a clean error.

A clean error is imageio.ImageError (one line naming the file) from read_digits, and exit code 2 with one
"error: ..." line and no traceback from the command. Never another exception, never a hang."""

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tinycnn.imageio import ImageError
from tinycnn.read import Reading, main, read_digits

FUZZ = settings(max_examples=40, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"]


def read_or_clean_error(source):
    try:
        return read_digits(source)
    except ImageError as error:
        assert "\n" not in str(error)
        return None


def read_file_or_clean_error(path):
    """The file read by its path, and its bytes as a file object (standard input, say): the same either way."""
    reading = read_or_clean_error(path)
    from_bytes = read_or_clean_error(io.BytesIO(path.read_bytes()))
    assert (reading is None) == (from_bytes is None)
    assert reading is None or reading.text == from_bytes.text
    return reading


@st.composite
def small_images(draw):
    """A PIL image of any mode and a size from 1x1 to 40x40: noise, all black, all white or stripes."""
    mode = draw(st.sampled_from(MODES))
    width, height = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    kind = draw(st.sampled_from(["noise", "black", "white", "stripes"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    gray = {"noise": rng.integers(0, 256, (height, width)), "black": np.zeros((height, width)),
            "white": np.full((height, width), 255), "stripes": (np.arange(width) % 4 < 2)[None, :].repeat(height, 0) * 255}[kind]
    return Image.fromarray(gray.astype(np.uint8)).convert(mode)


@FUZZ
@given(small_images())
def test_any_small_image_gives_a_reading_or_a_clean_error(image):
    reading = read_or_clean_error(image)
    assert reading is None or isinstance(reading, Reading)


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_give_a_clean_error(tmp_path, data):
    path = tmp_path / "random.png"
    path.write_bytes(data)
    reading = read_file_or_clean_error(path)
    assert reading is None or isinstance(reading, Reading)


def encoded(fmt):
    rng = np.random.default_rng(0)
    image = Image.fromarray((rng.random((60, 80)) * 255).astype(np.uint8)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@FUZZ
@given(fmt=st.sampled_from(["PNG", "JPEG"]), cut=st.floats(0.0, 0.99), flips=st.lists(st.integers(0, 10**6), max_size=5))
def test_truncated_or_corrupted_files_give_a_reading_or_a_clean_error(tmp_path, fmt, cut, flips):
    data = bytearray(encoded(fmt))
    data = data[:max(1, int(len(data) * cut))] if cut > 0 else data
    for position in flips:
        data[position % len(data)] ^= 0xFF
    path = tmp_path / f"broken.{fmt.lower()}"
    path.write_bytes(bytes(data))
    reading = read_file_or_clean_error(path)
    assert reading is None or isinstance(reading, Reading)


@pytest.mark.parametrize("make", [
    lambda p: p.write_bytes(b""),
    lambda p: p.write_bytes(encoded("PNG")[:40]),
    lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100)),
    lambda p: p.mkdir(),
])
def test_the_command_answers_bad_files_in_one_line(tmp_path, capsys, make):
    path = tmp_path / "bad.png"
    make(path)
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "bad.png" in err and "Traceback" not in err
