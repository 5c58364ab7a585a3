"""`digitnet train`: train a network on MNIST, report test accuracy, save the model."""
import os
import signal
import time
from pathlib import Path

from ..budget import check_seconds, epochs_within
from ..checkpoint import NAME
from ..data import load_mnist
from ..errors import DigitnetError, TrainingDiverged
from ..init import DEFAULT_INIT, INITIALIZERS
from ..io import default_model_path, model_metadata, save_model, write_json
from ..layers import ACTIVATIONS
from ..losses import LOSSES
from ..metrics import classification_report, percent
from ..network import MLP
from ..optimizers import OPTIMIZERS, make_optimizer
from ..presets import PRESETS, get_preset
from ..interrupt import TrainingInterrupted
from ..schedules import SCHEDULES
from ..settings import check_settings
from ..training import fit
from .common import (add_augment_arguments, add_data_argument, add_device_argument, check_augment_flags,
                     check_output_file, check_writable, make_augment, nonempty_path, plural, seed, warn)
from .train_folder import beside, checkpoint_folder, claimed, resume_command, write_command
from .train_settings import DEFAULT_LR, DEFAULTS, resumed_settings, settings


def add_parser(sub):
    p = sub.add_parser("train", help="train a network on MNIST and save it",
                       description="Train a multilayer perceptron on MNIST, print per-epoch metrics, "
                                   "the test accuracy and the training time, and save the model.")
    add_data_argument(p)
    p.add_argument("--preset", metavar="NAME", help="start from a named configuration (`digitnet presets` "
                   f"lists them: {', '.join(PRESETS)}); flags given here override its values")
    _training_arguments(p)
    p.add_argument("--out", type=nonempty_path, metavar="MODEL.npz", help="where to save the model (default: the "
                   "location `evaluate` reads when no model is named; with --preset, NAME.npz beside it)")
    add_device_argument(p, "train")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    p.add_argument("--report", type=nonempty_path, metavar="DIR",
                   help="after saving, write an HTML report with figures "
                   "into DIR (as `digitnet report` does)")
    p.add_argument("--checkpoint-dir", type=nonempty_path, metavar="DIR",
                   help="keep a checkpoint in DIR, written after every epoch "
                   "(default: MODEL.checkpoint beside --out, removed once the model is saved)")
    p.add_argument("--checkpoint-every", type=float, metavar="MINUTES", help="also write it every MINUTES minutes")
    p.add_argument("--resume", type=nonempty_path, metavar="DIR",
                   help="go on from the checkpoint in DIR, with the settings it was "
                   "made with (after Ctrl-C, a crash or a kill)")
    p.set_defaults(run=run)


