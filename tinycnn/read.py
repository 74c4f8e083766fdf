"""Read handwritten numbers from images: the paper's pipeline, end to end.

    image -> imageio.load_grayscale -> segment.segment -> normalize.to_mnist -> model -> text

    $ python -m tinycnn.read examples/6186765629.png
    6186765629
    $ cat examples/6186765629.png | python -m tinycnn.read -     # "-": standard input
    6186765629

`read_digits(image_or_path)` returns a `Reading` with the text, one string per
line, and every digit's box, probability and runner-up labels. Blobs of touching
digits are read twice: cut into digits by the split search, and whole by seven row
readers (tinycnn.rows), whose reading wins when three (ROW_VOTES; four, JOIN_VOTES,
for fewer digits) give it and it is much the likelier (`read_again`). A digit
whose probability is below `min_confidence`, that was cut from touching digits
where another cut read nearly as well (`CUT_DOUBT`), or whose blob a row reader
read otherwise, is *uncertain*, and so is a reading that left out a stroke as
"/" (a steep 1 looks the same): one wrong digit is a wrong mark, so the command
says so (on stderr, or in --json) and `--strict` turns it into exit code 3.

The default model is the reading model shipped in tinycnn/weights: four networks
trained on augmented digits with an 11th class, "not a digit" (seeds 0-3, the last
with twice the "not a digit" examples), their probabilities averaged. `--model` takes any model saved by tinycnn, such as
the paper-recipe weights paper_cnn.npz; given several times, their average.
"""

import argparse
import functools
import json
import math
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from . import ctc, imageio, normalize, rows, segment, threshold
from .model import Ensemble, ModelFileError, load_model, load_models
from .normalize import batch_to_mnist

# The reading model: four networks averaged (see Ensemble), seeds 0-2 of scripts/train_reader.py's recipe
# and seed 3 trained with twice the "not a digit" examples (--not-digit-fraction 0.16).
DEFAULT_MODEL = ("reader_cnn.npz", "reader_cnn_seed1.npz", "reader_cnn_seed2.npz", "reader_cnn_seed3.npz")
PAPER_MODEL = "paper_cnn.npz"
# Below this probability a digit is reported as uncertain: a compromise between letting wrong
# numbers through unflagged (lower) and sending right ones to review (higher); measure it on
# your own images with scripts/eval_reader.py --uncertain-report.
MIN_CONFIDENCE = 0.9
# A digit cut from touching digits is uncertain too when the split search's choice won by less
# than this (in log-score, see split.best_option): another number of pieces read nearly as well.
# Chosen on the development set: 3 of its 6 wrong numbers that no probability flagged are caught,
# for 9 of its 538 right ones flagged too (1.0: 1 for 7; 3.0: 3 for 12).
CUT_DOUBT = 2.0
CLOSE_CUT = "cut from touching digits where another cut read nearly as well"
# The row readers (tinycnn.rows; scripts/train_row_reader.py --seed 0 --epochs 8, for a 28x112 row and
# with --row-width 144) read every blob the split search weighed once more, whole, without cutting it.
# Where one reads the blob otherwise, the blob's digits are uncertain; where the classifier read the blob
# as two digits or more and a row reader's reading is likelier than the classifier's by over ROW_MARGIN
# nats per row reader (`reading_lead`: log-likelihoods summed over the row readers' CTC outputs), it
# replaces theirs. Chosen on the development sets with the first row reader: numbers right of 600 / of
# 150 and 200 touching images (--conditions touching --seed 2 / --seed 4), 544 / 76 / 82 without it,
# 545 / 92 / 111 at a margin of 1, 550 / 93 / 112 at 2, 549 / 89 / 108 at 4; at 2 and replacing the
# digits of two-digit blobs and up only, 554 / 93 / 111 (it reads a lone digit worse than the classifier:
# on the evaluation set it read "64" as "621" and "4" as "11"). With the 28x112 network alone (two 1x3
# convolutions more, see rows.py): 558 / 107 / 134 at 2; the 28x144 one alone 561 / 111 / 143, and 562 /
# 111 / 143 with the classifier's word on fewer digits; both, 561 / 114 / 141, and 562 / 114 / 141 (at 1
# nat a row reader 563 / 114 / 143, but the evaluation set 937 -> 935; at 3, 561 / 112 / 140). With those
# two trained four epochs further as well (--start-from each, --seed 2 --epochs 4 --learning-rate 3e-4):
# 563 / 116 / 143, but the marks "57" of a test sheet read 67, its wide 5 read 6 by one row reader alone;
# a reading at least ROW_VOTES of them give, 562 / 116 / 143 and the sheet read right.
# Two more read in output columns 2 px apart (rows.row_cnn(column_px=2)), where two narrow digits side by side
# (a "11") have room for the blank CTC needs between them. With all six: 562 / 119 / 146 -> 564 / 122 / 151
# at two votes, but the two new ones both read the test sheet's wide 5 as 8 (marks "57" stored as 87, and a
# roll number 023805 as 023808); at three votes 562 / 121 / 148 and the test's 20 sheets read as before.
# A seventh, the later of those two trained four epochs further again (stop 28): at three votes the same wide
# 5 read 8 by the three of them, and won. A reading of fewer digits than the classifier's says that pieces the
# split search cut apart are one digit, and a wide digit cut in two is what readers trained alike misread
# alike: such a reading needs JOIN_VOTES. With it, 562 / 121 / 148 -> 563 / 123 / 152 and every sheet read
# as before (at four votes for every reading, simulated: 562 / 121 / 146).
ROW_MODELS = ("row_reader.npz", "row_reader_wide.npz", "row_reader_further.npz", "row_reader_wide_further.npz",
              "row_reader_fine.npz", "row_reader_fine_further.npz", "row_reader_fine_further_again.npz")
