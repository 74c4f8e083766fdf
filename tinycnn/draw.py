"""Pillow drawing helpers for the pictures (tinycnn.explain), the curves (tinycnn.plot) and the
drawing page (tinycnn.serve): arrays become images, charts get axes, ticks, labels and a legend.

    tile = gray(feature_map, scale=4)                     # (H, W) numbers -> 'L' image, 4x bigger
    sheet = grid([tile, ...], columns=8)                 # equal tiles -> one image
    chart = bar_chart(probabilities, labels="0123456789", highlight=7)
    save_png(chart, "probabilities.png")                  # written atomically

Nothing here but Pillow and NumPy: no plotting library, no fonts to install.
"""

import base64
import functools
import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .fileio import atomic_write

WHITE, BLACK, INK, FAINT = (255, 255, 255), (0, 0, 0), (60, 60, 60), (225, 225, 225)
BLUE, ORANGE, GREY = (31, 119, 180), (255, 127, 14), (170, 170, 170)


@functools.lru_cache(maxsize=None)
def font(size=12):
    """Pillow's own scalable font (built in since Pillow 10.1), `size` px high: nothing to install."""
    return ImageFont.load_default(size=size)


# --- arrays -> images ------------------------------------------------------------------
def gray(array, low=None, high=None, scale=1):
    """(H, W) numbers -> 'L' image of (H*scale, W*scale): low..high (default: the array's own
    min..max) maps to black..white, and each value becomes a scale x scale block."""
    array = np.asarray(array, dtype=np.float64)
    low = array.min() if low is None else low
    high = array.max() if high is None else high
    values = (array - low) / (high - low) if high > low else np.zeros_like(array)
    image = Image.fromarray(np.round(np.clip(values, 0, 1) * 255).astype(np.uint8))
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)


def diverging(array, scale=1):
    """(H, W) signed numbers -> RGB image: negative blue, zero white, positive red, both sides
    scaled by the largest magnitude (for weights, whose sign matters)."""
    array = np.asarray(array, dtype=np.float64)
    limit = np.abs(array).max() or 1.0
    t = np.clip(array / limit, -1, 1)[..., None]
    white, red, blue = np.array(WHITE), np.array((202, 0, 32)), np.array((5, 113, 176))
    rgb = np.where(t >= 0, white + t * (red - white), white - t * (blue - white))
    image = Image.fromarray(np.round(rgb).astype(np.uint8))
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)


def grid(tiles, columns, gap=2, background=WHITE):
    """Equal-sized images -> one image with `columns` tiles per row, `gap` px apart."""
    width, height = tiles[0].size
    rows = math.ceil(len(tiles) / columns)
    sheet = Image.new("RGB", (columns * (width + gap) + gap, rows * (height + gap) + gap), background)
    for i, tile in enumerate(tiles):
        row, column = divmod(i, columns)
        sheet.paste(tile, (gap + column * (width + gap), gap + row * (height + gap)))
    return sheet


def feature_maps(maps, columns=8, scale=4):
    """(H, W, C) activations -> a grid of C gray tiles. All tiles share one scale, 0 (black) to
    the largest activation (white), so a weak map looks dark and a silent one black."""
    high = float(maps.max()) or 1.0
    return grid([gray(maps[:, :, c], 0.0, high, scale) for c in range(maps.shape[-1])], columns)


