"""Every preset builds the architecture its source describes and takes a training step."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from digitnet import MLP
from digitnet.cli import build_parser
from digitnet.cli.common import make_augment
from digitnet.cli.train_settings import DEFAULT_LR, settings
from digitnet.errors import DigitnetError
from digitnet.optimizers import make_optimizer
from digitnet.presets import FULL_BATCH, PRESETS, get_preset
from digitnet.training import fit

ARCHITECTURES = {
    "seed-64-28": [784, 64, 28, 10], "nielsen-sigmoid": [784, 30, 10], "full-batch-10": [784, 10, 10],
    "full-batch-1500": [784, 10, 10], "cross-entropy-94": [784, 64, 10], "lecun-300-100": [784, 300, 100, 10],
    "lecun-1000": [784, 1000, 10], "hinton-500-300": [784, 500, 300, 10], "simard-800": [784, 800, 10],
    "simard-800-elastic": [784, 800, 10], "dropout-3x1024-maxnorm": [784, 1024, 1024, 1024, 10],
    "ciresan-6layer": [784, 2500, 2000, 1500, 1000, 500, 10], "cpu-10-minutes": [784, 800, 800, 10],
}


def preset_settings(*argv):
    return settings(build_parser().parse_args(["train", *argv]))


def test_all_thirteen_presets_exist():
    assert set(PRESETS) == set(ARCHITECTURES)


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_builds_its_architecture_and_trains_a_step(name):
    s = preset_settings("--preset", name)
    model = MLP(sizes=(784, *s["hidden"], 10), activation=s["activation"], loss=s["loss"], init=s["init"],
                dropout=s["dropout"], input_dropout=s["input_dropout"], random_state=0)
    assert model.sizes == ARCHITECTURES[name]
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 784), dtype=np.float32), rng.integers(0, 10, 32)
    before = model.params.copy()
    history = fit(model, x, y, optimizer=make_optimizer(s["optimizer"], s["lr"]), l2=s["l2"], epochs=1,
                  batch_size=32, verbose=0, augment=make_augment(s["augment"], s), max_norm=s["max_norm"])
    assert np.isfinite(history["train_loss"][0]) and not np.array_equal(before, model.params)


def test_facts_of_the_tutorial_presets():
    nielsen = preset_settings("--preset", "nielsen-sigmoid")
    assert (nielsen["activation"], nielsen["loss"], nielsen["optimizer"], nielsen["lr"], nielsen["batch_size"],
            nielsen["init"]) == ("sigmoid", "mse", "sgd", 3.0, 10, "normal")
    for name, lr, iterations in [("full-batch-10", 0.10, 500), ("full-batch-1500", 0.15, 1500)]:
        s = preset_settings("--preset", name)
        assert (s["batch_size"], s["lr"], s["epochs"], s["init"]) == (FULL_BATCH, lr, iterations, None)
        assert MLP(sizes=(784, *s["hidden"], 10), activation=s["activation"], init=s["init"]).dense[0].init == "he"
        assert preset_settings("--preset", name, "--init", "uniform")["init"] == "uniform"   # the tutorials' init


def test_explicit_flags_override_the_preset():
    s = preset_settings("--preset", "simard-800", "--epochs", "2", "--lr", "0.5", "--hidden", "50")
    assert (s["epochs"], s["lr"], s["hidden"]) == (2, 0.5, [50])
    assert s["optimizer"] == get_preset("simard-800").settings["optimizer"]
    assert preset_settings("--preset", "lecun-300-100")["lr"] == 0.002                  # Adam's, as the preset says
    assert preset_settings("--preset", "lecun-300-100", "--optimizer", "sgd")["lr"] == DEFAULT_LR["sgd"]   # not Adam's


def test_unknown_preset():
    with pytest.raises(DigitnetError, match="unknown preset 'lenet': choose one of seed-64-28, "):
        get_preset("lenet")


def test_presets_command_lists_all_with_source_and_figure():
    out = subprocess.run([sys.executable, "-m", "digitnet", "presets", "--json"], capture_output=True,
                         text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["name"] for r in rows] == list(PRESETS)
    assert all(r["source"] and r["reported"] for r in rows)
    assert {r["name"]: r["architecture"] for r in rows} == {k: "-".join(map(str, v)) for k, v in ARCHITECTURES.items()}
    text = subprocess.run([sys.executable, "-m", "digitnet", "presets"], capture_output=True, text=True).stdout
    assert re.search(r"hinton-500-300\n.*\n  training: .*\n  source: .*\n  reported: 1.53% test error", text)


def test_facts_of_the_published_best_mlps():
    simard = preset_settings("--preset", "simard-800-elastic")
    assert (simard["augment"], simard["elastic_sigma"], simard["elastic_alpha"]) == ("elastic", 4.0, 34.0)
    dropout = preset_settings("--preset", "dropout-3x1024-maxnorm")
    assert (dropout["dropout"], dropout["input_dropout"], dropout["max_norm"], dropout["augment"]) == \
        (0.5, 0.2, 3.5, "none")
    ciresan = preset_settings("--preset", "ciresan-6layer")
    assert (ciresan["augment"], ciresan["rotate"], ciresan["shear"], ciresan["scale"], ciresan["elastic_sigma"],
            ciresan["elastic_alpha"]) == ("ciresan", 15.0, 15.0, 0.175, 6.0, 36.0)


@pytest.mark.parametrize("columns", [60, 100])
def test_train_help_never_breaks_a_preset_name_at_its_hyphens(columns):
    result = subprocess.run([sys.executable, "-m", "digitnet", "train", "--help"], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": str(columns)}, check=True)
    assert set(PRESETS) <= set(re.findall(r"[\w-]+", result.stdout))
