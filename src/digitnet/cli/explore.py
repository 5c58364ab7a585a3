"""`digitnet explore`: figures of the MNIST data itself, no model needed."""
from pathlib import Path

from ..data import load_mnist
from .common import add_data_argument, check_writable, nonempty_path

DEFAULT_OUT = "digitnet-explore"


def add_parser(sub):
    p = sub.add_parser("explore", help="draw figures of the MNIST dataset",
                       description="Draw the dataset: sample digits of each class, images per class in the "
                                   "training and test sets, the mean image of each digit and a histogram of "
                                   "pixel values, as PNG files.")
    add_data_argument(p)
    p.add_argument("--out", metavar="DIR", type=nonempty_path, default=Path(DEFAULT_OUT),
                   help=f"directory for the PNG files (default ./{DEFAULT_OUT})")
    p.set_defaults(run=run)


def run(args):
    check_writable(args.out, f"--out {args.out}")
    data = load_mnist(args.data, validation_size=0)
    from ..plots import save_figure
    from ..plots_data import class_counts, class_samples, mean_images, pixel_histogram
    figures = {
        "class-samples.png": class_samples(data.x_train, data.y_train),
        "class-counts.png": class_counts({"training": data.y_train, "test": data.y_test}),
        "mean-images.png": mean_images(data.x_train, data.y_train),
        "pixel-histogram.png": pixel_histogram(data.x_train),
    }
    for name, fig in figures.items():
        print(save_figure(fig, args.out / name))
    return 0
