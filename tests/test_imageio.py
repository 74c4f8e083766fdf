"""Tests for tinycnn.imageio: every kind of image a phone or scanner makes, and every bad input."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from tinycnn.imageio import MAX_PIXELS, ImageError, jpeg_shape, load_grayscale, named_bytes, shrink

from drawing import sideways_jpeg


def check_gray(gray, shape):
    assert gray.shape == shape and gray.dtype == np.float32
    assert gray.min() >= 0.0 and gray.max() <= 1.0


def test_grayscale_png_round_trip(tmp_path):
    pixels = np.arange(0, 240, dtype=np.uint8).reshape(12, 20)
    Image.fromarray(pixels).save(tmp_path / "gray.png")
    gray = load_grayscale(tmp_path / "gray.png")
    check_gray(gray, (12, 20))
    assert np.allclose(gray, pixels / 255.0)
    assert np.array_equal(load_grayscale(str(tmp_path / "gray.png")), gray)


def test_exif_rotated_jpeg_is_turned_upright(tmp_path):
    stored = np.full((40, 60), 255, dtype=np.uint8)  # 60 wide, 40 tall as stored
    stored[:10, :10] = 0  # a black mark at the stored top-left
    sideways_jpeg(tmp_path / "phone.jpg", Image.fromarray(stored))
    gray = load_grayscale(tmp_path / "phone.jpg")
    check_gray(gray, (60, 40))  # now 40 wide, 60 tall
    assert gray[:10, -10:].mean() < 0.2  # the mark is at the top-right
    assert gray[-10:, :10].mean() > 0.8


def test_palette_png(tmp_path):
    rgb = np.zeros((8, 8, 3), dtype=np.uint8)
    rgb[:, :4] = (255, 255, 255)
    rgb[:, 4:] = (255, 0, 0)
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(tmp_path / "palette.png")
    with Image.open(tmp_path / "palette.png") as image:
        assert image.mode == "P"
    gray = load_grayscale(tmp_path / "palette.png")
    check_gray(gray, (8, 8))
    assert np.allclose(gray[:, :4], 1.0) and np.allclose(gray[:, 4:], 0.299, atol=0.01)  # luma of red


def test_transparent_background_becomes_white_paper(tmp_path):
    rgba = np.zeros((10, 10, 4), dtype=np.uint8)  # transparent black everywhere...
    rgba[3:7, 3:7] = (0, 0, 0, 255)  # ...except an opaque black square
    rgba[0, 0] = (0, 0, 0, 128)  # and one half-transparent pixel
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    gray = load_grayscale(tmp_path / "rgba.png")
    check_gray(gray, (10, 10))
    assert gray[5, 5] == 0.0 and gray[9, 9] == 1.0
    assert gray[0, 0] == pytest.approx(127 / 255, abs=0.01)
    Image.fromarray(rgba).convert("LA").save(tmp_path / "la.png")
    assert np.allclose(load_grayscale(tmp_path / "la.png"), gray, atol=0.01)


def test_palette_with_a_transparent_colour(tmp_path):
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 0, 0, 50, 50, 50])
    image.putpixel((1, 1), 1)
    image.save(tmp_path / "gif.gif", transparency=0)
    gray = load_grayscale(tmp_path / "gif.gif")
    assert gray[0, 0] == 1.0 and gray[1, 1] == pytest.approx(50 / 255, abs=0.01)


def test_16_bit_png(tmp_path):
    pixels = np.linspace(0, 65535, 30).astype(np.uint16).reshape(5, 6)
    Image.fromarray(pixels).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as image:
        assert image.mode.startswith("I")
    gray = load_grayscale(tmp_path / "deep.png")
    check_gray(gray, (5, 6))
    assert np.allclose(gray, pixels / 65535.0, atol=1e-6)


def test_cmyk_jpeg(tmp_path):
    image = Image.new("CMYK", (16, 16), (0, 0, 0, 0))  # no ink: white
    image.paste((0, 0, 0, 255), (0, 0, 8, 16))  # full black ink on the left
    image.save(tmp_path / "print.jpg", quality=95)
    gray = load_grayscale(tmp_path / "print.jpg")
    check_gray(gray, (16, 16))
    assert gray[:, :6].mean() < 0.1 and gray[:, 10:].mean() > 0.9


def test_one_bit_and_float_images(tmp_path):
    bits = np.zeros((6, 6), dtype=bool)
    bits[2:4] = True
    Image.fromarray(bits).save(tmp_path / "fax.png")
    assert np.array_equal(load_grayscale(tmp_path / "fax.png"), bits.astype(np.float32))
    floats = np.linspace(0.0, 1.0, 36, dtype=np.float32).reshape(6, 6)
    Image.fromarray(floats).save(tmp_path / "float.tif")
    assert np.allclose(load_grayscale(tmp_path / "float.tif"), floats)


def test_pil_images_and_arrays():
    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    rgb[..., 1] = 255
    assert np.allclose(load_grayscale(rgb), 0.587, atol=1e-3)
    assert np.allclose(load_grayscale(Image.fromarray(rgb)), 0.587, atol=1e-2)
    assert np.array_equal(load_grayscale(np.array([[True, False]])), [[1.0, 0.0]])
    assert np.allclose(load_grayscale(np.array([[0, 65535]], dtype=np.uint16)), [[0.0, 1.0]])
    assert np.allclose(load_grayscale(np.array([[0.0, 0.5]])), [[0.0, 0.5]])  # already in [0, 1]
    assert np.allclose(load_grayscale(np.array([[0, 255]], dtype=np.int64)), [[0.0, 1.0]])
    assert np.allclose(load_grayscale(np.array([[-3.0, 5.0]])), [[0.0, 1.0]])  # stretched
    rgba = np.zeros((2, 2, 4))
    assert np.allclose(load_grayscale(rgba), 1.0)  # fully transparent: white


# --- bad input: always ImageError, one line, naming the file ---------------


def assert_one_line_error(source, name, words):
    with pytest.raises(ImageError) as caught:
        load_grayscale(source)
    message = str(caught.value)
    assert "\n" not in message and name in message and words in message, message
    return message


def _png_header(path, width, height):
    """A PNG that claims width x height pixels but holds almost no data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


