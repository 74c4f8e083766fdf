"""Render seeded synthetic answer-sheet covers, as a phone would photograph them, with their truth.

    python scripts/make_sheets.py --out sheets --count 20 --seed 0
    python scripts/make_sheets.py --out plain --count 5 --layout plain     # three lines on plain paper

Each sheet is the printed form of examples/form.json (title, "Roll No.", "Subject Code" and
"Marks" beside their boxes, drawn by tinycnn.marks.forms.draw_form) with a roll number,
subject code and marks written into the boxes in pen. The handwriting is MNIST *test*
digits only (never the training digits the models learnt from), each cropped, upscaled
smoothly to 40-70 px (on a 1200 px wide page) and given a pen's stroke by
`make_digit_strings.digit_ink` (never much thinner than the digit's own strokes: see
`pen_width`), as dark ink on light paper. Then the photo: paper grain,
uneven light, sometimes a shadow across the page, a slight rotation and perspective (the
phone was not held quite flat), a little blur and noise, and JPEG compression.

The folder gets NNNN.jpg, truth.jsonl (one JSON object per sheet) and form.json, the
template for the printed boxes (the plain layout needs none: use the default template):

    {"file": "0003.jpg", "roll": "204518", "subject": "307", "marks": "64", "seed": 1234,
     "mnist_test_index": {"roll": [...], "subject": [...], "marks": [...]},
     "photo": {"angle": -0.8, "shadow": true, "jpeg_quality": 83}}

Everything depends only on --seed: one np.random.Generator per sheet, seeded from it.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling script make_digit_strings.py
from make_digit_strings import digit_ink, load_test_digits, shear_rotate, stroke_width, warp

from tinycnn.marks.forms import draw_form, load_template

FORM = Path(__file__).resolve().parents[1] / "examples" / "form.json"
PAGE_WIDTH = 1200  # px; the page is 4:3, portrait
MIN_WIDTH = 600  # digits 20-35 px tall: below that MNIST's strokes break up when upscaled
DIGIT_HEIGHT = (40, 70)  # px on a PAGE_WIDTH page, scaled with --width
PLAIN_LINES = (0.22, 0.38, 0.54)  # where the three lines are written on a plain page, as fractions of its height
PRINT = np.array([0.12, 0.12, 0.14], np.float32)  # the printer's near-black
INSTRUCTIONS = ["Instructions to candidates:",
                "1. Write your roll number and subject code in the boxes above, one digit at a time.",
                "2. Do not write anything in the Marks box: it is for the examiner.",
                "3. Answer all questions. Start each answer on a new page."]


def rgb(values):
    return np.asarray(values, dtype=np.float32)


def field_text(field, rng):
    """A random value that keeps the field's rule: `digits` random digits, or a value in `range`
    (more often in the upper middle, as marks are), else 1-6 digits."""
    if field.range:
        low, high = field.range
        return str(int(np.clip(round(rng.normal(low + 0.62 * (high - low), 0.2 * (high - low))), low, high)))
    low, high = field.digits or (1, 6)
    return "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(low, high + 1))))


def pick_digits(text, test_labels, rng):
    """For each character of `text`, the index of a random MNIST test digit with that label."""
    return [int(rng.choice(np.flatnonzero(test_labels == int(ch)))) for ch in text]


def pen_digit(image):
    """An MNIST digit (28, 28) uint8 with its faint, anti-aliased strokes made solid: a pen leaves the
    same ink all along a stroke, and faint strokes would otherwise break into dots when upscaled."""
    return np.minimum(255, 2 * image.astype(np.int32)).astype(np.uint8)


def pen_width(image, height, pen):
    """The stroke to draw a digit `height` px tall with: the pen's `pen` px, but never much thinner
    than the digit's own strokes. (Drawn along the digit's skeleton alone, a thinner pen turned a 9
    whose loop is filled in into a 7; `digit_ink` now keeps such blots, but the sheets keep this
    rule so that their measurements stay comparable.)"""
    mask = image > 127
    own = stroke_width(mask) * height / max(1, np.count_nonzero(mask.any(axis=1)))
    return max(pen, 0.85 * own)


def write_number(ink, indexes, test_images, x, baseline, height, rng):
    """Write the digits `indexes` into the ink layer (H, W) from x, standing on `baseline`, like a pen would."""
    slant = np.clip(rng.normal(0, 6), -15, 15)
    pen = height * rng.uniform(0.07, 0.11)
    for index in indexes:
        size = height * rng.uniform(0.92, 1.08)
        matrix = shear_rotate(slant + rng.normal(0, 2), rng.normal(0, 2))
        digit = pen_digit(test_images[index])
        glyph = warp(digit_ink(digit, size, pen_width(digit, size, pen * rng.uniform(0.9, 1.1))), matrix)
        rows, cols = np.flatnonzero(glyph.max(axis=1) > 0.5), np.flatnonzero(glyph.max(axis=0) > 0.5)
        top = round(baseline + rng.normal(0, 0.04) * height) - rows[-1]
        left = round(x) - cols[0]
        h, w = glyph.shape
        np.maximum(ink[top:top + h, left:left + w], glyph, out=ink[top:top + h, left:left + w])
        x += (cols[-1] - cols[0]) + rng.uniform(0.12, 0.4) * height


def printed_layer(template, size, layout):
    """The form as printed, as ink amount (H, W) in [0, 1]: the template's boxes and labels, and instructions."""
    width, height = size
    if layout == "plain":
        return np.zeros((height, width), np.float32)
    page = draw_form(template, size)
    draw, font = ImageDraw.Draw(page), ImageFont.load_default(size=round(0.016 * height))
    for k, line in enumerate(INSTRUCTIONS):
        draw.text((0.08 * width, (0.72 + 0.03 * k) * height), line, fill=0, font=font)
    return 1 - np.asarray(page, dtype=np.float32) / 255


