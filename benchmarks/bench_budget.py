"""How well a time budget's plan foresees the epochs: `epochs_within`, then `fit` with its count.

    python benchmarks/bench_budget.py --data ../shared/data/mnist [--budget 4] [--runs 3]

With the `digitnet train` defaults' network and settings (and a checkpoint after every epoch, as
the command writes), each run plans the budget on this machine, trains the planned epochs, and
prints the planned epoch against the measured one (the median time from one epoch's end to the
next, its checkpoint included) and the whole run against the budget.
"""
import argparse
import statistics
import tempfile
import time

from digitnet import MLP, fit, load_mnist
from digitnet.budget import epochs_within
from digitnet.cli.train_settings import DEFAULT_LR, DEFAULTS, hidden_sizes


def one_run(data, budget):
    """(plan, the measured epoch's seconds, the whole run's seconds: timing and training)."""
    model = MLP(sizes=(784, *hidden_sizes(DEFAULTS["hidden"]), 10), random_state=DEFAULTS["seed"])
    settings = dict(x_val=data.x_val, y_val=data.y_val, optimizer=DEFAULTS["optimizer"],
                    learning_rate=DEFAULT_LR[DEFAULTS["optimizer"]], batch_size=DEFAULTS["batch_size"],
                    schedule=DEFAULTS["schedule"], random_state=DEFAULTS["seed"])
    plan = epochs_within(budget, model, data.x_train, data.y_train, checkpoints=True, **settings)
    ends = [time.perf_counter()]
    with tempfile.TemporaryDirectory() as folder:
        fit(model, data.x_train, data.y_train, epochs=plan.epochs, verbose=0, checkpoint_dir=folder,
            callbacks=[lambda record: ends.append(time.perf_counter())], **settings)
    gaps = [later - earlier for earlier, later in zip(ends, ends[1:])]
    return plan, statistics.median(gaps), ends[-1] - ends[0] + plan.probe_seconds


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="MNIST directory (default: the download cache)")
    p.add_argument("--budget", type=float, default=4.0, help="seconds (default 4)")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    data = load_mnist(args.data, validation_size=DEFAULTS["validation_size"], seed=DEFAULTS["seed"],
                      progress=False)
    for run in range(1, args.runs + 1):
        plan, epoch, total = one_run(data, args.budget)
        print(f"run {run}: planned {plan.epoch_seconds:.3f} s an epoch, so {plan.epochs} epochs; measured "
              f"{epoch:.3f} s an epoch ({100 * (epoch / plan.epoch_seconds - 1):+.0f}%); {total:.2f} s of the "
              f"{args.budget:g} s budget ({100 * (total / args.budget - 1):+.0f}%)", flush=True)


if __name__ == "__main__":
    main()
