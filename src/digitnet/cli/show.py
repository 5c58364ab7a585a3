"""`digitnet show`: test digits with the model's answers, in a window or a PNG file."""
import os
import sys

import numpy as np

from ..data import load_mnist
from ..errors import DigitnetError
from .common import (MODEL_HELP, add_augment_arguments, add_data_argument, check_augment_flags,
                     check_output_file, load_digit_model, make_augment, model_path, nonempty_path, seed)

DEFAULT_COUNT, MAX_COUNT = 25, 100
AUGMENT_COUNT, VARIANTS = 6, 7
DEFAULT_OUT = "digitnet-show.png"
NON_INTERACTIVE = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def add_parser(sub):
    p = sub.add_parser("show", help="draw test digits with the model's predictions",
                       description="Draw MNIST test digits with their true label, the model's prediction "
                                   "and its confidence, mistakes in red; or one digit beside its ten "
                                   "probabilities. Opens a window when a display is available and --out "
                                   f"is not given; otherwise writes a PNG file ({DEFAULT_OUT}).")
    p.add_argument("model", nargs="?", type=nonempty_path, metavar="MODEL",
                   help=MODEL_HELP)
    add_data_argument(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--index", type=int, metavar="I",
                       help="one test image (0 to 9999), large, beside the ten probabilities")
    which.add_argument("--count", type=int, metavar="N",
                       help=f"digits in the grid (default {DEFAULT_COUNT}, at most {MAX_COUNT})")
    p.add_argument("--wrong", action="store_true", help="only misclassified digits, in test-set order")
    p.add_argument("--out", type=nonempty_path, metavar="FILE.png",
                   help="write the figure to this PNG file instead of a window")
    add_augment_arguments(p, "instead of the model's answers, draw training digits (--count of them, default "
                          f"{AUGMENT_COUNT}) each beside {VARIANTS} augmented versions")
    p.add_argument("--seed", type=seed, help="with --augment: the random seed (default 0)")
    p.set_defaults(run=run)


def can_display():
    """True when matplotlib can open a window: a display (on Linux) and an interactive backend."""
    if sys.platform not in ("win32", "darwin") and not (os.environ.get("DISPLAY")
                                                        or os.environ.get("WAYLAND_DISPLAY")):
        return False
    import matplotlib.pyplot as plt
    return plt.get_backend().lower() not in NON_INTERACTIVE


def check_arguments(args):
    args.augment = None if args.augment == "none" else args.augment        # as if --augment were not given
    if args.augment and (args.model or args.index is not None or args.wrong):
        raise DigitnetError("--augment draws training digits, not a model's answers: use it without a model, "
                            "--index or --wrong")
    check_augment_flags(args, args.augment or "none")
    if args.seed is not None and not args.augment:
        raise DigitnetError(f"--seed {args.seed}: it chooses --augment's distortions; use it with --augment")
    if args.wrong and args.index is not None:
        raise DigitnetError("--wrong chooses the digits of a grid: use it with --count, not --index")
    if args.count is not None and not 1 <= args.count <= MAX_COUNT:
        raise DigitnetError(f"--count {args.count}: choose 1 to {MAX_COUNT} digits")
    if args.index is not None and args.index < 0:
        raise DigitnetError(f"--index {args.index}: test images are numbered from 0")
    if args.out:
        check_output_file(args.out, f"--out {args.out}", DEFAULT_OUT)
    if args.out and args.out.suffix.lower() != ".png":
        raise DigitnetError(f"--out {args.out}: show writes PNG images; name a .png file")


def figure(args, model, data):
    """The figure the arguments ask for."""
    from .. import plots
    x, y = data.x_test, data.y_test
    n = len(y)
    if args.index is not None:
        i = args.index
        if i >= n:
            raise DigitnetError(f"--index {i}: the test set has {n:,} images, numbered 0 to {n - 1}")
        proba = model.predict_proba(x[i:i + 1])[0]
        return plots.digit_probabilities(x[i], proba, y[i], model.predict(x[i:i + 1])[0], index=i)
    count = DEFAULT_COUNT if args.count is None else args.count
    if args.wrong:
        predicted = model.predict(x)
        wrong = np.flatnonzero(predicted != y)
        if not len(wrong):
            raise DigitnetError("this model classifies every test image correctly: no mistakes to show")
        idx = wrong[:count]
        title = f"the first {len(idx)} of {len(wrong):,} misclassified test digits"
    else:
        idx = np.arange(min(count, n))
        predicted = np.zeros(n, dtype=np.int64)
        predicted[idx] = model.predict(x[idx])
        right = int(np.count_nonzero(predicted[idx] == y[idx]))
        title = f"test digits {idx[0]}-{idx[-1]}: {right} of {len(idx)} right (mistakes in red)"
    proba = model.predict_proba(x[idx])
    confidence = proba[np.arange(len(idx)), predicted[idx]]
    return plots.digit_grid(x[idx], y[idx], predicted[idx], confidence, indices=idx, title=title)


def augmented(args):
    """The figure of --augment: the first --count training digits, each beside augmented versions."""
    from ..plots_data import augmented_samples
    augment = make_augment(args.augment, vars(args))                 # the strengths checked before reading
    data = load_mnist(args.data, validation_size=0)
    count = AUGMENT_COUNT if args.count is None else args.count
    return augmented_samples(data.x_train[:count], data.y_train[:count], augment,
                             np.random.default_rng(args.seed or 0), VARIANTS)


def run(args):
    check_arguments(args)
    if args.augment:
        fig = augmented(args)
    else:
        model = load_digit_model(model_path(args.model))
        data = load_mnist(args.data, validation_size=0)
        fig = figure(args, model, data)
    if args.out is None and can_display():
        import matplotlib.pyplot as plt
        plt.figure(fig)                  # give the figure a window
        plt.show()
        return 0
    from ..plots import save_figure
    print(save_figure(fig, args.out or DEFAULT_OUT))
    return 0
