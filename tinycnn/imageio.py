"""Load any photo or scan as a grayscale float image: the first step of reading digits.

The reading pipeline runs left to right, and each module imports only those to
its left:

    image file -> imageio -> segment -> normalize -> model
                  (gray)     (digit boxes, lines)  (28x28 MNIST-style)

`load_grayscale` turns whatever a phone or scanner produced into one array of
shape (H, W), dtype float32, values in [0, 1] with 0 = black and 1 = white:

    >>> gray = load_grayscale("marks.jpg")  # doctest: +SKIP
    >>> gray.shape, gray.dtype  # doctest: +SKIP
    ((1200, 1600), dtype('float32'))
    >>> load_grayscale(np.array([[0, 255]], dtype=np.uint8))  # arrays and PIL images work too
    array([[0., 1.]], dtype=float32)

Along the way it applies the camera's EXIF rotation, flattens transparency onto
white paper, and scales 16-bit and float images into [0, 1]; asked for the image
smaller (`reduce`), it lets a JPEG decoder shrink it as it decodes. Every bad
input raises `ImageError` with one line that names the file and the problem.
"""

import io
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# A 50-megapixel image already takes 200 MB as float32, and phone cameras top
# out around 50 MP; anything larger is more likely a decompression bomb (a tiny
# file that claims to be gigantic) than a page of handwriting.
MAX_PIXELS = 50_000_000

# What Pillow raises while decoding a broken file: truncated data (OSError),
# malformed chunks (SyntaxError), bad sizes or modes (ValueError), short reads.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError)

# Weights of ITU-R BT.601 luma, the formula Pillow's convert("L") uses too.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

# The EXIF tag that says how the camera was turned (1: upright; 5-8: a quarter turn, maybe mirrored).
_ORIENTATION_TAG = 0x0112


class ImageError(ValueError):
    """An image that cannot be read; the message is one line naming the file and the problem."""


def load_grayscale(source, reduce=1.0):
    """Read `source` as a grayscale image.

    Args:
        source: a path (str or os.PathLike), a binary file object (read from its
            start; its `name`, if any, names it in errors: sys.stdin.buffer says
            <stdin>), a PIL.Image.Image, or a numpy array of shape (H, W), (H, W, 1),
            (H, W, 3) RGB or (H, W, 4) RGBA.
        reduce: how many times smaller to return it (>= 1), as `shrink` would. A JPEG
            file is decoded straight at 1/2, 1/4 or 1/8 of its size where that is not
            smaller than asked (its decoder drops the fine detail of each 8x8 block),
            which is several times faster than decoding every pixel.

    Returns:
        Array of shape (H, W), float32, in [0, 1]; 0 is black and 1 is white.

    Raises:
        ImageError: missing file, directory, empty file, not an image, truncated
            or corrupt data, more than MAX_PIXELS pixels, or zero width/height.
    """
    if isinstance(source, np.ndarray):
        return shrink(_array_to_gray(source, "<array>"), reduce)
    if isinstance(source, Image.Image):
        name = getattr(source, "filename", "") or "<PIL image>"
        return _pil_to_gray(source, name, reduce, draft=False)
    if isinstance(source, (str, bytes, os.PathLike)):
        return _load_path(os.fsdecode(source), reduce)
    if hasattr(source, "read"):
        return _load_file(source, reduce)
    raise ImageError(f"{source!r}: expected a path, a file, a PIL image or a numpy array, got {type(source).__name__}")


def named_bytes(data, name):
    """The bytes of an image file as a binary file object that load_grayscale names `name` in its
    messages (standard input as <stdin>, an upload as <body>)."""
    file = io.BytesIO(data)
    file.name = name
    return file


def jpeg_shape(source):
    """(H, W) of the image in a JPEG file (a path or a seekable file object), upright (after its
    EXIF rotation), from its header alone; None for any other source, or a file Pillow cannot open
    (load_grayscale says why). A JPEG file is the one source load_grayscale reads faster when asked
    for it smaller. A file that cannot seek is left unread: its header could not be read again."""
    if not isinstance(source, (str, bytes, os.PathLike)) and not (hasattr(source, "read") and _seekable(source)):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(source) as image:
                if image.format != "JPEG":
                    return None
                width, height = image.size
                return (width, height) if _turns_sideways(image) else (height, width)
        except (*_DECODE_ERRORS, Image.DecompressionBombError, Image.DecompressionBombWarning):
            return None


def _load_path(path, reduce=1.0):
    """Check that `path` is a file with something in it, then decode it."""
    if not os.path.exists(path):
        raise ImageError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ImageError(f"{path}: is a directory, not an image file")
    if os.path.getsize(path) == 0:
        raise ImageError(f"{path}: empty file (0 bytes)")
    return _decode(path, path, reduce)


def _load_file(file, reduce=1.0):
    """Decode a binary file object from its start (Pillow seeks there); one that cannot seek
    (a pipe) is read whole first, as Pillow must move about in it."""
    name = str(getattr(file, "name", "") or "<file>")
    if not _seekable(file):
        file = io.BytesIO(file.read())
    if file.seek(0, os.SEEK_END) == 0:
        raise ImageError(f"{name}: empty file (0 bytes)")
    return _decode(file, name, reduce)


def _seekable(file):
    """True for a file object that can seek (one with nothing but `read` cannot)."""
    return callable(getattr(file, "seekable", None)) and file.seekable()


