"""`digitnet gradcheck`: backpropagation against finite differences, on a small float64 network."""
import numpy as np

from ..errors import DigitnetError
from ..gradcheck import TOLERANCE, check_network, float64_network
from ..layers import ACTIVATIONS
from ..losses import LOSSES
from .common import layer_sizes, plural, seed


def add_parser(sub):
    p = sub.add_parser("gradcheck", help="check backpropagation against finite differences",
                       description="Compare the gradient that a training step computes (backpropagation) with "
                                   "centred finite differences of the loss, in float64, on a small network and "
                                   "a batch of random inputs. Prints the relative error of each parameter array; "
                                   "exits with status 1 if any is 1e-6 or more.")
    p.add_argument("--sizes", default="20,12,10", type=layer_sizes, metavar="SIZES",
                   help="layer sizes (default 20,12,10)")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu", help="hidden activation (default relu)")
    p.add_argument("--loss", choices=sorted(LOSSES), default="ce", help="ce (default) or mse")
    p.add_argument("--dropout", type=float, default=0.0, metavar="RATE",
                   help="dropout after each hidden layer (default 0)")
    p.add_argument("--l2", type=float, default=0.0, metavar="LAMBDA", help="L2 weight decay (default 0)")
    p.add_argument("--batch", type=int, default=8, metavar="N", help="random inputs in the batch (default 8)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the weights and inputs (default 0)")
    p.set_defaults(run=run)


MAX_L2 = 10           # above about 1000 the biases' finite differences drown in the penalty's rounding


def run(args):
    if not 1 <= args.batch <= 1000:
        raise DigitnetError(f"--batch {args.batch}: must be 1 to 1000")
    if not 0 <= args.dropout < 1:
        raise DigitnetError(f"--dropout {args.dropout:g}: must be at least 0 and below 1, e.g. 0.2")
    if not np.isfinite(args.l2) or args.l2 < 0:
        raise DigitnetError(f"--l2 {args.l2}: must be zero or a small positive number, e.g. 1e-4")
    if args.l2 > MAX_L2:
        raise DigitnetError(f"--l2 {args.l2:g}: too large to check: so large a penalty leaves too few of "
                            f"float64's digits for the loss's own changes; check with at most {MAX_L2} (training "
                            f"uses about 1e-4)")
    if sum(a * b for a, b in zip(args.sizes, args.sizes[1:])) > 50_000:
        raise DigitnetError(f"--sizes {','.join(map(str, args.sizes))}: too many weights for finite differences "
                            f"(two forward passes each); keep it under 50,000, e.g. 20,12,10")
    model = float64_network(args.sizes, args.activation, args.loss, args.dropout, args.seed)
    rng = np.random.default_rng(args.seed)
    x, y = rng.standard_normal((args.batch, args.sizes[0])), rng.integers(0, args.sizes[-1], args.batch)
    hidden = f" {args.activation}" if len(args.sizes) > 2 else ""               # no hidden layer: no activation
    print(f"{'-'.join(map(str, args.sizes))}{hidden}, loss {args.loss}, dropout {args.dropout:g}, "
          f"l2 {args.l2:g}: float64, {plural(args.batch, 'random input')}, centred differences "
          f"with eps 1e-6")
    checks = check_network(model, x, y, l2=args.l2)
    for check in checks:
        print(f"  {check.name:<4} {str(check.shape):<12} relative error {check.error:.2e}  "
              f"{'ok' if check.passed else 'WRONG'}")
    worst = max(checks, key=lambda c: c.error)
    if worst.passed:
        print(f"pass: backpropagation agrees with finite differences (largest relative error "
              f"{worst.error:.1e} < {TOLERANCE:g})")
        return 0
    wrong = ", ".join(c.name for c in checks if not c.passed)
    print(f"FAIL: the gradient of {wrong} disagrees with finite differences (relative error up to "
          f"{worst.error:.1e}, {TOLERANCE:g} allowed)")
    return 1
