"""`digitnet presets`: the named configurations, with their sources and published figures."""
import json

from ..presets import FULL_BATCH, PRESETS
from .common import AUGMENT


def add_parser(sub):
    p = sub.add_parser("presets", help="list the named configurations for `train --preset`",
                       description="List every preset: architecture, training setup, source and the "
                                   "figure the source reports. Run one with `digitnet train --preset NAME`.")
    p.add_argument("--json", action="store_true", help="one JSON object per preset, one per line")
    p.set_defaults(run=run)


def describe(settings):
    """'sgd lr 0.1, batch 64, 10 epochs' in words, from the preset's settings."""
    s = settings
    batch = "full batch" if s.get("batch_size") == FULL_BATCH else f"batch {s.get('batch_size', 128)}"
    steps = "iterations" if s.get("batch_size") == FULL_BATCH else "epochs"
    parts = [f"{s['optimizer']} lr {s['lr']:g}", batch, f"{s['epochs']} {steps}"]
    if s.get("schedule", "constant") != "constant":
        parts.append(f"{s['schedule']} schedule")
    if s.get("l2"):
        parts.append(f"l2 {s['l2']:g}")
    if s.get("dropout"):
        parts.append(f"dropout {s['dropout']:g}")
    if s.get("input_dropout"):
        parts.append(f"input dropout {s['input_dropout']:g}")
    if s.get("max_norm"):
        parts.append(f"max-norm {s['max_norm']:g}")
    if s.get("init"):
        parts.append(f"init {s['init']}")
    if s.get("augment", "none") != "none":
        strengths = [f"{flag.replace('elastic_', '')} {s[flag]:g}" for flag in AUGMENT if flag in s]
        parts.append(f"{s['augment']} augmentation" + (f" ({', '.join(strengths)})" if strengths else ""))
    return ", ".join(parts)


def run(args):
    for p in PRESETS.values():
        arch = "784-" + s.replace(",", "-") + "-10" if (s := p.settings["hidden"]) else "784-10"
        if args.json:
            print(json.dumps({"name": p.name, "architecture": arch, "activation": p.settings["activation"],
                              "loss": p.settings["loss"], "training": describe(p.settings),
                              "source": p.source, "reported": p.reported, "settings": p.settings}))
            continue
        print(f"{p.name}\n  {p.summary}\n"
              f"  training: {describe(p.settings)}\n  source:   {p.source}\n  reported: {p.reported}\n")
    return 0