ROW_MARGIN = 2.0
ROW_VOTES = 3  # row readers that must give a reading for it to replace the classifier's (all, if fewer)
JOIN_VOTES = 4  # row readers that must give a reading of fewer digits than the classifier's (it joins pieces)
# A reading of more digits than the classifier's, in a blob it read as two or more, adds a digit the split search
# did not see: most often a 1 swallowed by its neighbour. A row reader in columns 4 px apart has about one column
# for a narrow 1 beside a digit and finds it unlikely however plainly it is there (in one blob the reading "119",
# given by the three readers in columns 2 px apart, led the classifier's "19" by 2.0 to 3.9 nats under each of
# them and trailed by 2.8 to 11.7 under the four others), so such a reading is weighed by the readers in columns
# FINE_COLUMN_PX apart alone (its votes are still counted among all). Development sets: 563 / 123 / 152 ->
# 563 / 124 / 156, the 600 read image for image the same.
FINE_COLUMN_PX = 2
# A blob read as one digit is read again too when the classifier doubts it and it is wide enough for two
# (segment._line_digits): a 1 run into the digit beside it ("31" read 3) never reached the row readers,
# and 43 of the 103 wrong touching development numbers had lost a 1. Its one digit is replaced only by a
# reading of several digits that every row reader gives, likelier by over LONE_MARGIN nats a row reader:
# at 2 nats and two votes, three lone 4s and 7s of the development set became "41", "42" and "71".
# Numbers right of the 600 / 150 / 200 development images: 562 / 116 / 143 without; 559 / 119 / 146 at 2
# nats and two votes; 562 / 119 / 146 at 4 nats and every vote (at 6 nats and two votes: the same).
LONE_MARGIN = 4.0
ROW_DISAGREES = "a row reader, reading the touching digits whole, read them otherwise"
SLASH = "a stroke was read as '/' and left out; a 1 written steeply looks the same"
# The split search counts a reading model's "not a digit" share 4 more times: with it, 150 images of
# touching digits (make_digit_strings.py --conditions touching --seed 2) read 34.0% -> 40.7%, the
# evaluation set 90.2% -> 90.9%, the development set 88.3% -> 88.8% (8: 40.0%, 90.7%, 88.7%).
NOT_DIGIT_WEIGHT = 4.0
SLANT_TOLERANCE = 0.15  # a line leaning more than this (columns per row) away from MNIST's is also read upright
ALTERNATIVES = 3  # runner-up labels reported per digit
STDIN, STDIN_NAME = "-", "<stdin>"  # standard input on the command line (as for cat), and in messages and JSON
# A phone photo has millions of pixels, but the network sees each digit at 20 px.
# So an image of over LARGE_IMAGE pixels is first looked at shrunk to
# PREVIEW_SIDE px across, to measure its digits; if they are taller than
# WORK_DIGIT_HEIGHT px, the whole image is shrunk until they are that tall
# (never enlarged). 32 px is half as much again as MNIST's 20, enough for thin
# strokes and the gaps between digits; small digits on a big page keep every pixel.
LARGE_IMAGE = 1_000_000
PREVIEW_SIDE = 400
WORK_DIGIT_HEIGHT = 32


