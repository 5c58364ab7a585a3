"""`digitnet explain`: one training step on a few real MNIST digits, tensor by tensor."""
import numpy as np

from ..data import load_mnist
from ..errors import DigitnetError
from ..explain import explain_step
from ..layers import ACTIVATIONS
from ..losses import LOSSES
from ..network import MLP
from ..optimizers import SGD
from .common import add_data_argument, layer_sizes, plural, seed

LOSS_WORDS = {"ce": "softmax cross-entropy", "mse": "quadratic cost on sigmoid outputs"}


def add_parser(sub):
    p = sub.add_parser("explain", help="print one training step, tensor by tensor, with docs/math.md's names",
                       description="Run one forward pass, one backward pass and one update of plain SGD on a "
                                   "few MNIST training images, and print every tensor the step makes: its "
                                   "name and formula as docs/math.md writes them, its shape and a few values.")
    add_data_argument(p)
    p.add_argument("--sizes", default="784,10,10", type=layer_sizes, metavar="SIZES",
                   help="layer sizes, 784 first and 10 last (default 784,10,10)")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu", help="hidden activation (default relu)")
    p.add_argument("--loss", choices=sorted(LOSSES), default="ce", help="ce (default) or mse")
    p.add_argument("--batch", type=int, default=4, metavar="N", help="images in the batch (default 4)")
    p.add_argument("--lr", type=float, default=0.1, metavar="RATE", help="SGD's learning rate (default 0.1)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the starting weights (default 0)")
    p.add_argument("--column", action="store_true",
                   help="the column convention of many tutorials: W1 (n1, 784) · A0 (784, m)")
    p.set_defaults(run=run)


def values(a, count=4):
    """A few of the tensor's numbers: the start of its first row, and its largest magnitude."""
    if a.ndim == 0:
        return f"{float(a):.4f}"
    first = a.reshape(-1) if a.ndim == 1 else a[0]
    shown = " ".join(f"{v:+.3f}" for v in first[:count]) + (" ..." if first.size > count else "")
    return f"[{shown}]  max |.| {np.abs(a).max():.3g}"


def run(args):
    sizes = args.sizes
    if sizes[0] != 784 or sizes[-1] != 10:
        raise DigitnetError(f"--sizes {','.join(map(str, sizes))}: explain reads MNIST digits, so the first "
                            f"size must be 784 and the last 10, e.g. 784,10,10")
    if not 1 <= args.batch <= 1000:
        raise DigitnetError(f"--batch {args.batch}: must be 1 to 1000 images")
    model = MLP(sizes=sizes, activation=args.activation, loss=args.loss, random_state=args.seed)
    if not np.isfinite(args.lr) or args.lr <= 0:
        raise DigitnetError(f"--lr {args.lr:g}: must be a positive number, e.g. 0.1")
    optimizer = SGD(args.lr)
    data = load_mnist(args.data, validation_size=0, progress=False)
    x, y = data.x_train[:args.batch], data.y_train[:args.batch]
    convention = ("column convention: one image per column, Z = W · A + b" if args.column
                  else "row convention: one image per row, z = x @ W + b")
    hidden = f" {args.activation}" if len(sizes) > 2 else ""                 # no hidden layer: no activation
    print(f"{'-'.join(map(str, sizes))}{hidden}, {LOSS_WORDS[args.loss]}; one step of SGD "
          f"(lr {args.lr:g}) on {plural(args.batch, 'MNIST training image')} "
          f"(labels {' '.join(map(str, y))})")
    print(f"{convention} (docs/math.md §1 and §11)")
    stage = None
    for t in explain_step(model, optimizer, x, y, column=args.column):
        if t.stage != stage:
            stage = t.stage
            print(f"\n{stage}")
        print(f"  {t.name:<6} {str(t.shape):<12} {t.formula:<48}  {values(t.value)}")
    after = model.loss.value(model.forward(x), y)
    print(f"\nthe loss on the same images after the update: {after:.4f}")
    return 0