def _training_arguments(p):
    """The network's and the training's settings: each defaults to DEFAULTS (or a preset's value)."""
    p.add_argument("--hidden", metavar="SIZES",
                   help=f"hidden layer sizes, comma-separated (default {DEFAULTS['hidden']})")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS),
                   help=f"hidden activation (default {DEFAULTS['activation']})")
    p.add_argument("--loss", choices=sorted(LOSSES), help="ce: softmax cross-entropy (default); "
                                                         "mse: quadratic cost on sigmoid outputs")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help=f"default {DEFAULTS['optimizer']}")
    p.add_argument("--lr", type=float, metavar="RATE", help="peak learning rate (default: " +
                   ", ".join(f"{name} {rate:g}" for name, rate in DEFAULT_LR.items()) + ")")
    p.add_argument("--schedule", choices=list(SCHEDULES), help="learning rate over training: cosine (default) "
                   "decays it smoothly to 0, linear straight to 0, step divides it by 10 halfway and again at "
                   "3/4, exponential by the same factor every epoch (toward 1%%), one-cycle warms up over the "
                   "first 30%% then anneals, constant keeps it")
    p.add_argument("--epochs", type=int, metavar="N",
                   help=f"passes over the training set (default {DEFAULTS['epochs']})")
    p.add_argument("--time-budget", type=float, metavar="SECONDS", help="instead of --epochs: time a few steps on "
                   "this machine first, then train as many epochs as fit in SECONDS (the count is printed: "
                   "--epochs with it repeats the run exactly)")
    p.add_argument("--batch-size", type=int, metavar="N", help=f"examples per step (default {DEFAULTS['batch_size']}); "
                   "the training set's size or more is full-batch gradient descent")
    p.add_argument("--l2", type=float, metavar="LAMBDA", help=f"L2 weight decay (default {DEFAULTS['l2']:g})")
    p.add_argument("--dropout", type=float, metavar="RATE",
                   help=f"dropout after each hidden layer (default {DEFAULTS['dropout']:g})")
    p.add_argument("--input-dropout", type=float, metavar="RATE",
                   help=f"dropout of input pixels (default {DEFAULTS['input_dropout']:g})")
    p.add_argument("--max-norm", type=float, metavar="C", help="cap each unit's incoming weight vector at "
                   "length C after every step (default: none)")
    p.add_argument("--patience", type=int, metavar="EPOCHS", help="early stopping: stop when the validation "
                   "loss has not improved for EPOCHS epochs, and keep the best epoch's weights (default: off)")
    add_augment_arguments(p, "transform every training batch on the fly (default none)")
    p.add_argument("--init", choices=sorted(INITIALIZERS), help="weight init (default: " +
                   ", ".join(f"{init} for {activation}" for activation, init in DEFAULT_INIT.items()) + ")")
    p.add_argument("--seed", type=seed, help=f"random seed: same seed, same weights (default {DEFAULTS['seed']})")
    p.add_argument("--validation-size", type=int, metavar="N",
                   help=f"training images held out for validation (default {DEFAULTS['validation_size']})")


def output_path(args, s, command=None):
    """Where the model goes: --out, else the default model file, else (with --preset) a file named
    after the preset beside it, so that a preset run never replaces the default model unasked."""
    if args.out or command:
        out = Path(args.out or command["out"])
    elif s["preset"]:
        out = default_model_path().with_name(f"{s['preset']}.npz")
    else:
        out = default_model_path()
    what = f"--out {out}" if args.out or command else f"the default model file {out} (choose another with --out)"
    check_output_file(out, what, "model.npz")
    check_output_file(beside(out, ".history.json"), f"{what}: its history {beside(out, '.history.json')}")
    if args.report:
        check_writable(args.report, f"--report {args.report}")
        check_output_file(Path(args.report) / "index.html", f"--report {args.report}: its index.html")
    return out


def print_header(s, model, data, device, augment, plan=None):
    if s["preset"]:
        preset = get_preset(s["preset"])
        print(f"preset: {preset.name}: {preset.summary} ({preset.source}; reported: {preset.reported})")
    print(f"data: {len(data.x_train):,} training, {len(data.x_val):,} validation, "
          f"{len(data.x_test):,} test images")
    print(f"model: {'-'.join(map(str, model.sizes))} {s['activation']}, loss {s['loss']}, "
          f"{model.n_parameters:,} parameters, on the {device.upper()}")
    extras = [f"input dropout {s['input_dropout']:g}" if s["input_dropout"] else None,
              f"max-norm {s['max_norm']:g}" if s["max_norm"] else None,
              f"patience {s['patience']}" if s["patience"] else None]
    n = len(data.x_train)
    batch = f"batch {s['batch_size']}" if s["batch_size"] < n else f"full batch of {n:,}"
    print(f"training: {s['optimizer']} lr {s['lr']:g} ({s['schedule']}), {batch}, "
          f"{plural(s['epochs'], 'epoch')}, l2 {s['l2']:g}, dropout {s['dropout']:g}, "
          + "".join(f"{e}, " for e in extras if e) + f"seed {s['seed']}", flush=True)
    if augment.kind != "none":
        print("augmentation: " + ", ".join(f"{k} {v:g}" if k != "kind" else v for k, v in augment.settings().items()))
    if plan:
        print(f"{plan.describe(s['time_budget'])}; --epochs {plan.epochs} repeats this run exactly", flush=True)