def is_close_cut(cut_margin):
    """True for a digit the split search cut with a lead under CUT_DOUBT (None: not weighed)."""
    return cut_margin is not None and cut_margin < CUT_DOUBT


@dataclass
class Digit:
    """One digit read: its label and probability, where it is, and what else it might be."""

    label: int
    prob: float
    box: tuple  # (x, y, w, h) in image pixels
    line: int
    alternatives: list = field(default_factory=list)  # [(label, prob), ...], most likely first
    gap_before: bool = False  # a word gap separates it from the digit before it
    cut_margin: float = None  # cut from touching digits: the split search's lead (segment.Segment)
    row_doubt: bool = False  # in a blob of touching digits a row reader read otherwise (ROW_MARGIN)

    @property
    def close_cut(self):
        """Cut from touching digits where another number of pieces read nearly as well (CUT_DOUBT)."""
        return is_close_cut(self.cut_margin)


@dataclass
class Reading:
    """What read_digits found in one image; `to_dict()` is the --json form."""

    file: str
    digits: list  # of Digit, in reading order
    min_confidence: float = MIN_CONFIDENCE
    # [(box, line)]: strokes beside the digits dropped as "/" (segment.Segmentation.slashes); a 1
    # written steeply looks the same, so a reading with one is uncertain
    slashes: list = field(default_factory=list)

    @property
    def lines(self):
        """One string per line of digits; a word gap is one space."""
        lines = []
        for digit in self.digits:
            if digit.line >= len(lines):
                lines.extend([""] * (digit.line + 1 - len(lines)))
            lines[digit.line] += (" " if digit.gap_before else "") + str(digit.label)
        return lines

    @property
    def text(self):
        return "\n".join(self.lines)

    def doubts(self, digit):
        """True when `digit` is uncertain: read below min_confidence, cut where another cut read nearly
        as well, or in a blob a row reader read otherwise."""
        return digit.prob < self.min_confidence or digit.close_cut or digit.row_doubt

    @property
    def uncertain_digits(self):
        return [digit for digit in self.digits if self.doubts(digit)]

    @property
    def uncertain(self):
        return bool(self.uncertain_digits or self.slashes)

    def to_dict(self):
        digits = [{**asdict(d), "box": list(d.box), "alternatives": [list(a) for a in d.alternatives]}
                  for d in self.digits]
        slashes = [{"box": list(box), "line": line} for box, line in self.slashes]
        return {"file": self.file, "text": self.text, "lines": self.lines, "digits": digits, "slashes": slashes,
                "uncertain": self.uncertain}


class ShippedRowReaders(Sequence):
    """The shipped row readers (ROW_MODELS), each loaded the first time it is asked for: most
    images need none, and a lone digit whose first reading is one digit needs only the first."""

    def __len__(self):
        return len(ROW_MODELS)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return shipped_model(ROW_MODELS[index])


