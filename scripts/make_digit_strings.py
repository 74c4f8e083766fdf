"""Make a seeded evaluation set of handwritten numbers, built only from the MNIST *test* digits.

    python scripts/make_digit_strings.py --out eval/strings --count 1000 --seed 0
    python scripts/make_digit_strings.py --out eval/forms --count 200 --conditions boxes,ruled_lines

Each image is one number of 1 to 10 digits (a few numbers on two or three lines for
"multiline"), written as pen on paper: an MNIST test digit is cropped, upscaled smoothly
to 20-110 px, its stroke width set like a pen's, and the result is ink on paper,
`out = paper * (1 - ink * (1 - ink_colour))`. Every image has one main *condition* (the
conditions take turns, so each gets an equal share) and mild random variation otherwise:
a little slant, tilt, blur and noise, paper of varying brightness.

The folder gets NNNN.png (NNNN.jpg for "jpeg") and truth.jsonl, one JSON object per image:

    {"file": "0003.png", "text": "40 17", "condition": "clean", "digits": 4,
     "boxes": [[x, y, w, h], ...], "seed": 1234, "lines": 1,
     "mnist_test_index": [...], "details": {...}}

- "text" holds only digits: lines are joined by "\\n", and a space marks a word gap, which the
  generator makes on purpose (at least 1.1 digit heights of paper; ordinary spacing inside a
  number is at most 0.4, and a separator with the space on both sides at most 0.8).
  Separators (. , -) are drawn but never written in the text.
- "boxes" are the tight ink boxes of the digits, in reading order, in image pixels.
- "seed" re-creates the image alone: `make_image(condition, np.random.default_rng(seed), x_test, y_test)`.
- "mnist_test_index" says which test digit each drawn digit is.

The set depends only on --seed (every random choice comes from one np.random.Generator per
image, seeded from it), so the same command gives byte-identical files.
"""

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

from tinycnn.augment import thin

CONDITIONS = {
    "clean": "pen on plain paper, ordinary spacing: the baseline",
    "touching": "3 in 4 neighbouring digits just touch, or overlap by up to a tenth of a digit height",
    "scale_slant": "digits 20-110 px tall, uneven sizes, slant up to 30 degrees, tilt up to 12, wavy baseline",
    "thickness": "a thin pen (strokes 2-4.5% of the digit height) or a thick felt marker (16-26%)",
    "blur_noise": "out-of-focus or motion blur, low resolution, sensor noise and salt-and-pepper specks",
    "texture": "paper grain, fibres, stains, a crease, dirt specks and faint show-through from the back",
    "shadow": "uneven lighting, a hard or soft shadow across the number, sometimes the table at an edge",
    "ruled_lines": "notebook lines under or through the digits, graph paper, or a pen underline",
    "boxes": "a printed frame around the number, one printed cell per digit, a comb, or a pen circle",
    "colour_ink": "blue, red or black ink on tinted off-white paper (RGB)",
    "jpeg": "heavy JPEG compression, quality 8-35 (saved as .jpg)",
    "light_on_dark": "chalk on a blackboard: light, grainy strokes on a dark smudged board",
    "separators": "'.', ',' or '-' between or after digits: 12.5, 1,000, 45-, 12-34 (not in the text)",
    "multiline": "two or three numbers on separate lines, sometimes with word gaps",
}

MAX_WIDTH = 950  # px: the longest line is kept near this, so images stay about 1000 px wide
NORMAL_GAP = (0.06, 0.4)  # space between digits of one number, in digit heights
SEPARATOR_GAP = (0.03, 0.18)  # on each side of a separator; with a dash (< 0.45) at most 0.8 in all
WORD_GAP = (1.1, 2.4)  # a deliberate gap between groups: written as a space in the text
INK_THRESHOLD = 0.5  # ink above this is "visible": it defines the truth boxes


def load_test_digits(data_dir=None):
    """The MNIST *test* split, the only digits the generator may draw: images (10000, 28, 28), labels (10000,).

    Only the two t10k files are read (downloaded first if missing); the training files are never opened.
    """
    from tinycnn.datasets import mnist
    directory = mnist.resolve_data_dir(data_dir)
    names = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    if not all((directory / n).is_file() or (directory / (n + ".gz")).is_file() for n in names):
        mnist.download(directory, checksums={n: mnist.SHA256[n] for n in names})
    paths = [directory / n if (directory / n).is_file() else directory / (n + ".gz") for n in names]
    images, labels = mnist.read_idx(paths[0], ndim=3), mnist.read_idx(paths[1], ndim=1)
    if len(images) != len(labels) or images.shape[1:] != (28, 28):
        raise mnist.MNISTError(f"{paths[0]}: expected (N, 28, 28) images matching {len(labels)} labels, "
                               f"got {images.shape}")
    return images, labels


# --- small helpers ------------------------------------------------------------------
def log_uniform(rng, low, high):
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def smooth_noise(shape, cell, rng):
    """A random field of `shape` (H, W), smooth over about `cell` px, mean 0 and std about 1."""
    h, w = shape
    grid = rng.standard_normal((max(2, round(h / cell) + 2), max(2, round(w / cell) + 2))).astype(np.float32)
    field = np.asarray(Image.fromarray(grid).resize((w, h), Image.Resampling.BICUBIC))
    return field / (field.std() + 1e-6)


def ink_box(ink):
    """Tight (x, y, w, h) of the visible ink of a patch, or None if it has none."""
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def shear_rotate(slant, angle):
    """2x2 matrix acting on (x, y) with y down: lean the tops right by `slant` degrees, then turn by `angle`."""
    s, a = np.radians(slant), np.radians(angle)
    shear = np.array([[1.0, -np.tan(s)], [0.0, 1.0]])
    rotate = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    return rotate @ shear