def test_missing_file(tmp_path):
    assert_one_line_error(tmp_path / "nope.png", "nope.png", "no such file")


def test_directory(tmp_path):
    assert_one_line_error(tmp_path, str(tmp_path), "directory")


def test_zero_byte_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    assert_one_line_error(tmp_path / "empty.png", "empty.png", "empty")


def test_not_an_image(tmp_path):
    (tmp_path / "notes.png").write_text("these are my marks: 17, 4\n")
    assert_one_line_error(tmp_path / "notes.png", "notes.png", "not an image")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_image(tmp_path, fmt):
    rng = np.random.default_rng(0)
    path = tmp_path / f"cut.{fmt.lower()}"
    Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8)).save(path, fmt)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert_one_line_error(path, path.name, "corrupt or truncated")


def test_too_many_pixels_is_refused_before_decoding(tmp_path):
    side = int(MAX_PIXELS**0.5) + 100  # over our limit, under Pillow's own
    _png_header(tmp_path / "bomb.png", side, side)
    # Decoding would fail as truncated; "too large" shows the size was checked first.
    assert_one_line_error(tmp_path / "bomb.png", "bomb.png", "too large")
    _png_header(tmp_path / "huge.png", 100_000, 100_000)  # over Pillow's decompression-bomb limit
    assert_one_line_error(tmp_path / "huge.png", "huge.png", "too large")


def test_zero_sized_images():
    assert_one_line_error(np.zeros((0, 5)), "<array>", "zero-sized")
    assert_one_line_error(Image.new("L", (0, 3)), "<PIL image>", "zero-sized")


def test_bad_arrays_and_types():
    assert_one_line_error(np.array([[0.0, np.nan]]), "<array>", "NaN")
    assert_one_line_error(np.zeros((2, 2, 2)), "<array>", "shape")
    assert_one_line_error(np.array([["a"]]), "<array>", "dtype")
    with pytest.raises(ImageError, match="expected a path, a file"):
        load_grayscale(3.5)


def test_image_error_is_a_value_error():
    assert issubclass(ImageError, ValueError)


def test_shrink_averages_pixels_and_keeps_small_factors_as_they_are():
    gray = np.zeros((40, 60), dtype=np.float32)
    gray[:, ::2] = 1.0  # 1-px stripes: shrinking by 2 averages them to grey, not to black or white
    small = shrink(gray, 2.0)
    assert small.shape == (20, 30) and small.dtype == np.float32
    assert np.allclose(small, 0.5, atol=0.01)
    assert shrink(gray, 1.0) is gray and shrink(gray, 0.5) is gray


def smooth_page(height, width):
    """A (height, width) uint8 page with soft dark blobs: little fine detail for a JPEG decoder to drop."""
    y, x = np.mgrid[:height, :width]
    blobs = np.exp(-(((x % 160) - 80) ** 2 + ((y % 120) - 60) ** 2) / 800.0)
    return np.round(255 * (1 - 0.8 * blobs)).astype(np.uint8)