@functools.lru_cache(maxsize=8)
def shipped_model(name=DEFAULT_MODEL):
    """A model shipped in tinycnn/weights, loaded once per process; a tuple of names is their Ensemble."""
    if isinstance(name, tuple):
        return Ensemble([shipped_model(one) for one in name]) if len(name) > 1 else shipped_model(name[0])
    with resources.as_file(resources.files("tinycnn") / "weights" / name) as path:
        return load_model(path)


def averaged_probabilities(model, masks):
    """Masks (list of (h, w) bool) -> (N, 10) digit probabilities, averaged over three views of each:
    as cut, with its strokes left at their own width, and grown by a pixel (which closes
    the small breaks of chalk and dry pens). One predict call for all three.

    Averaging views (test-time augmentation) evens out the network's quirks on any one of
    them: on the development set it read 0.3% more digits right than the single view.
    """
    grown = [ndi.binary_dilation(np.pad(mask, 1)) for mask in masks]
    views = np.concatenate([batch_to_mnist(masks), batch_to_mnist(masks, normalize_stroke=False),
                            batch_to_mnist(grown)])
    probs = model.predict(views)[:, :10]
    return probs.reshape(3, len(masks), 10).mean(axis=0)


def make_scorer(model):
    """score_fn for the segmenter's split search: for a list of piece masks, in one batch,
    how surely each is one digit, as a log-probability: log p(its best digit), plus for a
    reading model NOT_DIGIT_WEIGHT * log(1 - p("not a digit")). A wrong cut leaves pieces
    that look like no digit, which score low; two touching digits taken for one are
    often read as one digit fairly surely, but the "not a digit" output doubts them."""
    def score(masks):
        if not masks:
            return np.zeros(0)
        probs = model.predict(batch_to_mnist(masks))
        scores = np.log(np.maximum(probs[:, :10].max(axis=1), 1e-12))
        if probs.shape[1] > 10:
            scores += NOT_DIGIT_WEIGHT * np.log(np.maximum(1 - probs[:, 10], 1e-12))
        return scores
    return score


def upright_masks(found):
    """The digit masks of a Segmentation with each line's slant set to MNIST's, or None if no line
    leans more than SLANT_TOLERANCE away from it.

    A line's slant is the median `slant` of its digits (one 7 or 4 leans by its shape; a writer
    leans all of them). On 150 slanted images (make_digit_strings.py --conditions scale_slant
    --seed 4) averaging the classifier over both versions read 73.3% of the numbers against 71.3%."""
    masks = [s.mask for s in found.segments]
    slants = np.array([normalize.slant(mask) for mask in masks])
    lines = np.array([s.line for s in found.segments])
    changed = False
    for line in np.unique(lines):
        lean = float(np.median(slants[lines == line])) - normalize.MNIST_SLANT
        if abs(lean) > SLANT_TOLERANCE:
            for i in np.flatnonzero(lines == line):
                masks[i] = normalize.shear(masks[i], lean)
            changed = True
    return masks if changed else None