def warp(src, matrix):
    """Apply the (x, y) matrix to patch `src` about its centre; the output's centre is the image of src's centre."""
    if np.allclose(matrix, np.eye(2)):
        return src
    h, w = src.shape
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [-w / 2, h / 2], [w / 2, h / 2]]) @ matrix.T
    ow, oh = (int(np.ceil(2 * np.abs(corners[:, i]).max())) + 3 for i in (0, 1))
    inverse = np.linalg.inv(matrix)
    inverse_rc = inverse[::-1, ::-1]  # the same map in (row, col) order
    centre_in, centre_out = np.array([(h - 1) / 2, (w - 1) / 2]), np.array([(oh - 1) / 2, (ow - 1) / 2])
    return ndi.affine_transform(src, inverse_rc, offset=centre_in - inverse_rc @ centre_out,
                                output_shape=(oh, ow), order=1)


# --- one digit, one separator ---------------------------------------------------------
def stroke_width(mask):
    """Mean stroke width of a binary mask: area / half the perimeter (a stroke of length L and width w has 2L of edge)."""
    edge = np.count_nonzero(mask & ~ndi.binary_erosion(mask))
    return 2 * np.count_nonzero(mask) / max(edge, 1)


def digit_ink(image, height, stroke_px):
    """One MNIST digit (28, 28) uint8 -> ink (h, w) float32 in [0, 1], the ink `height` px tall, strokes `stroke_px` wide.

    The digit is cropped to its ink, upscaled with bicubic interpolation and thresholded. A
    thicker pen grows the edge outwards along the distance to it (a dilation). A thinner pen
    is drawn along the skeleton of the digit, the way a pen of that width would have written
    it: shrinking the edge instead would cut the thin parts of MNIST's uneven strokes. Where
    the writer filled a loop in, the skeleton is a line through the blot (a 2 whose loop is
    filled became a 0, an 8 a 4), so the blot is kept too, shrunk by as much as the pen is
    thinner: the ink is the skeleton's pen stroke or the edge moved in, whichever is wider.
    The edge stays anti-aliased over about 2 px.
    """
    a = image.astype(np.float32) / 255
    pieces, n = ndi.label(a > 0.25, structure=np.ones((3, 3)))
    if n > 1:  # MNIST has specks beside some digits; drop pieces with under 5% of the ink
        mass = ndi.sum(a, pieces, index=np.arange(1, n + 1))
        specks = np.isin(pieces, 1 + np.flatnonzero(mass < 0.05 * mass.sum()))
        a = np.where(ndi.binary_dilation(specks), 0, a)
    rows, cols = np.flatnonzero(a.max(axis=1) > 0.25), np.flatnonzero(a.max(axis=0) > 0.25)
    crop = np.pad(a[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], 2)
    scale = height / (rows[-1] - rows[0] + 1)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    big = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BICUBIC))
    mask = big > 0.5
    width = stroke_width(mask)
    pad = int(max(0.0, (stroke_px - width) / 2)) + 3
    mask = np.pad(mask, pad)
    # the edge moved by (stroke_px - width) / 2: out for a thicker pen, in for a thinner one
    signed = ndi.distance_transform_edt(mask) - ndi.distance_transform_edt(~mask) + (stroke_px - width) / 2
    if stroke_px < 0.8 * width:
        # or the pen's centre line, widened to stroke_px: ink within stroke_px / 2 of the skeleton
        signed = np.maximum(signed, stroke_px / 2 - ndi.distance_transform_edt(~thin(mask)))
    signed = ndi.gaussian_filter(signed, 0.7)
    return np.clip(signed / 2 + 0.5, 0, 1).astype(np.float32)


