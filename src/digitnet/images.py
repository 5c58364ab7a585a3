"""Reading an image of a digit from whatever the user has: a file path, the file's bytes, a PIL image
or a NumPy array. The first frame of an animation or a multi-page TIFF, turned upright as a phone
photo's EXIF says, with 16-bit and floating-point gray scaled to 8 bits; images over MAX_PIXELS
are refused before they are decoded (decompression bombs). preprocess.py prepares what this reads.
"""
import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import DigitnetError

# The formats read: the pictures people have. Not every format Pillow knows: EPS would be handed to
# Ghostscript, and rare ones (SPIDER, ...) are code paths no one needs from a web upload.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM")    # JPEG takes phones' MPO too
MAX_PIXELS = 40_000_000        # larger images are refused: protection against decompression bombs
ORIENTATION = 0x0112           # the EXIF tag of how the camera was held


def load_image(source):
    """A PIL image from a path, the bytes of an image file, a PIL image or a NumPy array (H, W) or
    (H, W, 3|4)."""
    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, np.ndarray):
        image = _from_array(source)
    elif isinstance(source, (str, Path)):
        image = _open(Path(source))
    elif isinstance(source, (bytes, bytearray)):
        image = _decode(io.BytesIO(source), None)
    else:
        raise DigitnetError(f"cannot read an image from a {type(source).__name__}: "
                            "give a file path, the file's bytes, a PIL image or a NumPy array")
    if image.width * image.height > MAX_PIXELS:
        raise DigitnetError(f"image is {image.width}x{image.height} pixels, more than the "
                            f"{MAX_PIXELS // 1_000_000} megapixel limit; scale it down first")
    if image.width == 0 or image.height == 0:
        raise DigitnetError(f"the image is empty ({image.width}x{image.height} pixels)")
    if image.mode == "F" or image.mode.startswith("I"):  # float, 16- or 32-bit gray: scaled to 8 bits by its range
        image = _from_array(np.asarray(image))
    return _upright(image)


def _upright(image):
    """The image turned as its EXIF orientation says (a phone photo is stored as the sensor saw it);
    unchanged when that tag is missing or the EXIF data is damaged."""
    try:
        with warnings.catch_warnings():                  # Pillow warns of damaged EXIF: the pixels are still fine
            warnings.simplefilter("ignore")
            turned = image.getexif().get(ORIENTATION, 1) not in (1, None)
            return ImageOps.exif_transpose(image) if turned else image      # no copy of an upright image
    except Exception:                                    # Pillow's EXIF parser on forged data raises all sorts
        return image


def _open(path):
    if not path.exists():
        raise DigitnetError(f"{path}: no such file")
    if path.is_dir():
        raise DigitnetError(f"{path}: is a directory, not an image")
    return _decode(path, str(path))


def _decode(file, name):
    """The first frame of the image in `file` (a path or a file object), decoded; `name` (None for bytes)
    begins the messages."""
    where = f"{name}: " if name else ""
    try:
        image = _header(file)
        if image.width * image.height > MAX_PIXELS:      # checked from the header, before decoding
            raise DigitnetError(f"{where}image is {image.width}x{image.height} pixels, more than the "
                                f"{MAX_PIXELS // 1_000_000} megapixel limit; scale it down first")
        image.seek(0)                                    # first frame of a GIF or multi-page TIFF
        image.load()
    except UnidentifiedImageError:
        raise DigitnetError(f"{where}not an image file digitnet reads (PNG, JPEG, GIF, BMP, TIFF, WebP or "
                            f"PPM)") from None
    except Image.DecompressionBombError:
        raise DigitnetError(f"{where}image is too large to decode safely; scale it down first") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise DigitnetError(f"{where}the image file is corrupt or truncated ({e})") from None
    return image


def _header(file):
    """Pillow's image in `file`, its header read, not yet decoded (one of FORMATS)."""
    with warnings.catch_warnings():                      # Pillow's own warning for big images: we refuse them
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.simplefilter("ignore", UserWarning)     # "Corrupt EXIF data": the pixels are still fine
        return Image.open(file, formats=FORMATS)


def declared_pixels(data):
    """How many pixels the image in the bytes `data` says it has, from its header alone (0 for what is
    no image digitnet reads): whether decoding it will take long."""
    try:
        with _header(io.BytesIO(data)) as header:
            return header.width * header.height
    except Exception:                                    # load_image says what is wrong with it, at once
        return 0


def _from_array(a):
    if a.ndim == 3 and a.shape[2] == 1:                  # gray with its one channel, as Keras lays it out
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or 0 in a.shape:
        raise DigitnetError(f"an image array must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got "
                            f"{a.shape}")
    if a.dtype == bool:                                  # a mask such as image > 128: ink where True
        a = a.astype(np.uint8) * 255
    if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a) or not np.isfinite(a).all():
        raise DigitnetError("an image array must hold finite real numbers")
    if a.dtype != np.uint8:                              # floats in [0, 1] or any other range
        scale = 255.0 if a.max() <= 1.0 else 255.0 / max(float(a.max()), 1.0)
        a = np.clip(np.clip(a.astype(np.float64), 0, None) * scale, 0, 255).astype(np.uint8)   # negatives: 0
    return Image.fromarray(a)