def read_digits(image, model=None, min_confidence=MIN_CONFIDENCE, method="auto", digits=None, row_readers=None):
    """Read the digits in `image` (a path, a binary file object, a PIL image or an array); returns a Reading.

    digits: how many digits each line should hold, N or (low, high), if known (a roll
    number's length): a line first found with fewer or more is split or joined
    further when the classifier finds a way to (see segment.segment).
    row_readers: the row readers that read blobs of touching digits again, whole (default:
    the shipped ones, ROW_MODELS; False: none, see `read_again`).
    Raises imageio.ImageError (a ValueError) naming the file for input that is not a readable image."""
    model = shipped_model() if model is None else model
    gray, factor, shape = load_at_working_scale(image, method)
    found = segment.segment(gray, method=method, score_fn=make_scorer(model), digits=digits)
    name = str(image) if isinstance(image, (str, Path)) else str(getattr(image, "filename", "")
                                                                   or getattr(image, "name", "") or "<image>")
    read = []
    if found.segments:
        masks = [s.mask for s in found.segments]
        probs = averaged_probabilities(model, masks)
        upright = upright_masks(found)
        if upright is not None:  # a slanted hand: the digits as written and set upright, averaged
            probs = (probs + averaged_probabilities(model, upright)) / 2
        for seg, p in zip(found.segments, probs):
            ranked = np.argsort(p)[::-1]
            read.append(Digit(
                label=int(ranked[0]), prob=round(float(p[ranked[0]]), 4), box=_scaled_box(seg.box, factor, shape),
                line=int(seg.line), gap_before=bool(seg.gap_before),
                alternatives=[(int(k), round(float(p[k]), 4)) for k in ranked[1:1 + ALTERNATIVES]],
                cut_margin=None if seg.cut_margin is None else round(float(seg.cut_margin), 3)))
    if found.weighed and row_readers is not False:
        row_readers = ShippedRowReaders() if row_readers is None else row_readers
        read = read_again(read, found.weighed, row_readers, model, factor, shape)
    slashes = [(_scaled_box(s.box, factor, shape), int(s.line)) for s in found.slashes]
    return Reading(file=name, digits=read, min_confidence=min_confidence, slashes=slashes)


def read_again(digits, weighed, row_readers, model, factor, shape):
    """The Digits of a reading with each blob of touching digits read again by the row readers.

    weighed: the blobs the split search weighed (segment.Segmentation.weighed), in the
    working image shrunk `factor` times from an image of `shape`. A blob's digits are
    those on its line whose box lies within its columns (a slanted 1 just before it, a
    blob of its own, reaches into them but is not its) and whose centre lies within its
    rows. Where a row reader reads the blob otherwise, they are marked row_doubt; where
    `likeliest_reading` finds a reading to put in their place by over ROW_MARGIN nats per row
    reader weighing it (LONE_MARGIN for a lone digit), it replaces them, its digits' boxes
    from its columns. A lone digit is read by the first row reader alone unless it reads
    several digits there (only several digits that every row reader gives can replace it).
    """
    digits = list(digits)
    for blob in weighed:
        bx, by, bw, bh = blob.box  # a working pixel of room each side: the digits' boxes were rounded outwards
        inside = [i for i, d in enumerate(digits) if d.line == blob.line
                  and (bx - 1) * factor <= d.box[0] and d.box[0] + d.box[2] <= (bx + bw + 1) * factor
                  and by * factor <= d.box[1] + d.box[3] / 2 <= (by + bh) * factor]
        if not inside:
            continue
        theirs = [digits[i] for i in inside]
        readings = rows.read_rows(row_readers[:1] if len(theirs) == 1 else row_readers, blob.mask)
        if len(theirs) == 1 and len(readings[0][0]) >= 2:  # only several digits every row reader gives can replace it
            readings += rows.read_rows(row_readers[1:], blob.mask)
        if all([d.label for d in found] == [d.label for d in theirs] for found, _ in readings):
            continue
        best, lead = None, -np.inf
        if inside == list(range(inside[0], inside[-1] + 1)):  # its digits follow one another in the reading
            best, lead = likeliest_reading(theirs, readings, row_readers, model, blob.mask)
        if lead <= (LONE_MARGIN if len(theirs) == 1 else ROW_MARGIN):
            for i in inside:
                digits[i] = replace(digits[i], row_doubt=True)
            continue
        new = [Digit(label=d.label, prob=round(d.prob, 4), line=theirs[0].line, row_doubt=True,
                     box=_scaled_box((bx + d.left, by, d.right - d.left, bh), factor, shape),
                     alternatives=[(label, round(p, 4)) for label, p in d.alternatives[:ALTERNATIVES]],
                     gap_before=theirs[0].gap_before and n == 0) for n, d in enumerate(best)]
        digits[inside[0]:inside[-1] + 1] = new
    return digits


