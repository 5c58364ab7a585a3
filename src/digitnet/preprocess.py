"""Any image of a digit -> a 28x28 MNIST-style input, the way MNIST itself was made.

LeCun, Cortes and Burges built MNIST by size-normalising each digit to fit a 20x20 box (keeping
its aspect ratio, anti-aliased, so edges are grey) and then centring it in a 28x28 field by its
centre of mass. The ink is white (1.0) on black (0.0). A network trained on MNIST has only ever
seen digits prepared like that, so a user's photo or drawing must be prepared the same way:

    1. read      first frame, upright (images.py), grayscale in [0, 1]; transparent pixels become
                 background
    2. polarity  is the ink dark on light (paper, scans, photos) or light on dark? make it light
    3. clean     subtract the (possibly uneven) background, stretch the contrast, drop faint noise
    4. crop      to the bounding box of the ink (ignoring a sliver of stray specks)
    5. scale     the longer side to 20 px, keeping the aspect ratio, anti-aliased
    6. centre    paste into 28x28 so that the ink's centre of mass lands at the centre

`preprocess(image)` runs them all; `preprocess_steps(image)` returns every intermediate image
too (docs/preprocessing.md shows them).
"""
import numpy as np
from PIL import Image, ImageFilter

from .errors import DigitnetError
from .images import load_image

WORK_SIZE = 512                # big photos are shrunk to this (longer side) before cleaning
NOISE_FLOOR = 0.5              # the most of the stretched ink range ever treated as noise
NOISY = 0.02                   # above this noise level (about 5/255) the image is median-filtered
MIN_CONTRAST = 0.08            # an image whose ink stands out less than this holds no digit
BOX, FIELD = 20, 28            # MNIST: digit fits a 20x20 box, centred in a 28x28 field
WORK_BOX = 80                  # strokes are thinned or thickened at 4x the box size
THICK, THIN, TARGET = 3.5, 1.2, 2.6   # stroke widths in box pixels: MNIST's run 1.4-2.7
MAX_RADIUS = WORK_BOX // 4     # the largest thinning or thickening filter, in work pixels


def grayscale(image):
    """The image as gray levels (H, W) in [0, 1], transparent pixels filled with the background.

    What colour is a transparent pixel? The paper's, when the image has opaque paper (most of
    its pixels opaque): the median of the opaque border. When only the strokes are opaque (a
    drawing exported with no background), the colour that contrasts with them.
    """
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    rgba = image.convert("RGBA") if has_alpha else image.convert("RGB")
    if max(rgba.size) > WORK_SIZE:                       # cleaning needs no more detail than this
        rgba.thumbnail((WORK_SIZE, WORK_SIZE), Image.Resampling.LANCZOS)
    a = np.asarray(rgba, dtype=np.float32) / 255
    gray = a[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)     # ITU-R 601 luma
    if not has_alpha:
        return gray
    alpha = a[..., 3]
    opaque = alpha > 0.5
    if not opaque.any():
        raise DigitnetError("no digit found: the image is fully transparent")
    if opaque.mean() > 0.5:
        edge = _border(opaque)
        paper = float(np.median(_border(gray)[edge] if edge.any() else gray[opaque]))
    else:
        paper = 1.0 if np.median(gray[opaque]) < 0.5 else 0.0
    return alpha * gray + (1 - alpha) * paper


def _border(a):
    """The pixels along the four edges of a 2-D array."""
    return np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])


def ink_is_dark(gray):
    """True when the background (the median of the border pixels) is light."""
    return float(np.median(_border(gray))) > 0.5


def ink_map(gray):
    """Ink in [0, 1] (1 = full ink): background subtracted, contrast stretched, noise removed."""
    if ink_is_dark(gray):
        gray = 1 - gray                                  # now the ink is light on a dark background
    signal, noise = _signal_and_noise(gray)
    if noise > NOISY:                                    # grainy photo or scan: a 3x3 median filter
        smooth = np.asarray(_as_image(gray).filter(ImageFilter.MedianFilter(3)), dtype=np.float32) / 255
        signal, noise = _signal_and_noise(smooth)        # removes specks, keeps strokes
    top = float(np.percentile(signal, 99.9))
    if top < max(MIN_CONTRAST, 4 * noise):
        raise DigitnetError("no digit found: the image is blank or has too little contrast")
    floor = min(3 * noise / top, NOISE_FLOOR)
    return np.clip((signal / top - floor) / (1 - floor), 0, 1)


def _signal_and_noise(gray):
    """Ink above the background, and the noise level: the median absolute deviation of the
    pixels, which are mostly background."""
    signal = gray - background(gray)
    return signal, 1.4826 * float(np.median(np.abs(signal - np.median(signal))))


def background(gray):
    """The background level at every pixel, even when uneven (a shadow across the paper).

    Fits a smooth surface, a quadratic in x and y, to the pixels that are not ink. It starts
    from the darker half of the pixels, then iterates: fit, keep only pixels no brighter than
    the fit plus a little noise, and fit again. It runs on a 64-pixel thumbnail (4096 points),
    and the fitted surface is then evaluated at full size.
    """
    h, w = gray.shape
    scale = 64 / max(h, w)
    small = np.asarray(_as_image(gray).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                              Image.Resampling.BOX), dtype=np.float32) / 255
    terms = _quadratic_terms(*small.shape)
    values = small.ravel().astype(np.float64)
    keep = values <= np.median(values)               # start from the darker half: ink covers less
    for _ in range(4):
        a, b = terms[keep], values[keep]
        coef, *_ = np.linalg.lstsq(a.T @ a, a.T @ b, rcond=None)     # least squares by the normal equations
        residual = values - terms @ coef
        spread = 1.4826 * np.median(np.abs(residual[keep] - np.median(residual[keep]))) + 1e-3
        keep = residual < 2.5 * spread             # ink is brighter than the fitted background
    return _quadratic_surface(coef, h, w)


