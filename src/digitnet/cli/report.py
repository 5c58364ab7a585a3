"""`digitnet report`: an HTML page with a model's figures, settings and per-digit numbers."""
from pathlib import Path

from ..data import load_mnist
from .common import (MODEL_HELP, add_data_argument, check_output_file, check_writable, load_digit_model,
                     model_path, nonempty_path)

DEFAULT_OUT = "digitnet-report"


def add_parser(sub):
    p = sub.add_parser("report", help="write an HTML report of a trained model",
                       description="Evaluate a model on the test set and write DIR/index.html, one "
                                   "self-contained page (figures embedded, nothing fetched from the "
                                   "network): architecture, training settings and time, test accuracy, "
                                   "training curves, confusion matrix, precision and recall per digit, "
                                   "the most confident mistakes, first-layer weights, the data. The "
                                   "figures are also saved as PNG files beside it.")
    p.add_argument("model", nargs="?", type=nonempty_path, metavar="MODEL",
                   help=MODEL_HELP)
    add_data_argument(p)
    p.add_argument("--out", metavar="DIR", type=nonempty_path, default=Path(DEFAULT_OUT),
                   help=f"directory for index.html and the PNG files (default ./{DEFAULT_OUT})")
    p.set_defaults(run=run)


def run(args):
    check_writable(args.out, f"--out {args.out}")
    check_output_file(Path(args.out) / "index.html", f"--out {args.out}: its index.html")
    path = model_path(args.model)
    model = load_digit_model(path)
    meta = model.metadata
    training = meta.get("training") or {}
    # the split the model was trained on, so the data figures show the images it saw
    validation_size = training.get("validation_size")
    seed = training.get("seed")
    data = load_mnist(args.data, validation_size=validation_size if isinstance(validation_size, int) else 0,
                      seed=seed if isinstance(seed, int) else 0)
    from ..report import write_report
    print(write_report(model, meta, data, args.out, source=path))
    return 0
