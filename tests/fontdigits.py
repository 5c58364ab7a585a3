"""Digits that do not come from MNIST: rendered with many fonts, sizes, positions, stroke widths and
canvas shapes, mostly dark ink on light paper, some light on dark, some noisy, some unevenly lit.

Fonts are the TrueType files matplotlib ships (DejaVu Sans/Serif/Mono, STIX, Computer Modern),
so the set is the same on every machine that installs digitnet.
"""
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_FILES = [
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf",
]
CANVASES = [(200, 200), (120, 120), (400, 300), (300, 150), (150, 300), (64, 64), (640, 480)]


def fonts():
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    found = [folder / name for name in FONT_FILES if (folder / name).is_file()]
    if len(found) < 8:
        raise RuntimeError(f"expected matplotlib's fonts in {folder}, found {len(found)}")
    return found


def render(digit, font_path, rng):
    """One RGB image of `digit` drawn with the font at `font_path`, randomly varied."""
    w, h = CANVASES[rng.integers(len(CANVASES))]
    dark_on_light = rng.random() < 0.8
    paper = int(rng.integers(170, 256)) if dark_on_light else int(rng.integers(0, 60))
    ink = int(rng.integers(0, 90)) if dark_on_light else int(rng.integers(180, 256))
    size = int(min(w, h) * rng.uniform(0.35, 0.9))
    stroke = int(rng.integers(0, max(1, size // 20) + 1))
    font = ImageFont.truetype(str(font_path), size)
    image = Image.new("L", (w, h), paper)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = draw.textbbox((0, 0), str(digit), font=font, stroke_width=stroke)
    x = rng.integers(0, max(1, w - (right - left))) - left
    y = rng.integers(0, max(1, h - (bottom - top))) - top
    draw.text((int(x), int(y)), str(digit), fill=ink, font=font, stroke_width=stroke, stroke_fill=ink)
    image = image.rotate(float(rng.uniform(-8, 8)), resample=Image.Resampling.BILINEAR, fillcolor=paper)
    a = np.asarray(image, dtype=np.float32)
    if rng.random() < 0.25:                                  # uneven lighting: a shadow across the page
        a *= np.linspace(rng.uniform(0.55, 0.85), 1.0, w, dtype=np.float32)[None, :]
    if rng.random() < 0.3:                                   # sensor or scanner noise
        a += rng.normal(0, rng.uniform(5, 20), a.shape).astype(np.float32)
    gray = np.clip(a, 0, 255).astype(np.uint8)
    return Image.fromarray(gray).convert("RGB")


def font_digits(per_font=2, seed=0):
    """[(image, label)]: every digit in every font, `per_font` random variants each."""
    rng = np.random.default_rng(seed)
    return [(render(d, f, rng), d) for f in fonts() for d in range(10) for _ in range(per_font)]