def likeliest_reading(theirs, readings, row_readers, model, mask):
    """Of the row readers' readings of a blob (h, w) bool whose digits the classifier read as
    `theirs`, the one likeliest to put in their place, and its lead over them in nats per row
    reader weighing it; (None, -inf) if none may.

    readings: read_rows' (digits, logits) of each of `row_readers`. A reading other than theirs
    may if ROW_VOTES row readers give it, JOIN_VOTES for a reading of fewer digits (it joins
    pieces the split search cut apart); in place of a lone digit, only several digits that
    every row reader gives. Its lead is `reading_lead`'s, under the readers in columns
    FINE_COLUMN_PX apart alone for a reading of more digits than theirs (but not for a lone
    digit's), under all of them otherwise.
    """
    lone = len(theirs) == 1
    votes = len(row_readers) if lone else ROW_VOTES
    logits = [found_logits for _, found_logits in readings]
    fine = [] if lone else [row for row, reader in zip(logits, row_readers)
                            if rows.column_geometry(reader)[0] == FINE_COLUMN_PX]
    proposed, given_by = {}, Counter()  # each reading once, with the digits of the first to give it
    for found, _ in readings:
        labels = tuple(d.label for d in found)
        proposed.setdefault(labels, found)
        given_by[labels] += 1
    best, lead = None, -np.inf
    for labels, found in proposed.items():
        needed = min(votes if len(labels) >= len(theirs) else JOIN_VOTES, len(row_readers))
        if len(labels) < (2 if lone else 1) or list(labels) == [d.label for d in theirs] or given_by[labels] < needed:
            continue
        judges = fine if fine and len(labels) > len(theirs) else logits
        its_lead = reading_lead(found, theirs, judges, model, mask) / len(judges)
        if its_lead > lead:
            best, lead = found, its_lead
    return best, lead


def reading_lead(found, theirs, logits, model, mask):
    """How much likelier (nats) a row reader's digits `found` are than the classifier's, `theirs`.

    Under each row reader of `logits` (its logits (columns, 11) each): the sum of their CTC
    log-likelihoods of the one string and the other. Fewer digits than theirs say that pieces the split
    search cut apart are one digit: then the classifier weighs in too, with its log-probabilities of the
    row reader's digits, each read from the band of the blob (h, w) bool between its neighbours, against
    those of its own (a wide 5 cut into "45" was read 4 by a row reader, 5 by the classifier).
    """
    def log_likelihood(labels):
        return sum(float(ctc.log_likelihood(row[None], [labels])[0]) if len(labels) <= len(row) else -np.inf
                   for row in logits)

    theirs_likelihood = log_likelihood([d.label for d in theirs])
    if not np.isfinite(theirs_likelihood):  # more digits than a row reader's columns can say: it cannot judge
        return -np.inf
    lead = log_likelihood([d.label for d in found]) - theirs_likelihood
    if len(found) < len(theirs):
        bands = [mask[:, int(d.left):max(int(np.ceil(d.right)), int(d.left) + 1)] for d in found]
        if not all(band.any() for band in bands):
            return -np.inf
        probs = averaged_probabilities(model, bands)
        lead += float(np.sum(np.log(np.maximum(probs[np.arange(len(found)), [d.label for d in found]], 1e-12))))
        lead -= float(np.sum(np.log([max(d.prob, 1e-12) for d in theirs])))
    return lead


def load_at_working_scale(image, method="auto"):
    """The image (a path, file object, PIL image or array) as gray (h, w) shrunk by working_scale's factor;
    the factor; and the image's own (H, W). A JPEG file is decoded twice, each time only as large as needed (see
    imageio.load_grayscale): for the preview, then for reading. Anything else is decoded once, whole."""
    shape = imageio.jpeg_shape(image)
    if shape is None:
        whole = imageio.load_grayscale(image)
        factor = working_scale(whole.shape, lambda reduce: imageio.shrink(whole, reduce), method)
        return imageio.shrink(whole, factor), factor, whole.shape
    factor = working_scale(shape, lambda reduce: imageio.load_grayscale(image, reduce), method)
    return imageio.load_grayscale(image, factor), factor, shape