def _decode(source, name, reduce):
    """Open `source` (a path or a file object), check its header, then decode and convert it."""
    with warnings.catch_warnings():
        # Pillow only *warns* between its own limit and twice that; make it an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(source) as image:  # reads the header only
                return _pil_to_gray(image, name, reduce, draft=True)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(f"{name}: image too large (over Pillow's decompression-bomb limit)") from None
        except UnidentifiedImageError:
            raise ImageError(f"{name}: not an image file (or a format Pillow cannot read)") from None
        except PermissionError:
            raise ImageError(f"{name}: permission denied") from None
        except OSError as error:
            raise ImageError(f"{name}: cannot read ({_one_line(error)})") from None


def _pil_to_gray(image, name, reduce, draft):
    """Check size, decode fully, apply EXIF rotation, convert to (H, W) float32 in [0, 1] and
    shrink it `reduce` times. draft: let a JPEG decoder shrink it as it decodes (only for
    files opened here: it changes the image object)."""
    width, height = image.size
    if width == 0 or height == 0:
        raise ImageError(f"{name}: zero-sized image ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise ImageError(f"{name}: image too large ({width}x{height} = {width * height} pixels, limit {MAX_PIXELS})")
    size = _reduced_size((width, height), reduce)
    try:
        if draft and reduce > 1:
            image.draft(None, size)  # only JPEG decoders take the hint; the others decode every pixel
        image.load()  # force the full decode now, so a truncated file fails here
        if _turns_sideways(image):
            size = size[::-1]
        image = ImageOps.exif_transpose(image)
    except _DECODE_ERRORS as error:
        raise ImageError(f"{name}: corrupt or truncated image ({_one_line(error)})") from None
    return _resize(_convert(image, name), size)


def _turns_sideways(image):
    """True when the image's EXIF orientation turns it by a quarter turn (its width becomes its height)."""
    return image.getexif().get(_ORIENTATION_TAG, 1) in (5, 6, 7, 8)


def _convert(image, name):
    """Map every Pillow mode to (H, W) float32 in [0, 1]."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(image, dtype=np.float32) / 65535.0
    if mode in ("I", "F"):
        return _scale_numbers(np.asarray(image, dtype=np.float64), name)
    if mode == "1" or mode == "L":
        return np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    has_alpha = "A" in mode or "a" in mode or "transparency" in image.info
    try:
        rgb = np.asarray(image.convert("RGBA" if has_alpha else "RGB"), dtype=np.float32) / 255.0
    except ValueError as error:  # a mode Pillow cannot convert to RGB
        raise ImageError(f"{name}: unsupported image mode {mode} ({_one_line(error)})") from None
    return _rgb_to_gray(rgb)


def _array_to_gray(array, name):
    """A numpy image (H, W) or (H, W, C) with C in 1, 3, 4 -> (H, W) float32 in [0, 1]."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"{name}: expected shape (H, W), (H, W, 3) or (H, W, 4), got {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageError(f"{name}: zero-sized image ({array.shape[1]}x{array.shape[0]})")
    if array.shape[0] * array.shape[1] > MAX_PIXELS:
        raise ImageError(f"{name}: image too large ({array.shape[0] * array.shape[1]} pixels, limit {MAX_PIXELS})")
    if array.dtype == bool:
        values = array.astype(np.float32)
    elif array.dtype == np.uint8:
        values = array.astype(np.float32) / 255.0
    elif array.dtype == np.uint16:
        values = array.astype(np.float32) / 65535.0
    elif np.issubdtype(array.dtype, np.number):
        values = _scale_numbers(array.astype(np.float64), name)
    else:
        raise ImageError(f"{name}: unsupported array dtype {array.dtype}")
    return values if values.ndim == 2 else _rgb_to_gray(values)


def _scale_numbers(values, name):
    """32-bit integer or float pixels -> [0, 1].

    Values already in [0, 1] are kept; values that fit 8 or 16 bits are divided
    by 255 or 65535; anything else is stretched from its min to its max.
    """
    if not np.all(np.isfinite(values)):
        raise ImageError(f"{name}: image contains NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if low >= 0.0 and high <= 1.0:
        scaled = values
    elif low >= 0.0 and high <= 255.0:
        scaled = values / 255.0
    elif low >= 0.0 and high <= 65535.0:
        scaled = values / 65535.0
    else:
        scaled = (values - low) / (high - low)
    return scaled.astype(np.float32)


def _rgb_to_gray(rgb):
    """(H, W, 3) RGB or (H, W, 4) RGBA in [0, 1] -> (H, W) luma; alpha is composited on white."""
    gray = rgb[:, :, :3] @ _LUMA
    if rgb.shape[2] == 4:
        alpha = rgb[:, :, 3]
        gray = gray * alpha + 1.0 * (1.0 - alpha)  # transparent = white paper
    return np.clip(gray, 0.0, 1.0).astype(np.float32)


def shrink(gray, factor):
    """gray (H, W) float32 made `factor` times smaller (factor >= 1), averaging the pixels it merges.

    Returns gray itself when factor is 1 (or less). Pillow's box filter averages
    whole source pixels, so thin strokes fade instead of vanishing.
    """
    return _resize(gray, _reduced_size(gray.shape[::-1], factor))


def _resize(gray, size):
    """gray (H, W) float32 brought to size (width, height) by Pillow's box filter, or itself if it has that size."""
    if gray.shape[::-1] == tuple(size):
        return gray
    return np.asarray(Image.fromarray(gray).resize(size, Image.Resampling.BOX), dtype=np.float32)


def _reduced_size(size, factor):
    """(width, height) made `factor` times smaller, at least 1x1; unchanged for a factor of 1 or less."""
    if factor <= 1.0:
        return tuple(size)
    return tuple(max(1, round(side / factor)) for side in size)


def _one_line(error):
    """The text of an exception squeezed onto one line."""
    return " ".join(str(error).split()) or type(error).__name__