def report_test_metrics(model, data):
    """Print and return the trained model's figures: train and test accuracy, hardest digits."""
    report = classification_report(data.y_test, model.predict(data.x_test))
    train_accuracy = model.score(data.x_train, data.y_train)     # after training, without dropout
    print(f"train accuracy: {percent(train_accuracy)}")
    print(f"test accuracy: {percent(report['accuracy'])} ({report['correct']:,}/{report['n']:,})")
    present = [k for k, row in enumerate(report["confusion_matrix"]) if sum(row)]     # digits the test set has
    hardest = sorted(present, key=lambda k: report["recall"][k])[:3]
    print("hardest digits (test recall): " + ", ".join(f"{k} {percent(report['recall'][k])}" for k in hardest))
    return {"test_accuracy": report["accuracy"], "test_n": report["n"], "train_accuracy": train_accuracy,
            "val_accuracy": model.score(data.x_val, data.y_val) if len(data.x_val) else None}   # kept weights


def checked_setup(args, s, checkpoints):
    """The network and the augmentation, once every setting is checked, before the data is read: the
    network, the schedule, the rate, the device."""
    model = MLP(sizes=(784, *s["hidden"], 10), activation=s["activation"], loss=s["loss"], init=s["init"],
                dropout=s["dropout"], input_dropout=s["input_dropout"], random_state=s["seed"], device=args.device)
    check_settings(s["epochs"], s["batch_size"], s["l2"], s["schedule"], checkpoints, args.checkpoint_every,
                   s["max_norm"], s["patience"])
    check_augment_flags(args, s["augment"])
    if args.time_budget is not None:
        check_seconds(args.time_budget)
        if args.epochs is not None:
            raise DigitnetError("--time-budget chooses the number of epochs: give --epochs or --time-budget, "
                                "not both")
    if s["patience"] and not s["validation_size"]:
        raise DigitnetError(f"--patience {s['patience']} watches the validation loss: keep --validation-size above 0")
    make_optimizer(s["optimizer"], s["lr"])
    return model, make_augment(s["augment"], s)


def run(args):
    s, command = resumed_settings(args) if args.resume else (settings(args), None)
    out = output_path(args, s, command)
    checkpoints = checkpoint_folder(args, out)
    with claimed(checkpoints, args.resume) as folder:        # a second run given this folder stops here
        return train_in(args, s, command, out, checkpoints, folder)


def train_in(args, s, command, out, checkpoints, folder):
    """`run`, once the checkpoint folder is this run's: set up, train, save; the exit status."""
    model, augment = checked_setup(args, s, checkpoints)
    data_dir = args.data if args.data or not command else command["data"]
    data = load_mnist(data_dir, validation_size=s["validation_size"], seed=s["seed"], progress=not args.quiet)
    temporary = command["temporary"] if command else not args.checkpoint_dir
    try:
        plan = budget_plan(args, s, model, data, augment)
    except TrainingInterrupted as e:
        warn(f"digitnet: stopped by {signal.Signals(e.signal).name} while timing steps for --time-budget; "
             f"nothing was trained")
        return e.exit_status
    if not args.resume:
        write_command(checkpoints, s, out, data_dir, temporary)
    print_header(s, model, data, args.device, augment, plan)
    if args.resume:
        print(f"resuming from the checkpoint in {checkpoints}", flush=True)
    start = time.perf_counter()
    try:
        history = train_network(args, s, model, data, augment, checkpoints)
    except TrainingInterrupted as e:
        warn(f"digitnet: {e}; the checkpoint in {checkpoints} keeps it: resume with `{resume_command(checkpoints)}`")
        return e.exit_status
    except BrokenPipeError:                                   # `| head`: stopped, as a Unix tool is, and said so
        if (checkpoints / NAME).exists():
            warn(f"digitnet: training stopped: its output's reader went away; the checkpoint in {checkpoints} "
                 f"keeps it: resume with `{resume_command(checkpoints)}`")
        raise
    except TrainingDiverged:
        folder.done = temporary                               # nothing in it is worth resuming
        raise
    seconds = time.perf_counter() - start
    try:
        training, metrics = evaluate_and_save(args, s, model, data, history, (seconds, plan), out, data_dir)
    except KeyboardInterrupt as e:                            # Ctrl-C or SIGTERM before the model file is whole
        warn(f"digitnet: stopped before the model was saved; the checkpoint in {checkpoints} keeps the trained "
             f"network: resume with `{resume_command(checkpoints)}`")
        return getattr(e, "exit_status", 130)
    except (DigitnetError, OSError) as e:                     # a full disk, say: the training is not lost
        problem = e if isinstance(e, DigitnetError) else f"{e.strerror or e}: {e.filename}"
        raise DigitnetError(f"{problem}; the checkpoint in {checkpoints} keeps the trained network: once that is "
                            f"put right, `{resume_command(checkpoints)}`") from None
    folder.done = temporary                                   # the default checkpoint was only a safety net
    if args.report:
        from ..report import write_report
        model.to("cpu")                                       # the figures are drawn from NumPy arrays
        meta = model_metadata(model, training=training, metrics=metrics, history=history)  # as saved
        print(f"report: {write_report(model, meta, data, args.report, source=out)}")
    return 0