def working_scale(shape, shrunk, method="auto"):
    """How many times to shrink an image of shape (H, W) before reading it: 1.0, or for an image
    of over LARGE_IMAGE pixels whose digits are taller than WORK_DIGIT_HEIGHT px (measured on a
    preview PREVIEW_SIDE px across, shrunk(factor) giving the image factor times smaller), the
    factor that makes them that tall.

    Thin strokes can fade into the paper in a small preview (a 5-px pen line on a 1600-px
    page, in a shadow): a preview with no ink is looked at again twice as large, and if
    that shows none either, the image is read as it is."""
    if shape[0] * shape[1] <= LARGE_IMAGE:
        return 1.0
    for side in (PREVIEW_SIDE, 2 * PREVIEW_SIDE):
        preview = max(shape) / side
        if preview <= 1.0:
            break
        ink = threshold.binarize(shrunk(preview), method)
        if ink.any():
            return max(1.0, segment.rough_digit_height(ink) * preview / WORK_DIGIT_HEIGHT)
    return 1.0


def _scaled_box(box, factor, shape):
    """A box (x, y, w, h) found in an image shrunk `factor` times -> in the pixels of the original (H, W)."""
    x, y, w, h = (v * factor for v in box)
    x0, y0 = max(0, int(x)), max(0, int(y))
    x1, y1 = min(shape[1], int(np.ceil(x + w))), min(shape[0], int(np.ceil(y + h)))
    return (x0, y0, x1 - x0, y1 - y0)


def draw_boxes(image, reading, out_path):
    """Save the image (a path or a binary file object) with a rectangle and the predicted digit on each
    segment (the paper's Figure 8): green when sure, red when uncertain; a stroke left out as "/" gets a
    red rectangle and a "/"."""
    from PIL import Image, ImageDraw, ImageFont, ImageOps

    from .fileio import atomic_write

    with Image.open(image) as opened:
        canvas = ImageOps.exif_transpose(opened).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    marks = [(digit.box, str(digit.label), reading.doubts(digit)) for digit in reading.digits]
    for (x, y, w, h), label, doubtful in marks + [(box, "/", True) for box, _ in reading.slashes]:
        colour = (220, 30, 30) if doubtful else (20, 160, 60)
        pen = max(2, round(h / 25))
        font = ImageFont.load_default(size=max(12, round(h * 0.45)))
        draw.rectangle([x - pen, y - pen, x + w + pen, y + h + pen], outline=colour, width=pen)
        draw.text((x, y - pen), label, fill=colour, font=font, anchor="lb")
    with atomic_write(out_path) as f:
        canvas.save(f, format="PNG")


def _boxes_path(boxes, image, several):
    """--boxes names the PNG for one image; with several images it is a folder for NAME.boxes.png files
    (stdin.boxes.png for standard input)."""
    name = "stdin" if image == STDIN else Path(image).stem
    return Path(boxes) / f"{name}.boxes.png" if several else Path(boxes)


def _standard_input():
    """Standard input read whole, as a file object named <stdin>: Pillow moves about in an image file,
    and --boxes reads it a second time, where a pipe can be read once, forwards."""
    return imageio.named_bytes(sys.stdin.buffer.read(), STDIN_NAME)


def _report_uncertain(reading, prefix):
    for digit in reading.uncertain_digits:
        others = ", ".join(f"{label} ({prob:.2f})" for label, prob in digit.alternatives[:2])
        reasons = f"; {CLOSE_CUT}" if digit.close_cut else ""
        reasons += f"; {ROW_DISAGREES}" if digit.row_doubt else ""
        print(f"{prefix}uncertain digit on line {digit.line + 1} at x={digit.box[0]}: read {digit.label} "
              f"(p={digit.prob:.2f}), else {others}{reasons}", file=sys.stderr)
    for box, line in reading.slashes:
        print(f"{prefix}uncertain: on line {line + 1} at x={box[0]}, {SLASH}", file=sys.stderr)


