"""`digitnet info`: what a model file holds: its layers, how it was trained, what it scored."""
from ..augment import USED
from ..io import load_model
from ..metrics import percent
from .common import AUGMENT, MODEL_HELP, model_path, nonempty_path, plural


def add_parser(sub):
    p = sub.add_parser("info", help="show a model file's layers, training settings and test accuracy",
                       description="Print the layers of a model file (as Keras's summary does), the settings "
                                   "it was trained with and the figures `train` measured.")
    p.add_argument("model", nargs="?", type=nonempty_path, metavar="MODEL",
                   help=MODEL_HELP)
    p.set_defaults(run=run)


def epochs(t):
    """'80 epochs', or with a time budget '177 epochs (as many as fit in 600 s)'."""
    budget = f" (as many as fit in {t['time_budget']:g} s)" if "time_budget" in t else ""
    return plural(t["epochs"], "epoch") + budget


def augmentation(t):
    """'augment elastic (sigma 6, alpha 36)': the kind and the strengths it uses; None for none."""
    if t.get("augment") not in USED or t["augment"] == "none":
        return None
    flag = {param: key for key, param in AUGMENT.items()}                  # sigma -> elastic_sigma
    strengths = [f"{param} {t[flag[param]]:g}" for param in USED[t["augment"]]
                 if isinstance(t.get(flag[param]), (int, float))]
    return f"augment {t['augment']} ({', '.join(strengths)})"


def describe_training(training):
    """The training settings in one line, as `train` printed them; the keys missing are left out."""
    t = {key: value for key, value in training.items() if value is not None}      # null: not recorded
    rate = f" lr {t['lr']:g}" if "lr" in t else ""
    parts = [f"{t['optimizer']}{rate} ({t.get('schedule', 'constant')})" if "optimizer" in t else None,
             f"batch {t['batch_size']}" if "batch_size" in t else None,
             epochs(t) if "epochs" in t else None,
             f"l2 {t['l2']:g}" if "l2" in t else None, f"dropout {t['dropout']:g}" if "dropout" in t else None,
             f"input dropout {t['input_dropout']:g}" if t.get("input_dropout") else None,
             f"max-norm {t['max_norm']:g}" if t.get("max_norm") else None,
             f"patience {t['patience']}" if t.get("patience") else None, augmentation(t),
             f"seed {t['seed']}" if "seed" in t else None, f"on the {t['device']}" if "device" in t else None,
             f"{t['seconds']:.1f} s" if "seconds" in t else None,
             f"preset {t['preset']}" if t.get("preset") else None]
    return ", ".join(p for p in parts if p)


def run(args):
    path = model_path(args.model)
    model = load_model(path)
    print(f"file: {path}")
    model.summary()
    meta = model.metadata
    if meta.get("training"):
        print(f"trained: {describe_training(meta['training'])}")
        if meta["training"].get("data"):
            print(f"data: {meta['training']['data']}")
    metrics = meta.get("metrics") or {}
    figures = [f"{name.replace('_', ' ')} {percent(metrics[key])}"
               for key, name in (("test_accuracy", "test accuracy"), ("train_accuracy", "train accuracy"),
                                 ("val_accuracy", "validation accuracy")) if metrics.get(key) is not None]
    if figures:
        print("measured: " + ", ".join(figures) + (f" (test set of {metrics['test_n']:,})"
                                                     if metrics.get("test_n") is not None else ""))
    history = meta.get("history") or {}
    if history.get("train_loss"):
        losses, planned = history["train_loss"], (meta.get("training") or {}).get("epochs")
        early = " (early stopping ended it)" if isinstance(planned, int) and len(losses) < planned else ""
        print(f"history: {plural(len(losses), 'epoch')}{early}, training loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    if not any(meta.get(key) for key in ("training", "metrics", "history")):
        print("(saved without training settings or figures)")
    return 0