def handwriting(template, size, numbers, test_images, rng, layout):
    """The ink layer (H, W): each number written in its box (form) or on its line (plain)."""
    width, height = size
    ink = np.zeros((height, width), np.float32)
    scale = width / PAGE_WIDTH
    for k, (field, indexes) in enumerate(zip(template.fields, numbers)):
        digit_height = rng.uniform(*DIGIT_HEIGHT) * scale
        if layout == "form":
            x0, y0, _, y1 = np.multiply(field.region, [width, height, width, height])
            x = x0 + rng.uniform(0.2, 0.8) * digit_height
            baseline = (y0 + y1) / 2 + digit_height / 2 + rng.normal(0, 0.05) * (y1 - y0)
        else:
            x, baseline = rng.uniform(0.1, 0.3) * width, PLAIN_LINES[k] * height
        write_number(ink, indexes, test_images, x, baseline, digit_height, rng)
    return ink


def lighting(shape, scale, rng):
    """How much light falls on each pixel (H, W): a gentle gradient and, on half the sheets, a soft shadow."""
    height, width = shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (xx * np.cos(angle) + yy * np.sin(angle)) / np.hypot(width, height)
    light = 1 - np.float32(rng.uniform(0, 0.15)) * (ramp - ramp.min())
    shadow = bool(rng.random() < 0.5)
    if shadow:  # the edge of a hand or a phone: a straight, soft edge somewhere across the page
        px, py, b = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0, np.pi)
        distance = (xx - px) * np.sin(b) - (yy - py) * np.cos(b)
        softness = np.float32(rng.uniform(10, 80) * scale)  # px from light to shade
        light *= 1 - np.float32(rng.uniform(0.2, 0.45)) / (1 + np.exp(-np.clip(distance / softness, -30, 30)))
    return light, shadow


