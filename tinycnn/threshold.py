"""Gray image -> ink mask: the first step of finding digits (see segment.py).

    gray (H, W) in [0, 1] -> binarize -> ink (H, W) bool, True = ink

Paper is not white and ink is not black in a photo. `binarize`:

1. denoise         a 3x3 median filter, but only if the photo is noisy
                   (noise_level, from neighbouring pixels' differences)
2. ink_is_light    polarity: chalk on a board or a negative is turned round
                   (the sign of the skew of the image minus its local mean)
3. paper_background  for "adaptive" (or "auto" when lighting_is_uneven): the
                   paper's brightness everywhere, divided out so a shadow's
                   paper is as white as the rest; ink must still be darker
                   than its paper by more than the noise (SHADOW_NOISE)
4. _dark_class     Otsu's threshold (otsu_threshold), kept below the paper's own
                   noise, and nothing at all for blank paper

close_chalk joins the grains of a chalk stroke; segment uses it on light ink.
"""

import numpy as np
from scipy import ndimage as ndi

# Ink and paper must differ by a tenth of the full scale, or the image is blank.
MIN_INK_CONTRAST = 0.1
# The paper estimate uses a window of a quarter of the image's shorter side
# (at least 15 px): far wider than any pen stroke, so strokes vanish from it.
BACKGROUND_WINDOW_FRACTION = 0.25
MIN_BACKGROUND_WINDOW = 15
# Ink is at least 4 noise standard deviations darker than the paper; at 4
# sigma, Gaussian noise gives 3 false pixels in 100,000, which the speck filter removes.
PAPER_NOISE = 4.0
# Pixel noise is averaged over 5x5 before the paper estimate, whose max filter
# would otherwise pick the brightest noise and overestimate the paper.
DENOISE_WINDOW = 5
# Photos of low light or from cheap sensors carry pixel noise and salt-and-pepper
# specks. Above a noise level of 0.03 of the full scale (see `noise_level`;
# clean scans measure under 0.022) the image is median-filtered before
# thresholding, which wipes out lone noisy pixels. Below it the filter is
# skipped: it would also erase a 1-px hairline.
NOISY = 0.03
DENOISE_MEDIAN = 3
# A noise level is the MAD of about 50,000 of the image's values (every k-th), not of all of a photo's
# hundreds of thousands: on the working image of bench_read.py's photo 0.0058 against 0.0061 from all
# 232,000, and the same ink. (Images under 100,000 px use every value; the 124 of the 1,950 number
# images that are larger read the same either way.)
NOISE_SAMPLE = 50_000
# Dividing by the paper's brightness magnifies the noise where the paper is dark: in the near-black of
# a hard shadow at the image's edge (paper at 0.07 of full scale), noise alone fell below the threshold
# and was read as a "1". So adaptive ink must also lie SHADOW_NOISE noise standard deviations
# (local_noise, in the image as it is) below its paper. Chosen on the development set: 4 / 5 / 6 / 8 gave
# 541 / 542 / 544 / 541 of 600 numbers against 540 (at 8, faint ink in shadows began to go); the
# evaluation set, the 150 touching images and the sheets read the same at 6.
SHADOW_NOISE = 6.0
# "auto" switches to adaptive when the paper's brightness varies by more than
# 20% (5th vs 95th percentile); mild vignetting stays below that.
UNEVEN_LIGHTING = 0.2


