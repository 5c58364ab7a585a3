"""`digitnet predict`: read the user's own digit images (files or directories of them)."""
import json
import sys

import numpy as np
from PIL import Image, ImageDraw

from ..atomic import atomic_write
from ..errors import DigitnetError
from ..predict import predict_image
from ..images import load_image
from ..metrics import percent
from .common import add_device_argument, check_output_file, load_digit_model, model_path, nonempty_path

IMAGE_SUFFIXES = {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}


def add_parser(sub):
    p = sub.add_parser("predict", help="read digits from your own image files",
                       description="Predict the digit in each image (PNG, JPEG, BMP, GIF, TIFF, WebP, ...). "
                                   "Images are prepared the way MNIST was made: grayscale, ink light on dark, "
                                   "cropped to the ink, scaled to a 20-px box and centred by mass in 28x28 "
                                   "(`python -m pydoc digitnet.preprocess` describes each step).")
    p.add_argument("model", type=nonempty_path, metavar="MODEL",
                   help="model file, e.g. m.npz (`digitnet train` writes one)")
    p.add_argument("paths", metavar="PATH", nargs="+", type=nonempty_path, help="an image file or a directory of them")
    p.add_argument("--top", type=int, default=3, metavar="K", help="also show the K most probable digits (default 3)")
    p.add_argument("--json", action="store_true", help="one JSON object per image, one per line")
    p.add_argument("--show-input", type=nonempty_path, metavar="OUT.png",
                   help="write a PNG of each original beside the 28x28 image the network saw")
    add_device_argument(p, "run the network")
    p.set_defaults(run=run)


SHOWN_AT_MOST = 200                   # rows of --show-input: 200 are 424 x 22,400 pixels


def image_files(paths):
    """Each path, with a directory replaced by the image files in it (sorted, by extension)."""
    for path in paths:
        if path.is_dir():
            found = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
                           and not f.name.startswith("."))              # hidden: macOS's ._x.png, say
            yield from found or [path]          # an empty directory: reported in its turn, as a bad image is
        else:
            yield path


def run(args):
    if args.top < 1:
        raise DigitnetError(f"--top {args.top}: must be at least 1")
    if args.show_input:
        check_output_file(args.show_input, f"--show-input {args.show_input}", "inputs.png")
        if args.show_input.suffix.lower() != ".png":
            raise DigitnetError(f"--show-input {args.show_input}: it writes a PNG image; name a .png file")
    model = load_digit_model(model_path(args.model), device=args.device)
    shown, failures = [], 0
    for path in image_files(args.paths):
        try:
            if path.is_dir():
                raise DigitnetError(f"{path}: no image files in this directory")
            prediction = predict_image(model, path)
        except DigitnetError as e:
            message = str(e) if str(e).startswith(str(path)) else f"{path}: {e}"
            print(f"digitnet: error: {message}", file=sys.stderr, flush=True)
            failures += 1
            continue
        top = prediction.top(args.top)                 # at most as many as the model has classes
        if args.json:
            print(json.dumps({"path": str(path), "prediction": prediction.digit,
                              "probability": prediction.probability,
                              "probabilities": [float(p) for p in prediction.probabilities],
                              "top": [{"digit": d, "probability": p} for d, p in top]}), flush=True)
        else:
            others = ", ".join(f"{d} {percent(p)}" for d, p in top)
            print(f"{path}: {prediction.digit} ({percent(prediction.probability)})  top {len(top)}: {others}",
                  flush=True)
        shown.append((path, prediction))
    if args.show_input and shown:
        write_inputs(shown[:SHOWN_AT_MOST], args.show_input)
        some = f" (the first {SHOWN_AT_MOST} of {len(shown)} images)" if len(shown) > SHOWN_AT_MOST else ""
        print(f"wrote what the network saw to {args.show_input}{some}", file=sys.stderr if args.json else sys.stdout)
    return 2 if failures else 0


def write_inputs(shown, out, size=112):
    """One row per image: the original (fitted in size x size) beside the 28x28 input enlarged 4x."""
    sheet = Image.new("RGB", (2 * size + 200, size * len(shown)), "white")
    draw = ImageDraw.Draw(sheet)
    for row, (path, prediction) in enumerate(shown):
        original = load_image(path).convert("RGB")
        original.thumbnail((size, size))
        sheet.paste(original, ((size - original.width) // 2, row * size + (size - original.height) // 2))
        seen = Image.fromarray(np.round(prediction.input * 255).astype(np.uint8)).resize((size, size),
                                                                                        Image.Resampling.NEAREST)
        sheet.paste(seen.convert("RGB"), (size, row * size))
        draw.text((2 * size + 10, row * size + size // 2 - 12),
                  f"{prediction.digit}  ({percent(prediction.probability)})\n{path.name[:28]}", fill="black")
    with atomic_write(out) as f:
        sheet.save(f, format="PNG")
