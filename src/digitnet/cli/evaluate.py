"""`digitnet evaluate`: accuracy, per-class precision and recall, confusion matrix on the test set."""
import json

from ..data import load_mnist
from ..metrics import classification_report, percent
from .common import (MODEL_HELP, add_data_argument, add_device_argument, load_digit_model, model_path,
                     nonempty_path)


def add_parser(sub):
    p = sub.add_parser("evaluate", help="measure a trained model on the MNIST test set",
                       description="Evaluate a model on the 10,000 MNIST test images.")
    p.add_argument("model", nargs="?", type=nonempty_path, metavar="MODEL",
                   help=MODEL_HELP)
    add_data_argument(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    add_device_argument(p, "run the network")
    p.set_defaults(run=run)


def format_report(report):
    """The report as text: accuracy, a per-class table, the confusion matrix."""
    lines = [f"accuracy: {percent(report['accuracy'])} ({report['correct']:,}/{report['n']:,})", "",
             "digit  precision  recall"]
    for k, (p, r) in enumerate(zip(report["precision"], report["recall"])):
        lines.append(f"{k:>5}  {percent(p):>9}  {percent(r):>6}")
    lines += ["", "confusion matrix (rows: true digit, columns: predicted)",
              "      " + "".join(f"{k:>6}" for k in range(10))]
    for k, row in enumerate(report["confusion_matrix"]):
        lines.append(f"{k:>6}" + "".join(f"{c:>6}" for c in row))
    return "\n".join(lines)


def run(args):
    path = model_path(args.model)
    model = load_digit_model(path, device=args.device)
    data = load_mnist(args.data, validation_size=0, progress=not args.json)
    report = classification_report(data.y_test, model.predict(data.x_test))
    if args.json:
        print(json.dumps({"model": str(path), **report}))
    else:
        print(f"model: {path}")
        print(format_report(report))
    return 0
