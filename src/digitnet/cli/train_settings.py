"""Where `digitnet train`'s settings come from: the flags, over a preset's values, over DEFAULTS; or,
with --resume, the command.json that the interrupted run left beside its checkpoint."""
import json
from pathlib import Path

from ..augment import USED
from ..checkpoint import NAME
from ..errors import DigitnetError
from ..presets import get_preset
from .common import AUGMENT

COMMAND = "command.json"          # beside the checkpoint: the settings, to resume with
# Batches of 512 for 8 epochs: the quickest setting measured to reach 98% (benchmarks/README.md).
# The rates go with them: Adam's and the SGD family's, each tuned for batch 512 and 8 epochs.
DEFAULT_LR = {"adam": 6e-3, "sgd": 0.5, "momentum": 0.2, "nesterov": 0.2}
DEFAULTS = dict(hidden="256,128", activation="relu", loss="ce", optimizer="adam", epochs=8,
                schedule="cosine", batch_size=512, l2=0.0, dropout=0.0, seed=0, validation_size=5000,
                input_dropout=0.0, max_norm=None, patience=None, augment="none", shift=2, rotate=15.0, shear=15.0,
                scale=0.15, elastic_sigma=6.0, elastic_alpha=36.0)


def hidden_sizes(text):
    """'256,128' -> [256, 128]; '' -> [] (no hidden layer: softmax regression)."""
    try:
        sizes = [int(s) for s in text.split(",")] if text.strip() else []
    except ValueError:
        raise DigitnetError(f"--hidden {text!r}: expected layer sizes separated by commas, e.g. 256,128") from None
    if any(s < 1 for s in sizes):
        raise DigitnetError(f"--hidden {text!r}: every layer needs at least 1 unit")
    return sizes


def settings(args):
    """The training settings: flags given on the command line, over the preset's, over DEFAULTS."""
    preset = get_preset(args.preset).settings if args.preset is not None else {}
    base = {**DEFAULTS, **preset}
    s = {key: getattr(args, key) if getattr(args, key) is not None else base[key] for key in DEFAULTS}
    s["hidden"] = hidden_sizes(s["hidden"])
    same_optimizer = s["optimizer"] == preset.get("optimizer", DEFAULTS["optimizer"])   # a preset's rate: its own
    s["lr"] = args.lr if args.lr is not None else preset["lr"] if "lr" in preset and same_optimizer \
        else DEFAULT_LR[s["optimizer"]]
    s["init"] = args.init if args.init is not None else preset.get("init")
    s["preset"] = args.preset
    s["time_budget"] = args.time_budget
    return s


def resumed_settings(args):
    """(settings, command) of the run whose checkpoint --resume names, from DIR/command.json; a flag
    given now must agree with it."""
    if Path(args.resume).is_file():
        raise DigitnetError(f"--resume {args.resume} is a file: name the checkpoint folder (MODEL.checkpoint) that "
                            f"an interrupted `digitnet train` leaves")
    path = Path(args.resume) / COMMAND
    try:
        command = json.loads(path.read_text(encoding="utf-8"))
        s = {**DEFAULTS, **command["settings"]}             # a setting added since: its default
        if not (isinstance(command["out"], str) and isinstance(command["data"], (str, type(None)))
                and isinstance(command["temporary"], bool)):
            raise TypeError("out, data or temporary")
        s["hidden"] = hidden_sizes(s["hidden"]) if isinstance(s["hidden"], str) else s["hidden"]
    except FileNotFoundError:
        raise DigitnetError(f"--resume {args.resume}: no checkpoint of `digitnet train` there ({COMMAND} is "
                            f"missing)") from None
    except (OSError, ValueError, KeyError, TypeError, DigitnetError):
        raise DigitnetError(f"{path}: damaged; start afresh without --resume") from None
    if args.time_budget is not None:
        raise DigitnetError(f"--time-budget {args.time_budget:g} contradicts the checkpoint in {args.resume}, which "
                            f"goes on to epoch {s['epochs']}: resume without it")
    for key in (*DEFAULTS, "lr", "init", "preset"):
        given = getattr(args, key, None)
        given = hidden_sizes(given) if key == "hidden" and given is not None else given
        if given is not None and given != s.get(key):
            flag = "--" + key.replace("_", "-")
            made = ",".join(map(str, s.get(key))) if key == "hidden" else s.get(key)
            made = "without it" if made is None else f"with {made}"
            if key in AUGMENT and AUGMENT[key] not in USED[s["augment"]]:        # a strength the run did not use
                made = f"with --augment {s['augment']}, which has no {flag}"
            raise DigitnetError(f"{flag} {getattr(args, key)} contradicts the checkpoint in {args.resume} (made "
                                f"{made}): resume without it, or start afresh without --resume")
    if not (Path(args.resume) / NAME).is_file():
        raise DigitnetError(f"--resume {args.resume}: the run stopped before its first checkpoint ({NAME} is "
                            f"missing); start afresh without --resume")
    return s, command