def otsu_threshold(gray, bins=256):
    """Otsu's threshold: the level that best splits the histogram into two classes.

    For every cut it computes the between-class variance w0*w1*(m0 - m1)**2,
    written with cumulative sums as (mT*w0 - mu0)**2 / (w0*(1 - w0)), and
    keeps the best. gray: array of any shape. Pixels below the returned level
    form the dark class.
    """
    low, high = float(gray.min()), float(gray.max())
    if low == high:
        return low
    hist, edges = np.histogram(gray.astype(np.float64), bins=bins, range=(low, high))  # float32 cannot split a tiny range 256 ways
    p = hist / hist.sum()
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)  # weight of the dark class for a cut after each bin
    mu0 = np.cumsum(p * centres)  # its first moment
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu0[-1] * w0 - mu0) ** 2 / (w0 * (1.0 - w0))
    between = between[:-1]  # cutting after the last bin leaves no light class
    ties = np.flatnonzero(between == np.nanmax(between))  # empty bins between the classes tie
    return float(edges[ties[len(ties) // 2] + 1])  # so cut in the middle of the gap


def ink_is_light(gray):
    """True when the ink is lighter than the paper (chalk, negatives, MNIST itself).

    Ink is the rare extreme: subtract the local mean, and the ink makes a long
    tail on its side of the histogram, while paper noise, light gradients and
    the two sides of a shadow's edge roughly cancel. The sign of the third
    moment (skewness) of that difference says which side the tail is on.
    gray: (H, W).
    """
    local = ndi.uniform_filter(gray, size=_background_window(gray.shape))
    difference = gray - local
    return bool(np.mean(difference * difference * difference) > 0)  # ** 3 takes 100 times as long on float32


def _background_window(shape):
    """Width of the window for lighting estimates: much wider than a pen stroke."""
    return max(MIN_BACKGROUND_WINDOW, round(BACKGROUND_WINDOW_FRACTION * min(shape)))


def paper_background(gray):
    """Brightness of the bare paper at each pixel, for dark ink. (H, W) -> (H, W).

    A grey closing (max filter, then min filter) with a window much wider than
    a pen stroke fills the strokes in but keeps the lighting, even the sharp
    edge of a shadow, which a blur or a local mean would smear into a band.
    """
    size = _background_window(gray.shape)
    return ndi.grey_closing(ndi.uniform_filter(gray, DENOISE_WINDOW), size=(size, size))


def lighting_is_uneven(background):
    """True when the paper's brightness varies by more than UNEVEN_LIGHTING."""
    low, high = np.percentile(background, [5, 95])
    return bool(high - low > UNEVEN_LIGHTING * high)


def binarize(gray, method="auto"):
    """Gray image (H, W) in [0, 1] -> ink mask (H, W) bool, True = ink, either polarity.

    method: "otsu" (one global threshold), "adaptive" (divide by the paper's
    estimated brightness first, for shadows and uneven light), or "auto"
    (adaptive only when the paper's brightness is uneven).
    """
    if method not in ("auto", "otsu", "adaptive"):
        raise ValueError(f"method must be 'auto', 'otsu' or 'adaptive', got {method!r}")
    gray = denoise(np.asarray(gray, dtype=np.float32))
    if ink_is_light(gray):
        gray = 1.0 - gray  # from here on the ink is dark
    if method != "otsu":
        background = paper_background(gray)
        if method == "adaptive" or lighting_is_uneven(background):
            ink = _dark_class(gray / np.maximum(background, 1 / 255))  # paper ~1 everywhere, ink a fraction of it
            return ink & (background - gray > SHADOW_NOISE * local_noise(gray))
    return _dark_class(gray)


def local_noise(gray):
    """The robust standard deviation of what a local mean (DENOISE_WINDOW) takes away from gray (H, W):
    the pixel noise, without slow changes of the lighting across the page."""
    return _robust_std(gray - ndi.uniform_filter(gray, DENOISE_WINDOW))


def _robust_std(values):
    """The standard deviation of the bulk of `values`, from their MAD (outliers such as ink do not count),
    measured on every k-th of them, about NOISE_SAMPLE in all."""
    sample = values.ravel()[::max(1, values.size // NOISE_SAMPLE)]
    return float(1.4826 * np.median(np.abs(sample - np.median(sample))))


def noise_level(gray):
    """Robust standard deviation of the pixel noise of gray (H, W).

    Neighbouring pixels differ by sqrt(2) noise standard deviations, and only
    at the few edges of strokes by more, so the MAD of the differences along
    the rows gives the noise; it takes a tenth of the time of a median filter.
    """
    if gray.shape[1] < 2:
        return 0.0  # one column: no neighbours to compare
    return _robust_std(np.diff(gray, axis=1)) / np.sqrt(2.0)


def denoise(gray):
    """gray (H, W), median-filtered if its pixel noise is above NOISY, else unchanged."""
    return ndi.median_filter(gray, DENOISE_MEDIAN) if noise_level(gray) > NOISY else gray


def close_chalk(ink):
    """Close the 1-px breaks in light strokes on a dark board. ink: (H, W) bool -> (H, W) bool.

    Chalk leaves grains, not a solid line, so its strokes break into pieces
    that would be read as digits of their own; a 3x3 closing joins them. Pen
    ink is left alone: there it could join digits that nearly touch.
    """
    return ndi.binary_closing(ink, structure=np.ones((3, 3), dtype=bool)) | ink  # | ink: the closing drops edge pixels


def _dark_class(gray):
    """Pixels below Otsu's threshold, or none if the two classes barely differ (blank paper).

    With very little ink (one number on a page), Otsu may cut the paper's own
    noise in two; so the threshold is also kept PAPER_NOISE below the paper
    level, in robust standard deviations (the median is the paper: ink is rare).
    The noise is what a local mean takes away (local_noise).
    """
    paper = np.median(gray)
    dark = gray < min(otsu_threshold(gray), paper - PAPER_NOISE * local_noise(gray))
    if not dark.any() or gray[~dark].mean() - gray[dark].mean() < MIN_INK_CONTRAST:
        return np.zeros(gray.shape, dtype=bool)
    return dark