def perspective_coefficients(corners_out, corners_in):
    """The 8 numbers PIL's PERSPECTIVE transform wants: they map output pixels (x, y) to input pixels."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(corners_out, corners_in):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        rhs += [u, v]
    return np.linalg.solve(np.array(rows, float), np.array(rhs, float))


def photograph(page, rng):
    """Turn the flat page (H, W, 3) in [0, 1] into a photo of it: tilt, perspective, blur, noise. uint8 RGB."""
    height, width = page.shape[:2]
    angle = rng.uniform(-1.5, 1.5)
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], float)
    a = np.radians(angle)
    turned = (corners - [width / 2, height / 2]) @ np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    seen = turned + [width / 2, height / 2] + rng.uniform(-0.015, 0.015, (4, 2)) * [width, height]
    table = tuple(int(v) for v in rng.uniform(40, 110) * np.array([1.0, 0.9, 0.75]))
    image = Image.fromarray(np.round(page * 255).astype(np.uint8)).transform(
        (width, height), Image.Transform.PERSPECTIVE, perspective_coefficients(seen, corners),
        resample=Image.Resampling.BILINEAR, fillcolor=table)
    photo = ndi.gaussian_filter(np.asarray(image, np.float32) / 255, (rng.uniform(0.4, 1.0),) * 2 + (0,))
    photo += np.float32(rng.uniform(0.005, 0.02)) * rng.standard_normal(photo.shape, dtype=np.float32)
    return np.round(np.clip(photo, 0, 1) * 255).astype(np.uint8), round(angle, 2)


def make_sheet(template, rng, test_images, test_labels, width=PAGE_WIDTH, layout="form"):
    """One sheet: (uint8 RGB image, truth dict without "file" and "seed")."""
    size = (width, round(width * 4 / 3))
    texts = {f.name: field_text(f, rng) for f in template.fields}
    numbers = [pick_digits(texts[f.name], test_labels, rng) for f in template.fields]
    # colours are RGB in [0, 1]; everything is float32, which halves the time of float64
    paper = rgb(rng.uniform(0.82, 0.97) * np.array([1.0, rng.uniform(0.97, 1.0), rng.uniform(0.9, 1.0)]))
    pen = rgb([rng.uniform(0.05, 0.15), rng.uniform(0.05, 0.2), rng.uniform(0.1, 0.45)])  # black to blue
    grain = 1 + rng.uniform(0.005, 0.02) * rng.standard_normal(size[::-1], dtype=np.float32)
    page = paper * grain[..., None]
    page *= 1 - printed_layer(template, size, layout)[..., None] * (1 - PRINT)
    page *= 1 - handwriting(template, size, numbers, test_images, rng, layout)[..., None] * (1 - pen)
    light, shadow = lighting(page.shape[:2], width / PAGE_WIDTH, rng)
    photo, angle = photograph(page * light[..., None], rng)
    truth = {**texts, "mnist_test_index": {f.name: idx for f, idx in zip(template.fields, numbers)},
             "photo": {"angle": angle, "shadow": shadow, "jpeg_quality": int(rng.integers(60, 93))}}
    return photo, truth


def generate(out_dir, count, seed, test_images, test_labels, width=PAGE_WIDTH, layout="form", template_path=FORM):
    """Write `count` sheets, truth.jsonl and (for the form layout) form.json into `out_dir`; returns the truth records.

    Sheet i has its own generator, seeded by the i-th number drawn from default_rng(seed),
    so the first k sheets of a longer set are those of a shorter one.
    """
    template = load_template(template_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seeds = np.random.default_rng(seed).integers(2 ** 31, size=count)
    records = []
    for i, sheet_seed in enumerate(seeds):
        image, truth = make_sheet(template, np.random.default_rng(int(sheet_seed)), test_images, test_labels,
                                  width, layout)
        name = f"{i:04d}.jpg"
        Image.fromarray(image).save(out / name, quality=truth["photo"]["jpeg_quality"])
        records.append({"file": name, **truth, "seed": int(sheet_seed)})
    with open(out / "truth.jsonl", "w") as f:
        f.writelines(json.dumps(record) + "\n" for record in records)
    if layout == "form":
        (out / "form.json").write_text(template.to_json())
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the sheets, truth.jsonl and form.json")
    parser.add_argument("--count", type=int, default=20, help="number of sheets (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, default=PAGE_WIDTH,
                        help=f"page width in px (default {PAGE_WIDTH}); the height is 4/3 of it, digits scale with it")
    parser.add_argument("--layout", choices=("form", "plain"), default="form",
                        help="form: the printed form of --template; plain: three lines on plain paper")
    parser.add_argument("--template", default=str(FORM), help=f"the form to print (default {FORM.name} in examples/)")
    parser.add_argument("--data-dir", help="MNIST folder (default $TINYCNN_DATA)")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error(f"--count must be at least 1, got {args.count}")
    if args.width < MIN_WIDTH:
        parser.error(f"--width must be at least {MIN_WIDTH} px (smaller digits fall apart), got {args.width}")
    from tinycnn.datasets.mnist import MNISTError
    from tinycnn.marks.forms import TemplateError
    try:
        x_test, y_test = load_test_digits(args.data_dir)
        start = time.perf_counter()
        records = generate(args.out, args.count, args.seed, x_test, y_test, args.width, args.layout, args.template)
    except (MNISTError, TemplateError) as error:
        sys.exit(f"make_sheets: {error}")
    print(f"Wrote {len(records)} sheets, truth.jsonl{' and form.json' if args.layout == 'form' else ''} "
          f"to {args.out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