def test_a_jpeg_asked_for_smaller_is_decoded_smaller_and_looks_like_shrinking_it(tmp_path, monkeypatch):
    from PIL import JpegImagePlugin
    Image.fromarray(smooth_page(600, 800)).save(tmp_path / "page.jpg", quality=95)
    decoded = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def draft_and_note_size(image, mode, size):
        result = real_draft(image, mode, size)
        decoded.append(image.size)
        return result
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", draft_and_note_size)
    small = load_grayscale(tmp_path / "page.jpg", reduce=3)
    assert decoded == [(400, 300)]  # decoded at half size, the nearest step not smaller than a third
    whole = shrink(load_grayscale(tmp_path / "page.jpg"), 3)
    check_gray(small, whole.shape)
    assert small.shape == (200, 267)
    assert np.abs(small - whole).mean() < 0.01


def test_a_sideways_jpeg_asked_for_smaller_is_upright_and_its_shape_read_from_its_header(tmp_path):
    stored = smooth_page(300, 400)
    stored[:40, :40] = 0  # a black mark at the stored top-left: top-right when upright
    sideways_jpeg(tmp_path / "phone.jpg", Image.fromarray(stored))
    assert jpeg_shape(tmp_path / "phone.jpg") == (400, 300)
    small = load_grayscale(tmp_path / "phone.jpg", reduce=4)
    check_gray(small, (100, 75))
    assert small[:10, -10:].mean() < 0.2  # the mark is at the top-right


def test_only_a_readable_jpeg_file_has_a_jpeg_shape(tmp_path):
    Image.fromarray(smooth_page(30, 40)).save(tmp_path / "page.png")
    (tmp_path / "notes.jpg").write_text("not a picture")
    for source in (tmp_path / "page.png", tmp_path / "notes.jpg", tmp_path / "missing.jpg", tmp_path,
                   np.zeros((30, 40)), Image.fromarray(smooth_page(30, 40))):
        assert jpeg_shape(source) is None


def test_a_pil_image_asked_for_smaller_is_shrunk_and_left_as_it_was(tmp_path):
    Image.fromarray(smooth_page(600, 800)).save(tmp_path / "page.jpg", quality=95)
    with Image.open(tmp_path / "page.jpg") as image:
        small = load_grayscale(image, reduce=4)
        assert image.size == (800, 600)  # the caller's image is not drafted smaller behind its back
    check_gray(small, (150, 200))
    assert load_grayscale(smooth_page(600, 800), reduce=4).shape == (150, 200)


class Pipe(io.RawIOBase):
    """Bytes that can be read once, forwards, as from a pipe: no seeking."""

    def __init__(self, data):
        self.data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        return self.data.readinto(buffer)


class ReadOnly:
    """An object with nothing but read(), as duck typing allows."""

    def __init__(self, data):
        self.read = io.BytesIO(data).read


def test_a_file_object_reads_as_its_file_does(tmp_path):
    Image.fromarray(smooth_page(600, 800)).save(tmp_path / "page.jpg", quality=95)
    Image.fromarray(smooth_page(30, 40)).save(tmp_path / "page.png")
    for path in (tmp_path / "page.jpg", tmp_path / "page.png"):
        data = path.read_bytes()
        whole = load_grayscale(path)
        assert np.array_equal(load_grayscale(io.BytesIO(data)), whole)
        assert np.array_equal(load_grayscale(Pipe(data)), whole)
        assert np.array_equal(load_grayscale(io.BytesIO(data), reduce=4), load_grayscale(path, reduce=4))
        opened = io.BytesIO(data)
        assert jpeg_shape(opened) == jpeg_shape(path) and np.array_equal(load_grayscale(opened), whole)
    assert jpeg_shape(io.BytesIO((tmp_path / "page.jpg").read_bytes())) == (600, 800)
    pipe = Pipe((tmp_path / "page.jpg").read_bytes())
    assert jpeg_shape(pipe) is None and pipe.data.tell() == 0  # its header could not be read again: left unread
    reader = ReadOnly((tmp_path / "page.jpg").read_bytes())  # nothing but read(): no seekable() to ask
    assert jpeg_shape(reader) is None and np.array_equal(load_grayscale(reader), load_grayscale(tmp_path / "page.jpg"))


def test_a_bad_file_object_is_named_in_one_line():
    assert_one_line_error(named_bytes(b"", "<stdin>"), "<stdin>", "empty")
    assert_one_line_error(Pipe(b""), "<file>", "empty")
    assert_one_line_error(named_bytes(b"these are my marks", "<stdin>"), "<stdin>", "not an image")
    buffer = io.BytesIO()
    Image.fromarray(smooth_page(64, 64)).save(buffer, "PNG")
    assert_one_line_error(named_bytes(buffer.getvalue()[:200], "scan.png"), "scan.png", "corrupt or truncated")