def png_bytes(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(image):
    """The image as a 'data:image/png;base64,...' URL, for an <img src> or a JSON answer."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def save_png(image, path):
    """Write the image as a PNG, atomically (readers never see half a file)."""
    with atomic_write(path) as f:
        f.write(png_bytes(image))


# --- charts ------------------------------------------------------------------------------
def nice_ticks(low, high, count=5):
    """Round values from low to high, inclusive, 1, 2 or 5 times a power of ten apart: the
    smallest such step that gives at most count + 1 ticks."""
    span = high - low
    if span <= 0:
        return [low]
    power = 10.0 ** math.floor(math.log10(span / count))
    for step in (m * power for m in (1, 2, 5, 10, 20)):  # 20 * power always leaves few enough
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)  # forgive rounding noise
        if last - first <= count:
            return [round(k * step, 12) for k in range(first, last + 1)]


def tick_label(value):
    """0.5 -> '0.5', 2.0 -> '2', 0.25 -> '0.25': as short as the value allows."""
    return f"{value:.6g}"


class Axes:
    """A plot area at `box` = (left, top, right, bottom) pixels of `image`, showing data in
    xlim x ylim: draws the frame, ticks and labels at once, then lines, dots and bars on request."""

    def __init__(self, image, box, xlim, ylim, title="", xlabel="", ylabel="", xticks=None, yticks=None):
        self.image, self.draw = image, ImageDraw.Draw(image)
        self.box, self.xlim, self.ylim = box, xlim, ylim
        left, top, right, bottom = box
        for x in nice_ticks(*xlim) if xticks is None else xticks:
            self._tick(self.px(x, ylim[0]), (0, 4), tick_label(x) if not isinstance(x, str) else x, "mt")
        for y in nice_ticks(*ylim) if yticks is None else yticks:
            px, py = self.px(xlim[0], y)
            self.draw.line([(left, py), (right, py)], fill=FAINT)
            self._tick((px, py), (-4, 0), tick_label(y), "rm")
        self.draw.rectangle(box, outline=INK)
        self.draw.text(((left + right) / 2, top - 8), title, fill=BLACK, font=font(15), anchor="md")
        self.draw.text(((left + right) / 2, bottom + 24), xlabel, fill=INK, font=font(13), anchor="mt")
        self._vertical_text((left - 50, (top + bottom) / 2), ylabel)

    def _tick(self, point, direction, label, anchor):
        x, y = point
        dx, dy = direction
        self.draw.line([(x, y), (x + dx, y + dy)], fill=INK)
        self.draw.text((x + 2 * dx, y + 2 * dy), label, fill=INK, font=font(12), anchor=anchor)

    def _vertical_text(self, centre, text):
        """Text turned 90 degrees (read bottom to top), centred at `centre`."""
        width = int(font(13).getlength(text)) + 2
        label = Image.new("RGB", (width, 16), WHITE)
        ImageDraw.Draw(label).text((1, 8), text, fill=INK, font=font(13), anchor="lm")
        label = label.rotate(90, expand=True)
        self.image.paste(label, (int(centre[0] - label.width / 2), int(centre[1] - label.height / 2)))

    def px(self, x, y):
        """Data (x, y) -> pixel (column, row); y grows upwards."""
        left, top, right, bottom = self.box
        (x0, x1), (y0, y1) = self.xlim, self.ylim
        return left + (x - x0) / (x1 - x0) * (right - left), bottom - (y - y0) / (y1 - y0) * (bottom - top)

    def line(self, xs, ys, color, width=2):
        points = [self.px(x, y) for x, y in zip(xs, ys)]
        if len(points) > 1:
            self.draw.line(points, fill=color, width=width, joint="curve")
        for x, y in points:
            self.draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=color)

    def dots(self, xs, ys, color, radius=2.5):
        for x, y in (self.px(x, y) for x, y in zip(xs, ys)):
            self.draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=color)

    def bar(self, x, value, width, color, label=None):
        """A bar from 0 to value centred on x (width in data units), with an optional label on top."""
        left, top = self.px(x - width / 2, value)
        right, bottom = self.px(x + width / 2, 0)
        self.draw.rectangle([left, top, right, bottom], fill=color)
        if label:
            self.draw.text(((left + right) / 2, top - 3), label, fill=BLACK, font=font(12), anchor="md")

    def legend(self, entries, lower=False):
        """entries: [(label, color), ...], listed in the plot's top-right (or lower-right) corner."""
        height = 18 * len(entries) + 6
        right, top = self.box[2] - 10, (self.box[3] - 10 - height if lower else self.box[1] + 10)
        width = max(font(12).getlength(label) for label, _ in entries) + 30
        self.draw.rectangle([right - width, top, right, top + height], fill=WHITE, outline=GREY)
        for i, (label, color) in enumerate(entries):
            y = top + 12 + 18 * i
            self.draw.line([(right - width + 6, y), (right - width + 22, y)], fill=color, width=3)
            self.draw.text((right - width + 26, y), label, fill=BLACK, font=font(12), anchor="lm")


def bar_chart(values, labels, highlight=None, title="", ylabel="", size=(520, 320)):
    """One bar per value (values in [0, 1], e.g. probabilities), the `highlight`-th in orange."""
    image = Image.new("RGB", size, WHITE)
    axes = Axes(image, (70, 40, size[0] - 20, size[1] - 50), (-0.6, len(values) - 0.4), (0, 1),
                title=title, ylabel=ylabel, xticks=[], yticks=[0, 0.25, 0.5, 0.75, 1])
    for i, (value, label) in enumerate(zip(values, labels)):
        axes.bar(i, float(value), 0.7, ORANGE if i == highlight else BLUE, f"{value:.0%}" if value >= 0.005 else None)
        x, y = axes.px(i, 0)
        axes.draw.text((x, y + 5), str(label), fill=BLACK, font=font(14), anchor="mt")
    return image