def _quadratic_terms(h, w):
    """Columns 1, x, y, x*x, x*y, y*y over an h x w grid, with x and y in [0, 1], in float64: the
    normal equations square their condition number."""
    y, x = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    x, y = x.ravel(), y.ravel()
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)


def _quadratic_surface(coef, h, w):
    """coef . (1, x, y, x*x, x*y, y*y) at every pixel of an h x w grid: the same columns as
    `_quadratic_terms`, summed by broadcasting a row of x against a column of y."""
    c = np.asarray(coef, dtype=np.float32)
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    return (c[0] + c[1] * x + c[3] * x * x) + y * (c[2] + c[4] * x) + c[5] * y * y


def _as_image(a):
    """An 8-bit grayscale PIL image of a float array in [0, 1]."""
    return Image.fromarray(np.round(np.clip(a, 0, 1) * 255).astype(np.uint8))


def ink_box(ink, trim=0.002):
    """(top, bottom, left, right) of the ink, leaving out the outer `trim` of its mass on each side."""
    rows, cols = ink.sum(axis=1), ink.sum(axis=0)
    total = rows.sum()
    if total <= 0:
        raise DigitnetError("no digit found: nothing stands out from the background")

    def span(profile):
        cumulative = np.cumsum(profile) / total
        return int(np.searchsorted(cumulative, trim)), int(np.searchsorted(cumulative, 1 - trim)) + 1

    (top, bottom), (left, right) = span(rows), span(cols)
    return top, bottom, left, right


def stroke_width(ink):
    """Mean stroke width in pixels: twice the inked area over its perimeter (exact for long strokes)."""
    b = (ink > 0.5).astype(np.int8)
    perimeter = np.abs(np.diff(b, axis=0)).sum() + np.abs(np.diff(b, axis=1)).sum()
    return 2 * float(b.sum()) / max(float(perimeter), 1.0)


def fit_box(ink):
    """The cropped ink scaled so its longer side is BOX pixels (aspect kept, anti-aliased).

    Strokes far thicker or thinner than MNIST's are brought back into its range on the way: at
    4x the final size, a minimum filter thins a heavy stroke and a maximum filter thickens a
    hairline, each to TARGET. MNIST's strokes measure 1.4 to 2.7 px in the 20-px box (10th to
    90th percentile of the training digits; median 2.0).
    """
    h, w = ink.shape
    scale = WORK_BOX / max(h, w)
    work = _as_image(ink).resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)
    width = stroke_width(np.asarray(work, dtype=np.float32) / 255) * BOX / WORK_BOX
    # the filter's radius is capped at a quarter of the box: a solid block of ink (its "stroke" as wide
    # as the image) would otherwise ask for a filter of thousands of pixels, and take hours
    radius = min(round(abs(width - TARGET) / 2 * WORK_BOX / BOX), MAX_RADIUS)
    if width > THICK:
        work = work.filter(ImageFilter.MinFilter(2 * radius + 1))
    elif width < THIN:
        work = work.filter(ImageFilter.MaxFilter(2 * radius + 1))
    size = (max(1, round(w * BOX / max(h, w))), max(1, round(h * BOX / max(h, w))))
    resized = work.resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32) / 255, 0, 1)


def centre(digit):
    """Paste `digit` into a FIELD x FIELD zero image with its centre of mass at the centre."""
    h, w = digit.shape
    total = digit.sum()
    ys, xs = np.indices(digit.shape)
    cy, cx = (float((ys * digit).sum() / total), float((xs * digit).sum() / total)) if total > 0 \
        else ((h - 1) / 2, (w - 1) / 2)
    top = int(np.clip(round(FIELD / 2 - cy), 0, FIELD - h))       # MNIST's centres of mass average
    left = int(np.clip(round(FIELD / 2 - cx), 0, FIELD - w))      # (14.0, 14.0) in pixel coordinates
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    field[top:top + h, left:left + w] = digit
    return field


def preprocess_steps(image):
    """Every stage as a float image: gray, ink, cropped, boxed (20 px) and the final 28x28 input."""
    gray = grayscale(load_image(image))
    ink = ink_map(gray)
    top, bottom, left, right = ink_box(ink)
    cropped = ink[top:bottom, left:right]
    boxed = fit_box(cropped)
    return {"gray": gray, "ink": ink, "cropped": cropped, "boxed": boxed, "input": centre(boxed)}


def preprocess(image):
    """The 28x28 float32 input (white ink on black, in [0, 1]) the network should see for `image`."""
    return preprocess_steps(image)["input"]


def naive(image):
    """What most demos do, for comparison: grayscale, resize to 28x28, invert if the paper is light."""
    gray = grayscale(load_image(image))
    small = np.asarray(Image.fromarray(gray).resize((FIELD, FIELD), Image.Resampling.LANCZOS), dtype=np.float32)
    return np.clip(1 - small if ink_is_dark(gray) else small, 0, 1)