def _digit_count(text):
    """--digits: "6" -> (6, 6), "4-6" -> (4, 6)."""
    try:
        low, high = (int(v) for v in text.split("-")) if "-" in text else (int(text),) * 2
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of digits such as 6 or 4-6, got {text!r}") from None
    if not 1 <= low <= high:
        raise argparse.ArgumentTypeError(f"expected 1 <= LOW <= HIGH, got {text!r}")
    return low, high


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tinycnn.read", description="Print the handwritten number(s) read from each image.",
        epilog="Exit codes: 0 read; 1 no digits found; 2 bad input or usage; 3 an uncertain reading under --strict. "
               "With several images the worst applies, in the order 2, 3, 1.")
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help=f"photo or scan (PNG, JPEG, ...); {STDIN} reads one from standard input")
    parser.add_argument("--json", action="store_true", help="print one JSON object per image")
    parser.add_argument("--boxes", metavar="OUT.png",
                        help="save the image with each digit's box and label (a folder if several images)")
    parser.add_argument("--model", metavar="PATH", action="append",
                        help="a model saved by tinycnn (default: the shipped reading model); "
                             "given several times, their probabilities are averaged")
    parser.add_argument("--min-confidence", type=float, default=MIN_CONFIDENCE, metavar="P",
                        help=f"digits read with a probability below P are uncertain (default: {MIN_CONFIDENCE})")
    parser.add_argument("--strict", action="store_true",
                        help="exit with 3 when any digit is uncertain, or a stroke was left out as '/'")
    parser.add_argument("--threshold", choices=("auto", "otsu", "adaptive"), default="auto",
                        help="how to separate ink from paper (default: auto)")
    parser.add_argument("--digits", type=_digit_count, metavar="N or LOW-HIGH",
                        help="how many digits each line holds, if known (a roll number's length): "
                             "a line found with fewer or more is split or joined further when it can be")
    args = parser.parse_args(argv)
    if not 0.0 <= args.min_confidence <= 1.0 or math.isnan(args.min_confidence):
        parser.error(f"--min-confidence must be between 0 and 1, got {args.min_confidence}")
    if args.images.count(STDIN) > 1:
        parser.error(f"standard input ({STDIN}) can be read only once")
    several = len(args.images) > 1
    try:
        model = load_models(args.model) if args.model else shipped_model()
        if several and args.boxes:
            Path(args.boxes).mkdir(parents=True, exist_ok=True)
    except (ModelFileError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    bad = uncertain = empty = False
    for image in args.images:
        name = STDIN_NAME if image == STDIN else image
        prefix = f"{name}: " if several else ""
        try:
            source = _standard_input() if image == STDIN else image
            reading = read_digits(source, model, args.min_confidence, args.threshold, args.digits)
            if args.boxes:
                draw_boxes(source, reading, _boxes_path(args.boxes, image, several))
        except (imageio.ImageError, OSError) as error:
            print(f"error: {error}" if isinstance(error, imageio.ImageError) else f"error: {name}: {error}",
                  file=sys.stderr)
            bad = True
            continue
        empty |= not reading.digits
        uncertain |= reading.uncertain
        if args.json:
            print(json.dumps(reading.to_dict()))
            continue
        if not reading.digits:
            print(f"{prefix}no digits found", file=sys.stderr)
            continue
        print(prefix + (" | ".join(reading.lines) if several else reading.text))
        _report_uncertain(reading, prefix)
    sys.stdout.flush()
    return 2 if bad else 3 if (uncertain and args.strict) else 1 if empty else 0


if __name__ == "__main__":
    sys.exit(main())