def separator_ink(kind, height, stroke_px, rng):
    """A hand-drawn '.', ',' or '-' for digits `height` px tall -> (ink patch, baseline row in the patch).

    Drawn 4 times larger with Pillow and shrunk, for smooth edges.
    """
    k = 4
    s = max(stroke_px, 1.5) * k
    h = height * k
    size = (int(0.7 * h + 4 * s), int(0.45 * h + 4 * s))
    canvas = Image.new("L", size, 0)
    draw = ImageDraw.Draw(canvas)
    x0, base = 2 * s, 2 * s + 0.2 * h  # drawing starts here; `base` is where the digits stand
    if kind == "-":
        length = rng.uniform(0.25, 0.45) * h
        y = base - rng.uniform(0.0, 0.1) * h
        draw.line((x0, y, x0 + length, y - rng.uniform(-0.06, 0.06) * length), fill=255, width=round(s))
        base = y + rng.uniform(0.35, 0.55) * h  # the dash floats about half a digit above the baseline
    else:
        r = max(s * rng.uniform(0.5, 0.8), 0.035 * h)
        cx, cy = x0 + r, base - r
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
        if kind == ",":
            tail = rng.uniform(0.12, 0.22) * h
            draw.line((cx + 0.5 * r, cy, cx - 0.35 * tail, cy + tail), fill=255, width=round(0.8 * s))
    small = canvas.resize((max(1, size[0] // k), max(1, size[1] // k)), Image.Resampling.BOX)
    ink = np.asarray(small, dtype=np.float32) / 255
    return ink, base / k


# --- the plan of one image: what is written, how --------------------------------------
def draw_style(condition, rng):
    """Every knob of one image, as a dict: mild random defaults, then the condition's own change."""
    pen = rng.choice(["black", "blue-black", "grey"])
    ink_rgb = {"black": (0.08, 0.08, 0.1), "blue-black": (0.12, 0.14, 0.3), "grey": (0.25, 0.25, 0.27)}[pen]
    s = {
        "height": log_uniform(rng, 30, 80), "size_jitter": 0.06, "baseline_jitter": 0.04, "wave": 0.0,
        "slant": float(np.clip(rng.normal(0, 5), -12, 12)), "slant_jitter": 2.5,
        "angle": rng.uniform(-2, 2), "tilt_jitter": 1.5,
        "gap": NORMAL_GAP, "touch": None, "word_gap_p": 0.1,
        "stroke": rng.uniform(0.06, 0.11), "ink_rgb": np.array(ink_rgb) * rng.uniform(0.8, 1.2),
        "darkness": rng.uniform(0.8, 1.0), "pressure": rng.uniform(0.0, 0.2),
        "paper_rgb": np.full(3, rng.uniform(0.85, 0.98)), "grain": rng.uniform(0.005, 0.02),
        "light": rng.uniform(0.0, 0.1), "blur": rng.uniform(0.3, 0.8), "noise": rng.uniform(0.004, 0.015),
        "wave_phase": rng.uniform(0, 2 * np.pi),
        "rgb": rng.random() < 0.15, "lines": [rng.integers(1, 11)], "details": {},
    }
    d = s["details"]
    if condition == "touching":
        s["lines"] = [rng.integers(2, 11)]
        s["touch"] = d["touch"] = rng.choice(["touch", "overlap"])
        s["gap"] = (0.03, 0.15)
        s["word_gap_p"] = 0.0
    elif condition == "scale_slant":
        s["height"] = log_uniform(rng, 20, 110)
        s["size_jitter"], s["baseline_jitter"], s["wave"] = rng.uniform(0.1, 0.2), 0.08, rng.uniform(0.05, 0.25)
        s["slant"] = rng.choice([-1, 1]) * rng.uniform(10, 30) if rng.random() < 0.8 else rng.uniform(-10, 10)
        s["slant_jitter"], s["angle"], s["tilt_jitter"] = 6.0, rng.uniform(-12, 12), 4.0
        d.update(slant=round(s["slant"], 1), angle=round(s["angle"], 1))
    elif condition == "thickness":
        d["pen"] = rng.choice(["thin", "thick"])
        s["stroke"] = rng.uniform(0.02, 0.045) if d["pen"] == "thin" else rng.uniform(0.16, 0.26)
    elif condition == "blur_noise":
        d["blur"] = rng.choice(["gaussian", "motion", "low_res"])
        s["blur"] = rng.uniform(0.03, 0.07) if d["blur"] == "gaussian" else 0.5  # gaussian: in digit heights
        s["noise"] = rng.uniform(0.03, 0.1)
        d["specks"] = bool(rng.random() < 0.5)
    elif condition == "shadow":
        s["light"] = rng.uniform(0.2, 0.45)
        d["shadow"] = rng.choice(["edge", "blob", "none"], p=[0.55, 0.3, 0.15])
        d["table"] = bool(rng.random() < 0.25)
    elif condition == "texture":
        s["grain"] = rng.uniform(0.03, 0.06)
        d.update(crease=bool(rng.random() < 0.4), stain=bool(rng.random() < 0.3),
                 show_through=bool(rng.random() < 0.4), table=bool(rng.random() < 0.15))
    elif condition == "ruled_lines":
        d["rule"] = rng.choice(["notebook", "through", "grid", "underline"])
        s["angle"] = 0.0
        s["rgb"] = rng.random() < 0.6
    elif condition == "boxes":
        d["box"] = rng.choice(["frame", "cells", "comb", "circled"])
        s["angle"], s["word_gap_p"] = 0.0, 0.0
    elif condition == "colour_ink":
        d["ink"] = rng.choice(["blue", "red", "black", "light-blue"], p=[0.4, 0.25, 0.2, 0.15])
        s["ink_rgb"] = np.clip(np.array({"blue": (0.12, 0.2, 0.6), "red": (0.75, 0.1, 0.12), "black": (0.1, 0.1, 0.12),
                                         "light-blue": (0.3, 0.45, 0.85)}[d["ink"]]) + rng.uniform(-0.05, 0.05, 3), 0, 1)
        tint = [(0.96, 0.94, 0.86), (0.95, 0.95, 0.95), (0.92, 0.94, 0.97), (0.97, 0.93, 0.8)][rng.integers(4)]
        s["paper_rgb"] = np.array(tint) * rng.uniform(0.88, 1.02) * rng.uniform(0.96, 1.04, 3)
        s["darkness"], s["rgb"] = rng.uniform(0.85, 1.0), True
    elif condition == "jpeg":
        d["quality"] = int(rng.integers(8, 36))
        s["rgb"] = rng.random() < 0.5
    elif condition == "light_on_dark":
        d["board"] = rng.choice(["green", "black", "slate"])
        s["rgb"] = rng.random() < 0.6
        s["stroke"] = rng.uniform(0.07, 0.14)
    elif condition == "separators":
        d["pattern"] = rng.choice(["decimal", "thousands", "dash_after", "dash_between", "dot_after"])
        s["word_gap_p"] = 0.0
        s["lines"] = [{"decimal": rng.integers(2, 7), "thousands": rng.integers(4, 10), "dash_after": rng.integers(1, 5),
                       "dash_between": rng.integers(2, 9), "dot_after": rng.integers(1, 4)}[d["pattern"]]]
    elif condition == "multiline":
        s["lines"] = list(rng.integers(1, 7, size=rng.integers(2, 4)))
        s["word_gap_p"] = 0.25
        d["align"] = rng.choice(["left", "right", "ragged"])
    return s


def plan_lines(condition, s, test_labels, rng):
    """What each line says: a list of items ("digit", label, test index) / ("sep", char) / ("gap", heights)."""
    lines = []
    for n in s["lines"]:
        indexes = rng.integers(len(test_labels), size=n)
        items = [("digit", int(test_labels[i]), int(i)) for i in indexes]
        if condition == "separators":
            pattern = s["details"]["pattern"]
            if pattern == "decimal":  # 12.5, 3.75
                items.insert(int(rng.integers(max(1, n - 2), n)), ("sep", "."))
            elif pattern == "thousands":  # 1,000 or 1.000 (European)
                mark = "," if rng.random() < 0.75 else "."
                for cut in range(n - 3, 0, -3):
                    items.insert(cut, ("sep", mark))
            elif pattern == "dash_after":  # 45-
                items.append(("sep", "-"))
            elif pattern == "dash_between":  # 12-34
                items.insert(int(rng.integers(1, n)), ("sep", "-"))
            else:  # 7.
                items.append(("sep", "."))
        elif n >= 3 and rng.random() < s["word_gap_p"]:
            for cut in sorted(rng.choice(np.arange(1, n), size=1 + (n >= 6 and rng.random() < 0.3), replace=False))[::-1]:
                items.insert(int(cut), ("gap", rng.uniform(*WORD_GAP)))
        lines.append(items)
    return lines


# --- layout: glyphs placed in the writer's frame, then turned with the page ------------
@dataclass
class Glyph:
    ink: np.ndarray  # (h, w) float32 in [0, 1], already warped
    x: int  # top-left corner
    y: int
    label: int = None  # the digit, or None for a separator
    index: int = None  # its MNIST test index
    src: np.ndarray = None  # the unwarped ink, to warp again with the page's rotation
    matrix: np.ndarray = None

    @property
    def box(self):
        bx, by, bw, bh = ink_box(self.ink)
        return int(self.x + bx), int(self.y + by), bw, bh


def _room(prev, glyph):
    """How far `glyph`, to the right of `prev`, can move left before their ink meets, in px (None: no shared rows)."""
    a, b = prev.ink > INK_THRESHOLD, glyph.ink > INK_THRESHOLD
    best = None
    for row in range(max(prev.y, glyph.y), min(prev.y + a.shape[0], glyph.y + b.shape[0])):
        ra, rb = np.flatnonzero(a[row - prev.y]), np.flatnonzero(b[row - glyph.y])
        if ra.size and rb.size:
            gap = (glyph.x + rb[0]) - (prev.x + ra[-1]) - 1
            best = gap if best is None else min(best, gap)
    return best


def _touch(glyphs, glyph, overlap):
    """Slide `glyph` left until its ink meets that of the digits before it, then on by `overlap` px,
    but never past the middle of the previous digit (a "1" would vanish under its neighbour)."""
    rooms = [r for r in (_room(g, glyph) for g in glyphs if g.label is not None) if r is not None]
    if not rooms:
        return
    prev = glyphs[-1].box
    limit = glyph.box[0] - (prev[0] + prev[2] // 2)
    glyph.x -= max(0, min(min(rooms) + overlap, limit))


def layout_line(items, s, baseline, test_images, rng, cells=None):
    """Place the items of one line left to right, the digits standing on `baseline`; returns the glyphs.

    `cells`, for boxed forms, gives each digit's centre x instead of the running spacing.
    """
    h = s["height"]
    glyphs, cursor, n_digits = [], 0.0, 0
    for k, item in enumerate(items):
        if item[0] == "gap":
            cursor += item[1] * h
            continue
        stroke_px = max(1.3, s["stroke"] * h * rng.uniform(0.9, 1.1))
        if item[0] == "digit":
            size = h * rng.uniform(1 - s["size_jitter"], 1 + s["size_jitter"])
            matrix = shear_rotate(s["slant"] + rng.normal(0, s["slant_jitter"]), rng.normal(0, s["tilt_jitter"]))
            src = digit_ink(test_images[item[2]], size, stroke_px)
            ink = warp(src, matrix)
            bx, by, bw, bh = ink_box(ink)
            bottom = by + bh + rng.normal(0, s["baseline_jitter"]) * h
        else:  # separators are not slanted: a dot looks the same, a dash nearly so
            matrix = np.eye(2)
            src, bottom = separator_ink(item[1], h, stroke_px, rng)
            ink = src
            bx, by, bw, bh = ink_box(ink)
        wave = s["wave"] * h * np.sin(cursor / (3 * h) + s["wave_phase"])
        y = baseline + wave - bottom
        if cells is not None and item[0] == "digit":
            x = cells[n_digits] - bx - bw / 2
        else:
            near_sep = item[0] == "sep" or (k > 0 and items[k - 1][0] == "sep")
            gap = rng.uniform(*SEPARATOR_GAP) * h if near_sep else rng.uniform(*s["gap"]) * h
            x = cursor + (gap if glyphs else 0.0) - bx
        label, index = (item[1], item[2]) if item[0] == "digit" else (None, None)
        glyph = Glyph(ink, round(x), round(y), label, index, src, matrix)
        if s["touch"] and label is not None and glyphs and glyphs[-1].label is not None and rng.random() < 0.75:
            overlap = rng.uniform(0, 0.03) * h if s["touch"] == "touch" else rng.uniform(0.03, 0.1) * h
            _touch(glyphs, glyph, max(1, round(overlap)))
        glyphs.append(glyph)
        n_digits += label is not None
        cursor = max(cursor, glyph.x + bx + bw)
    return glyphs


def _fit_height(s, lines):
    """Shrink the digit height if the longest line would be wider than MAX_WIDTH px."""
    def units(items):  # a line's width in digit heights, roughly
        total = 0.0
        for item in items:
            if item[0] == "digit":
                total += s.get("cell", 0.75 + abs(np.tan(np.radians(s["slant"]))) + np.mean(s["gap"]))
            else:
                total += item[1] if item[0] == "gap" else 0.45
        return total + s.get("cell", 0) * s.get("empty_cells", 0)
    widest = max(units(items) for items in lines)
    s["height"] = min(s["height"], MAX_WIDTH / widest)


def _turn(glyphs, angle):
    """Turn the page by `angle` degrees: each glyph turns about its own centre and its centre about the block's."""
    if abs(angle) < 0.05:
        return
    boxes = np.array([g.box for g in glyphs], dtype=float)
    pivot = np.array([(boxes[:, 0].min() + (boxes[:, 0] + boxes[:, 2]).max()) / 2,
                      (boxes[:, 1].min() + (boxes[:, 1] + boxes[:, 3]).max()) / 2])
    rotate = shear_rotate(0.0, angle)
    for g in glyphs:
        centre = np.array([g.x + (g.ink.shape[1] - 1) / 2, g.y + (g.ink.shape[0] - 1) / 2])
        g.matrix = rotate @ g.matrix
        g.ink = warp(g.src, g.matrix)
        cx, cy = rotate @ (centre - pivot) + pivot
        g.x, g.y = round(cx - (g.ink.shape[1] - 1) / 2), round(cy - (g.ink.shape[0] - 1) / 2)


def _extent(glyphs):
    boxes = np.array([g.box for g in glyphs])
    return boxes[:, 0].min(), boxes[:, 1].min(), (boxes[:, 0] + boxes[:, 2]).max(), (boxes[:, 1] + boxes[:, 3]).max()


def _pen_path(draw, points, width):
    draw.line([tuple(p) for p in points], fill=255, width=max(1, round(width)), joint="curve")


def _forms(s, glyphs, baselines, rng):
    """Printed rules and boxes, and pen underlines and circles, as shapes in block coordinates.

    Returns (printed, pen, extent): lists of ("line", points, width) / ("rect", x0, y0, x1, y1, width),
    and the box (x0, y0, x1, y1) they need on the page.
    """
    d, h = s["details"], s["height"]
    x0, y0, x1, y1 = _extent(glyphs)
    printed, pen = [], []
    rule, box = d.get("rule"), d.get("box")
    stroke = max(1.3, s["stroke"] * h)
    if box == "frame":
        pad = rng.uniform(0.02, 0.08) * h if rng.random() < 0.3 else rng.uniform(0.12, 0.5) * h
        width = int(rng.integers(1, 4))
        printed.append(("rect", x0 - pad, y0 - pad, x1 + pad, y1 + pad, width))
    elif box in ("cells", "comb"):
        cw, ch, top = s["cell"] * h, s["cell_height"] * h, baselines[0] + s["cell_below"] * h - s["cell_height"] * h
        n = s["n_cells"]
        width = int(rng.integers(1, 3))
        bottom = top + ch
        if box == "cells":
            printed.extend(("rect", i * cw, top, (i + 1) * cw, bottom, width) for i in range(n))
        else:
            printed.append(("line", [(0, bottom), (n * cw, bottom)], width))
            tick = rng.uniform(0.25, 0.45) * ch
            printed.extend(("line", [(i * cw, bottom), (i * cw, bottom - tick)], width) for i in range(n + 1))
        x0, y0, x1, y1 = min(x0, 0), min(y0, top), max(x1, n * cw), max(y1, bottom)
    elif box == "circled":  # a hand-drawn loop around the number, not quite closed
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        rx, ry = (x1 - x0) / 2 + rng.uniform(0.25, 0.6) * h, (y1 - y0) / 2 + rng.uniform(0.2, 0.45) * h
        start = rng.uniform(0, 2 * np.pi)
        t = start + np.linspace(0, 2 * np.pi * rng.uniform(0.92, 1.08), 120)
        wobble = 1 + 0.04 * np.sin(3 * t + rng.uniform(0, 6)) + np.linspace(0, rng.uniform(-0.08, 0.08), t.size)
        pen.append(("line", np.stack([cx + rx * wobble * np.cos(t), cy + ry * wobble * np.sin(t)], 1), stroke))
        x0, y0, x1, y1 = cx - 1.15 * rx, cy - 1.15 * ry, cx + 1.15 * rx, cy + 1.15 * ry
    if rule == "underline":
        y = baselines[0] + rng.uniform(0.05, 0.25) * h
        xs = np.linspace(x0 - rng.uniform(0, 0.3) * h, x1 + rng.uniform(0, 0.4) * h, 30)
        ys = y + np.linspace(0, rng.uniform(-0.1, 0.1) * h, xs.size) + 0.01 * h * np.sin(xs / h * 2)
        pen.append(("line", np.stack([xs, ys], 1), stroke * rng.uniform(0.8, 1.2)))
        y1 = max(y1, ys.max() + stroke)
    return printed, pen, (x0, y0, x1, y1)


def _rules(s, shape, baseline, left, rng):
    """Ruled lines across the whole page as ("line", points, width) shapes in page coordinates."""
    d, h = s["details"], s["height"]
    H, W = shape
    rule, shapes = d.get("rule"), []
    if rule in ("notebook", "through"):
        step = rng.uniform(1.15, 1.7) * h if rule == "notebook" else rng.uniform(0.45, 0.8) * h
        first = baseline + rng.uniform(-0.02, 0.12) * h if rule == "notebook" else rng.uniform(0, step)
        width = int(rng.integers(1, 3))
        shapes.extend(("line", [(0, y), (W, y)], width) for y in np.arange(first % step, H, step))
        if rule == "notebook" and rng.random() < 0.3 and left > 0.5 * h:
            x = left - rng.uniform(0.2, 0.45) * h
            shapes.append(("margin", [(x, 0), (x, H)], width))
    elif rule == "grid":
        step = rng.uniform(0.25, 0.5) * h
        for k, x in enumerate(np.arange(rng.uniform(0, step), W, step)):
            shapes.append(("line", [(x, 0), (x, H)], 1 + (k % 5 == 0)))
        for k, y in enumerate(np.arange(rng.uniform(0, step), H, step)):
            shapes.append(("line", [(0, y), (W, y)], 1 + (k % 5 == 0)))
    return shapes


def _draw(shapes, shape, supersample=1):
    """Render shapes onto a float layer of `shape` (H, W) in [0, 1], drawn `supersample` times larger and shrunk."""
    H, W = shape
    k = supersample
    image = Image.new("L", (W * k, H * k), 0)
    draw = ImageDraw.Draw(image)
    for kind, *geometry in shapes:
        if kind == "rect":
            x0, y0, x1, y1, width = geometry
            draw.rectangle((round(x0 * k), round(y0 * k), round(x1 * k), round(y1 * k)), outline=255, width=width * k)
        else:
            points, width = geometry
            _pen_path(draw, np.asarray(points, dtype=float) * k, width * k)
    if k > 1:
        image = image.resize((W, H), Image.Resampling.BOX)
    return np.asarray(image, dtype=np.float32) / 255


def _texture(s, ink, rng):
    """Multiplier (H, W) of the paper's brightness: grain and, for "texture", fibres, stains, creases, dirt, show-through."""
    d, h = s["details"], s["height"]
    shape = ink.shape
    H, W = shape
    tex = 1 + s["grain"] * smooth_noise(shape, 1.0, rng) + 0.5 * s["grain"] * smooth_noise(shape, h, rng)
    if s["condition"] == "texture":
        fibres = Image.new("L", (W, H), 0)
        draw = ImageDraw.Draw(fibres)
        for _ in range(int(rng.uniform(40, 160) * H * W / 3e5)):
            x, y, a = rng.uniform(0, W), rng.uniform(0, H), rng.uniform(0, np.pi)
            t = np.linspace(0, rng.uniform(4, 30), 6)
            bend = rng.normal(0, 0.05) * t ** 2
            points = np.stack([x + t * np.cos(a) - bend * np.sin(a), y + t * np.sin(a) + bend * np.cos(a)], 1)
            draw.line([tuple(p) for p in points], fill=int(rng.integers(60, 256)), width=1)
        fibres = ndi.gaussian_filter(np.asarray(fibres, dtype=np.float32) / 255, 0.6)
        tex -= rng.uniform(0.03, 0.1) * fibres * rng.choice([-0.5, 1.0])
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        if d["stain"]:  # the ring left by a cup
            cx, cy, r = rng.uniform(0, W), rng.uniform(0, H), rng.uniform(0.5, 2.5) * h
            dist = np.hypot(xx - cx, (yy - cy) * rng.uniform(0.8, 1.25)) / r
            tex *= 1 - rng.uniform(0.04, 0.1) * np.exp(-((dist - 1) / 0.06) ** 2) - 0.03 * (dist < 1)
        if d["crease"]:  # a fold: a dark valley beside a bright ridge
            a, c = rng.uniform(0, np.pi), (rng.uniform(0, W), rng.uniform(0, H))
            dist = (xx - c[0]) * np.sin(a) - (yy - c[1]) * np.cos(a)
            width = rng.uniform(1.5, 5)
            tex *= 1 - 0.08 * np.exp(-(dist / width) ** 2) + 0.05 * np.exp(-((dist - 2.5 * width) / (2 * width)) ** 2)
        if d["show_through"]:  # writing on the back of the sheet, mirrored and faint
            back = np.roll(np.fliplr(ink), int(rng.integers(-H // 2, H // 2 + 1)), axis=0)
            tex *= 1 - rng.uniform(0.06, 0.14) * ndi.gaussian_filter(back, 1.5)
        tex *= 1 - _specks(shape, int(rng.integers(5, 40)), h, rng)
    return tex


def _specks(shape, count, h, rng):
    """`count` small dark dots (dirt, toner) as a layer (H, W) in [0, 1]."""
    H, W = shape
    layer = Image.new("L", (W, H), 0)
    draw = ImageDraw.Draw(layer)
    for _ in range(count):
        x, y, r = rng.uniform(0, W), rng.uniform(0, H), rng.uniform(0.4, max(0.6, 0.04 * h))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=int(rng.integers(80, 220)))
    return np.asarray(layer, dtype=np.float32) / 255


def _lighting(s, shape, content, rng):
    """Multiplier (H, W) of the light falling on the page: a gradient, vignetting and, for "shadow", a shadow."""
    d, h = s["details"], s["height"]
    H, W = shape
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    a = rng.uniform(0, 2 * np.pi)
    ramp = xx * np.cos(a) + yy * np.sin(a)
    ramp = (ramp - ramp.min()) / (np.ptp(ramp) + 1e-6)
    light = 1 - s["light"] * ramp
    if s["condition"] == "shadow":
        light *= 1 - rng.uniform(0, 0.25) * (((xx - W / 2) / W) ** 2 + ((yy - H / 2) / H) ** 2) * 2
        soft = rng.uniform(1.5, 0.5 * h)
        x0, y0, x1, y1 = content
        if d["shadow"] == "edge":  # the edge of a phone or a hand, straight across the number
            px, py, b = rng.uniform(x0, x1), rng.uniform(y0, y1), rng.uniform(0, np.pi)
            dist = (xx - px) * np.sin(b) - (yy - py) * np.cos(b)
        elif d["shadow"] == "blob":
            px, py = rng.uniform(0, W), rng.uniform(0, H)
            rx, ry = rng.uniform(0.3, 0.8) * W, rng.uniform(0.3, 0.8) * H
            dist = (1 - np.hypot((xx - px) / rx, (yy - py) / ry)) * min(rx, ry)
        if d["shadow"] != "none":
            light *= 1 - rng.uniform(0.3, 0.6) / (1 + np.exp(-np.clip(dist / soft, -30, 30)))
    return light


def _table(s, img, content, rng):
    """For some "shadow" and "texture" images: the table shows past the paper's edge, in a margin."""
    if not s["details"].get("table"):
        return img
    H, W = img.shape[:2]
    x0, y0, x1, y1 = content
    side = rng.integers(4)
    room = [x0, y0, W - x1, H - y1][side]
    if room < 6:
        return img
    depth = rng.uniform(0.3, 0.8) * room
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    along = [yy / H, xx / W, yy / H, xx / W][side] - 0.5
    inward = [xx, yy, W - 1 - xx, H - 1 - yy][side]
    edge = depth + rng.uniform(-0.3, 0.3) * depth * along  # a slightly crooked edge
    table = np.clip(edge - inward + 0.5, 0, 1)[..., None]
    colour = rng.uniform(0.1, 0.45) * np.array([1.0, rng.uniform(0.8, 1), rng.uniform(0.6, 1)])
    return img * (1 - table) + colour * table


PRINT_COLOURS = {"black": (0.15, 0.15, 0.17), "grey": (0.45, 0.45, 0.47), "blue": (0.35, 0.45, 0.75),
                 "dropout-red": (0.92, 0.5, 0.5)}
RULE_COLOURS = {"notebook": (0.55, 0.7, 0.92), "through": (0.5, 0.62, 0.85), "grid": (0.62, 0.82, 0.78)}
BOARDS = {"green": (0.14, 0.24, 0.18), "black": (0.09, 0.09, 0.1), "slate": (0.17, 0.19, 0.22)}
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as Pillow's convert("L")


def _moved(shapes, dx, dy):
    out = []
    for kind, *geometry in shapes:
        if kind == "rect":
            x0, y0, x1, y1, width = geometry
            out.append((kind, x0 + dx, y0 + dy, x1 + dx, y1 + dy, width))
        else:
            points, width = geometry
            out.append((kind, np.asarray(points, dtype=float) + (dx, dy), width))
    return out


def _blur(img, s, rng):
    """Camera blur: a slight gaussian always; for "blur_noise" a strong gaussian, motion blur, or low resolution."""
    kind, h = s["details"].get("blur", "mild"), s["height"]
    sigma = (s["blur"] * h if kind == "gaussian" else s["blur"],) * 2 + (0,) * (img.ndim - 2)
    img = ndi.gaussian_filter(img, sigma)
    if kind == "motion":  # the mean of copies shifted along a line
        length, a = rng.uniform(0.08, 0.2) * h, rng.uniform(0, np.pi)
        steps = np.linspace(-length / 2, length / 2, int(length) + 2)
        img = np.mean([ndi.shift(img, (t * np.sin(a), t * np.cos(a)) + (0,) * (img.ndim - 2), order=1, mode="nearest")
                       for t in steps], axis=0)
    elif kind == "low_res":  # shrink by 2-3.5 times and blow up again
        H, W = img.shape[:2]
        f = rng.uniform(2, 3.5)
        small = (max(1, round(W / f)), max(1, round(H / f)))
        planes = img[..., None] if img.ndim == 2 else img
        planes = [np.asarray(Image.fromarray(np.ascontiguousarray(planes[..., c])).resize(small, Image.Resampling.BOX)
                             .resize((W, H), Image.Resampling.BICUBIC)) for c in range(planes.shape[-1])]
        img = np.stack(planes, -1).reshape(img.shape)
    return img


def make_image(condition, rng, test_images, test_labels):
    """Draw one number under `condition`, using only the digits `test_images` (N, 28, 28) with labels (N,).

    Returns (image, truth): uint8 (H, W) or (H, W, 3), and the truth dict without "file" and "seed".
    """
    s = draw_style(condition, rng)
    s["condition"], d = condition, s["details"]
    lines = plan_lines(condition, s, test_labels, rng)
    cells = None
    if d.get("box") in ("cells", "comb"):
        s.update(cell=rng.uniform(1.05, 1.45), cell_height=rng.uniform(1.25, 1.6), cell_below=rng.uniform(0.08, 0.25),
                 empty_cells=int(rng.integers(0, 3)))
    _fit_height(s, lines)
    h = s["height"]
    if "cell" in s:
        n = len(lines[0])
        s["n_cells"] = n + s["empty_cells"]
        cells = (np.arange(n) + 0.5 + rng.uniform(-0.08, 0.08, n)) * s["cell"] * h

    # 1. write each line in the writer's frame, then turn the page
    step = rng.uniform(1.4, 2.1) * h
    glyph_lines = [layout_line(items, s, k * step, test_images, rng, cells) for k, items in enumerate(lines)]
    if len(glyph_lines) > 1:  # a column of numbers: left-aligned, right-aligned or ragged
        edges = [_extent(line) for line in glyph_lines]
        for line, (x0, _, x1, _) in zip(glyph_lines, edges):
            target = {"left": -x0, "right": max(e[2] for e in edges) - x1, "ragged": 0}[d["align"]]
            dx = round(target + rng.normal(0, 0.15 if d["align"] != "ragged" else 0.6) * h)
            for g in line:
                g.x += dx
    glyphs = [g for line in glyph_lines for g in line]
    _turn(glyphs, s["angle"])
    printed, pen, (x0, y0, x1, y1) = _forms(s, glyphs, [k * step for k in range(len(lines))], rng)

    # 2. the page: margins as in a phone or scanner crop
    left, right = rng.uniform(0.2, 1.2, 2) * h
    top, bottom = rng.uniform(0.15, 0.8, 2) * h
    if d.get("rule") == "notebook":
        left = max(left, rng.uniform(0.6, 1.2) * h)  # room for a margin line
    dx, dy = round(left - x0), round(top - y0)
    W, H = int(np.ceil(x1 + dx + right)), int(np.ceil(y1 + dy + bottom))
    ink = np.zeros((H, W), np.float32)
    boxes, truth_lines, indexes = [], [], []
    for g in glyphs:
        g.x, g.y = g.x + dx, g.y + dy
        gh, gw = g.ink.shape
        ys, xs = slice(max(0, g.y), min(H, g.y + gh)), slice(max(0, g.x), min(W, g.x + gw))
        patch = g.ink[ys.start - g.y:ys.stop - g.y, xs.start - g.x:xs.stop - g.x]
        ink[ys, xs] = np.maximum(ink[ys, xs], patch)
        if g.label is not None:
            bx, by, bw, bh = g.box
            bx0, by0 = max(0, bx), max(0, by)
            boxes.append([bx0, by0, min(W, bx + bw) - bx0, min(H, by + bh) - by0])
            indexes.append(g.index)
    for items in lines:
        truth_lines.append("".join(str(item[1]) if item[0] == "digit" else " " if item[0] == "gap" else ""
                                   for item in items))
    content = (left, top, W - right, H - bottom)
    ink = np.maximum(ink, _draw(_moved(pen, dx, dy), (H, W), supersample=2))
    rules = _rules(s, (H, W), dy, left, rng)

    # 3. paper, print, ink, light: out = paper * (1 - ink * (1 - ink colour)), then blur and noise
    amount = ink * s["darkness"] * (1 - s["pressure"] * (0.5 + 0.5 * np.tanh(smooth_noise((H, W), h / 2, rng))))
    tex = _texture(s, ink, rng)
    if condition == "light_on_dark":
        board = np.array(BOARDS[d["board"]]) * rng.uniform(0.75, 1.3)
        dust = np.clip(smooth_noise((H, W), 2 * h, rng), 0, None) * rng.uniform(0.03, 0.1)
        streaks = np.clip(smooth_noise((H, max(2, W // 12)), 4, rng), 0, None)
        dust += rng.uniform(0.0, 0.08) * np.asarray(Image.fromarray(streaks).resize((W, H), Image.Resampling.BILINEAR))
        chalk = rng.uniform(0.82, 0.95) * np.array([1.0, 1.0, rng.uniform(0.92, 1.0)])
        img = board * tex[..., None] + dust[..., None] * (chalk - board)
        grain = np.clip(0.75 + 0.4 * ndi.gaussian_filter(rng.standard_normal((H, W)).astype(np.float32), 0.7) * 2,
                        0.15, 1)
        img += (amount * grain)[..., None] * (chalk - img)
    else:
        img = s["paper_rgb"] * tex[..., None]
        if printed:
            colour = np.array(PRINT_COLOURS[rng.choice(list(PRINT_COLOURS), p=[0.45, 0.25, 0.15, 0.15])])
            layer = _draw(_moved(printed, dx, dy), (H, W))
            img *= 1 - layer[..., None] * (1 - colour)
        if rules:
            strength = rng.uniform(0.5, 1.0)
            lines_layer = _draw([r for r in rules if r[0] != "margin"], (H, W)) * strength
            img *= 1 - lines_layer[..., None] * (1 - np.array(RULE_COLOURS.get(d["rule"], (0.5, 0.6, 0.85))))
            margin = [("line",) + tuple(r[1:]) for r in rules if r[0] == "margin"]
            if margin:
                img *= 1 - _draw(margin, (H, W))[..., None] * strength * (1 - np.array([0.92, 0.45, 0.45]))
        img *= 1 - amount[..., None] * (1 - s["ink_rgb"])
    img = _table(s, img, content, rng)
    img *= _lighting(s, (H, W), content, rng)[..., None]
    if not s["rgb"]:
        img = img @ LUMA
    img = _blur(img.astype(np.float32), s, rng)
    img += s["noise"] * rng.standard_normal(img.shape).astype(np.float32)
    if d.get("specks"):  # salt and pepper
        hits = rng.random(img.shape[:2]) < rng.uniform(0.0005, 0.003)
        img[hits] = rng.integers(0, 2, size=int(hits.sum())).reshape((-1,) + (1,) * (img.ndim - 2))
    image = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
    truth = {"text": "\n".join(truth_lines), "condition": condition, "digits": len(boxes), "boxes": boxes,
             "lines": len(truth_lines), "mnist_test_index": indexes,
             "details": {"height": round(h, 1), **{k: _plain(v) for k, v in d.items()}}}
    return image, truth


def _plain(value):
    """NumPy scalars -> Python ones, for JSON."""
    return value.item() if isinstance(value, np.generic) else value


def generate(out_dir, count, seed, conditions, test_images, test_labels):
    """Write `count` images and truth.jsonl into `out_dir`, drawing only from `test_images` / `test_labels`.

    Image i has condition conditions[i % len(conditions)] and its own generator, seeded by the
    i-th number drawn from np.random.default_rng(seed): the first k images of a longer set are the
    same as those of a shorter one. Returns the truth records.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seeds = np.random.default_rng(seed).integers(2 ** 31, size=count)
    digits = max(4, len(str(count - 1)))
    records = []
    for i in range(count):
        condition = conditions[i % len(conditions)]
        image, truth = make_image(condition, np.random.default_rng(int(seeds[i])), test_images, test_labels)
        name = f"{i:0{digits}d}." + ("jpg" if condition == "jpeg" else "png")
        if condition == "jpeg":
            Image.fromarray(image).save(out / name, quality=truth["details"]["quality"])
        else:
            Image.fromarray(image).save(out / name)
        records.append({"file": name, **{k: truth[k] for k in ("text", "condition", "digits", "boxes")},
                        "seed": int(seeds[i]), **{k: truth[k] for k in ("lines", "mnist_test_index", "details")}})
    with open(out / "truth.jsonl", "w") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the images and truth.jsonl")
    parser.add_argument("--count", type=int, default=1000, help="number of images (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--conditions", help="comma-separated, default all: " + ",".join(CONDITIONS))
    parser.add_argument("--data-dir", help="MNIST folder (default $TINYCNN_DATA)")
    args = parser.parse_args(argv)
    conditions = list(CONDITIONS) if not args.conditions else [c.strip() for c in args.conditions.split(",") if c.strip()]
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown or not conditions:
        parser.error(f"--conditions: unknown condition {unknown[0]!r}; choose from {', '.join(CONDITIONS)}"
                     if unknown else "--conditions: name at least one condition")
    if args.count < 1:
        parser.error(f"--count must be at least 1, got {args.count}")
    from tinycnn.datasets.mnist import MNISTError
    try:
        x_test, y_test = load_test_digits(args.data_dir)
    except MNISTError as e:
        sys.exit(f"make_digit_strings: {e}")
    start = time.perf_counter()
    records = generate(args.out, args.count, args.seed, conditions, x_test, y_test)
    seconds = time.perf_counter() - start
    print(f"Wrote {len(records)} images ({sum(r['digits'] for r in records)} digits) and truth.jsonl to {args.out} "
          f"in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