def train_network(args, s, model, data, augment, checkpoints):
    """`fit` with the settings `s`, a checkpoint in `checkpoints` (resumed from with --resume); the history."""
    return fit(model, data.x_train, data.y_train, x_val=data.x_val, y_val=data.y_val, optimizer=s["optimizer"],
               learning_rate=s["lr"], epochs=s["epochs"], batch_size=s["batch_size"], l2=s["l2"],
               schedule=s["schedule"], random_state=s["seed"], verbose=0 if args.quiet else "auto",
               checkpoint_dir=checkpoints, checkpoint_every=args.checkpoint_every,
               resume=checkpoints if args.resume else None, augment=augment, max_norm=s["max_norm"],
               patience=s["patience"])


def evaluate_and_save(args, s, model, data, history, timing, out, data_dir):
    """Print the trained model's figures and training time, save it with them; (training, metrics)."""
    seconds, plan = timing
    metrics = report_test_metrics(model, data)
    total = max(seconds, sum(history["seconds"])) if args.resume else seconds     # and the epochs before the stop
    print(training_time(seconds, total, plan, s["time_budget"]))
    training = {**s, "init": model.dense[0].init, "data": os.path.abspath(data_dir) if data_dir else "download cache",
                "seconds": total, "device": args.device}
    save_results(model, out, training, metrics, history)
    return training, metrics


def training_time(seconds, total, plan, budget):
    """The line of this run's training time; with a resumed run's `total` (its epochs before the stop
    included), and how a time budget's `plan` spent it."""
    line = f"training time: {seconds:.1f} s"
    if total > seconds:
        line += f" here, {total:.1f} s in all with the run it resumed"
    return line + (f" ({plan.outcome(budget, seconds)})" if plan else "")


def save_results(model, out, training, metrics, history):
    """The model file, with what training measured, and its history beside it."""
    save_model(model, out, training=training, metrics=metrics, history=history)
    history_path = beside(out, ".history.json")
    write_json(history_path, history)
    print(f"saved model to {out} (history: {history_path})")


def budget_plan(args, s, model, data, augment):
    """With --time-budget: the budget.Plan timed on this machine, its epoch count put in s["epochs"];
    otherwise None."""
    if args.time_budget is None:
        return None
    plan = epochs_within(args.time_budget, model, data.x_train, data.y_train, x_val=data.x_val, y_val=data.y_val,
                         optimizer=s["optimizer"], learning_rate=s["lr"], batch_size=s["batch_size"], l2=s["l2"],
                         schedule=s["schedule"], random_state=s["seed"], augment=augment, max_norm=s["max_norm"],
                         checkpoints=True)
    s["epochs"] = plan.epochs
    return plan
