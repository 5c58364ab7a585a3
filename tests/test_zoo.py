"""The bad-input zoo: damaged and hostile files and arguments, each through the real command line.

Every case must end with one line on stderr that names the problem, exit status 2, no file that
existed before changed, within a time limit, and without taking memory that the input's real
size does not justify (the peak resident memory of the process is measured).
(HTTP bodies have their own refusals: test_serve.py.)
"""
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from test_io import edit_meta
from zoo_inputs import (SEVEN, before_first_checkpoint, big_png, checkpoint_folder, csv_dir, fifo, folder,
                        forged_npz, gz, idx, image, inside_a_file, mnist_dir_with, model_file, object_npz,
                        without_data)

PEAK_MB = 400           # python, NumPy, matplotlib's import and the checks: ~150 MB; MNIST itself is not loaded
RUN = """import re, sys
from digitnet.cli import main
try:
    code = main(sys.argv[2:])
finally:                               # the peak resident memory of this process (getrusage's counts the parent's)
    with open("/proc/self/status") as status:
        open(sys.argv[1], "w").write(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1))
raise SystemExit(code)"""


def train(folder, *more):
    return ["train", "--data", folder, "--epochs", 1, *more]


T = "train-images-idx3-ubyte.gz"
L = "train-labels-idx1-ubyte.gz"
ZOO = {
    # IDX files
    "idx empty": (lambda t, m: train(mnist_dir_with(t, m, T, b"")), r"too short for an IDX header"),
    "idx truncated gzip": (lambda t, m: train(mnist_dir_with(t, m, L, (m / L).read_bytes()[:5000])),
                           r"gzip data is truncated or corrupt"),
    "idx wrong magic": (lambda t, m: train(mnist_dir_with(t, m, T, gz(idx((60000, 28, 28), magic=b"\x12\x34")))),
                        r"wrong magic number"),
    "idx huge dimensions": (lambda t, m: train(mnist_dir_with(t, m, T, gz(idx((4_000_000_000, 28, 28), b"")))),
                            r"declares .* bytes, more than any MNIST-like file"),
    "idx absurd dimension count": (lambda t, m: train(mnist_dir_with(t, m, T, gz(b"\x00\x00\x08\xff" + bytes(8)))),
                                   r"truncated: the header needs 1024 bytes for 255 dimensions"),
    "idx zero dimensions": (lambda t, m: train(mnist_dir_with(t, m, T, gz(b"\x00\x00\x08\x00"))),
                            r"declares 0 dimensions"),
    "idx float data": (lambda t, m: train(mnist_dir_with(t, m, T, gz(idx((10, 28, 28), dtype=0x0D)))),
                       r"IDX data type 0x0d \(float\) is not supported"),
    "idx gzip bomb": (lambda t, m: train(mnist_dir_with(t, m, T, gz(idx((900_000, 28, 28), bytes(705_600_000))))),
                      r"images do not compress 100-fold"),
    "idx wrong image size": (lambda t, m: train(mnist_dir_with(t, m, T, gz(idx((60000, 28, 27))))),
                             r"expected images of shape \(n, 28, 28\)"),
    "idx too few labels": (lambda t, m: train(mnist_dir_with(t, m, L, gz(idx((59990,))))),
                           r"59990 labels but 60000 images"),
    "idx label 200": (lambda t, m: train(mnist_dir_with(t, m, L, gz(idx((60000,), bytes([200]) * 60000)))),
                      r"label 200 at index 0 is not a digit 0-9"),
    "idx trailing bytes": (lambda t, m: train(mnist_dir_with(t, m, L, gz(idx((60000,)) + b"extra"))),
                           r"5 unexpected trailing bytes"),
    "idx a folder": (lambda t, m: train(mnist_dir_with(t, m, T, "folder")), r"train-images-idx3-ubyte.gz"),
    # CSV files
    "csv not utf-8": (lambda t, m: train(csv_dir(t, train=b"label,p0\n\xff\xfe\x00garbage\n")), r"mnist_train.csv"),
    "csv empty": (lambda t, m: train(csv_dir(t, train=b"")), r"mnist_train.csv: empty file"),
    "csv short row": (lambda t, m: train(csv_dir(t, train=b"7,0,0,0\n")), r"4 columns, expected 785"),
    "csv word for a pixel": (lambda t, m: train(csv_dir(t, train=b"7," + b"zero," * 783 + b"0\n")),
                             r"'zero' is not a number"),
    "csv pixel 300": (lambda t, m: train(csv_dir(t, train=b"7," + b"300," * 783 + b"0\n")),
                      r"pixel value 300 is outside 0-255"),
    "csv label 12": (lambda t, m: train(csv_dir(t, train=b"12," + b"0," * 783 + b"0\n")), r"label 12 is not a digit"),
    # images for predict
    "image 100 megapixels": (lambda t, m: ["predict", model_file(t), big_png(t)], r"megapixel limit"),
    "image that is text": (lambda t, m: ["predict", model_file(t), image(t, "a.png", b"hello")], r"a.png"),
    "image truncated": (lambda t, m: ["predict", model_file(t), image(t, "cut.png", SEVEN.read_bytes()[:300])],
                        r"cut.png"),
    "image empty": (lambda t, m: ["predict", model_file(t), image(t, "empty.jpg", b"")], r"empty.jpg"),
    "image blank": (lambda t, m: ["predict", model_file(t), image(t, "blank.png", Image.new("L", (64, 64), 255))],
                    r"blank.png: .*digit"),
    "image folder with none": (lambda t, m: ["predict", model_file(t), folder(t / "none")],
                               r"no image files in this directory"),
    # model files
    "model with NaN": (lambda t, m: ["evaluate", model_file(t, lambda a: a["layers.0.b"].fill(np.nan)), "--data", m],
                       r"contains NaN or infinite values"),
    "model with inf": (lambda t, m: ["info", model_file(t, lambda a: a["layers.2.W"].fill(np.inf))],
                       r"contains NaN or infinite values"),
    "model missing array": (lambda t, m: ["info", model_file(t, lambda a: a.pop("layers.2.b"))],
                            r"missing array 'layers.2.b'"),
    "model extra array": (lambda t, m: ["info", model_file(t, lambda a: a.update(secret=np.ones(3)))],
                          r"unexpected array 'secret'"),
    "model pickle as npz": (lambda t, m: ["info", image(t, "evil.npz", b"\x80\x04\x95\x10" + bytes(40))],
                            r"a Python pickle, which digitnet never loads"),
    "model of objects": (lambda t, m: ["info", object_npz(t)], r"an .npz of Python objects"),
    "model forged size": (lambda t, m: ["info", forged_npz(t, b"(7840,8)")],
                          r"declares 250,880 bytes of data, more than the file holds"),
    "model forged header": (lambda t, m: ["info", forged_npz(t, b"(99999,8")],
                            r"the header of 'layers.0.W' is unreadable"),
    "model a folder": (lambda t, m: ["info", t], r"is a directory, not a model file"),
    "model empty": (lambda t, m: ["info", image(t, "empty.npz", b"")], r"it is empty"),
    "model loss a list": (lambda t, m: ["info", model_file(t, edit_meta(lambda d: d["model"].update(loss=["ce"])))],
                          r"unknown loss \['ce'\]"),
    "model rate as text": (lambda t, m: ["info", model_file(t, edit_meta(lambda d: d.update(training={"lr": "x"})))],
                           r"damaged metadata: training 'lr' is \"x\", not a number; retrain the model"),
    "model time budget as text": (lambda t, m: ["info", model_file(t, edit_meta(lambda d: d.update(
        training={"epochs": 3, "time_budget": "x"})))],
        r"damaged metadata: training 'time_budget' is \"x\", not a number; retrain the model"),
    "model metrics a list": (lambda t, m: ["report", model_file(t, edit_meta(lambda d: d.update(metrics=[1]))),
                                           "--data", m], r"damaged metadata: 'metrics' is not a JSON object"),
    "model history of text": (lambda t, m: ["info", model_file(t, edit_meta(lambda d: d.update(
        history={"train_loss": ["a"]})))], r"damaged metadata: history 'train_loss' is not a list of numbers"),
    "model of 20 outputs": (lambda t, m: ["evaluate", model_file(t, sizes=(784, 8, 20)), "--data", m],
                            r"a network of 784 inputs and 20 outputs; digitnet's commands need one of 784 pixels"),
    "model of 10 inputs": (lambda t, m: ["serve", "--model", model_file(t, sizes=(10, 8, 10))],
                           r"a network of 10 inputs and 10 outputs"),
    # arguments
    "argument not a number": (lambda t, m: ["train", "--epochs", "abc"], r"argument --epochs: invalid int value"),
    "argument negative hidden": (lambda t, m: ["train", "--hidden", "-5", "--data", m],
                                 r"every layer needs at least 1"),
    "argument lr nan": (lambda t, m: ["train", "--lr", "nan", "--data", m], r"learning rate nan must be a positive"),
    "argument out unwritable": (lambda t, m: ["train", "--data", m, "--out", inside_a_file(t)],
                                r"is a file, not a folder"),
    "argument out a folder": (lambda t, m: ["train", "--data", m, "--out", t], r"is a directory: name a file"),
    "argument report below a file": (lambda t, m: ["train", "--data", m, "--report", inside_a_file(t, "r")],
                                     r"--report .*r: .*file is a file, not a folder; choose a folder"),
    "show out unwritable": (lambda t, m: ["show", model_file(t), "--data", m, "--out", "/proc/digitnet/d.png"],
                            r"--out /proc/digitnet/d\.png: cannot write into /proc, to make /proc/digitnet \("),
    "show out below a file": (lambda t, m: ["show", model_file(t), "--data", m, "--out", inside_a_file(t, "a/d.png")],
                              r"--out .*d\.png: .*file is a file, not a folder"),
    "report out below a file": (lambda t, m: ["report", model_file(t), "--data", m, "--out", inside_a_file(t, "r")],
                                r"--out .*r: .*file is a file, not a folder"),
    "report index a folder": (lambda t, m: ["report", model_file(t), "--data", m, "--out",
                                            folder(folder(t / "r") / "index.html").parent],
                              r"--out .*r: its index\.html is a directory: move it, or choose another name"),
    "train report index a folder": (lambda t, m: ["train", "--data", m, "--epochs", "1", "--report",
                                                  folder(folder(t / "r") / "index.html").parent],
                                    r"--report .*r: its index\.html is a directory"),
    "explore out a file": (lambda t, m: ["explore", "--data", m, "--out", image(t, "taken", b"")],
                           r"--out .*taken: .*taken is a file, not a folder"),
    "predict show input unwritable": (lambda t, m: ["predict", model_file(t), SEVEN, "--show-input",
                                                    inside_a_file(t, "seen.png")],
                                      r"--show-input .*seen\.png: .*file is a file, not a folder"),
    "argument data missing": (lambda t, m: ["train", "--data", t / "nowhere"], r"nowhere"),
    "argument seed negative": (lambda t, m: ["train", "--data", m, "--seed", "-1"],
                               r"argument --seed: '-1': a seed is a whole number from 0"),
    "argument l2 too large for gradcheck": (lambda t, m: ["gradcheck", "--l2", "1e4"],
                                            r"--l2 10000: too large to check: .* check with at most 10"),
    "argument out name too long": (lambda t, m: ["train", "--data", m, "--out", t / ("b" * 250 + ".npz")],
                                   r"its history .*: its name is 263 bytes long, and file systems take at most 255: "
                                   r"choose a shorter one$"),
    "argument dropout 1 for gradcheck": (lambda t, m: ["gradcheck", "--dropout", "1"],
                                         r"^digitnet: error: --dropout 1: must be at least 0 and below 1"),
    "argument seed negative gradcheck": (lambda t, m: ["gradcheck", "--seed", "-2"], r"'-2': a seed is a whole number"),
    "argument seed not a number explain": (lambda t, m: ["explain", "--seed", "x"], r"'x': a seed is a whole number"),
    "argument resume a model file": (lambda t, m: ["train", "--data", m, "--resume", model_file(t)],
                                     r"--resume .*model\.npz is a file: name the checkpoint folder"),
    "argument out a pipe": (lambda t, m: ["train", "--data", m, "--out", fifo(t / "m.npz")],
                            r"--out .*m\.npz is not a regular file \(a device, pipe or socket\): name another file"),
    "argument out a device": (lambda t, m: ["train", "--data", m, "--out", "/dev/null"],
                              r"--out /dev/null is not a regular file"),
    "argument checkpoint dir the history": (lambda t, m: ["train", "--data", m, "--out", t / "m.npz",
                                                          "--checkpoint-dir", t / "m.history.json"],
                                            r"--checkpoint-dir .*m\.history\.json is where the model or its history "
                                            r"goes: choose another --checkpoint-dir"),
    "argument checkpoint dir the model": (lambda t, m: ["train", "--data", m, "--out", t / "m.npz",
                                                        "--checkpoint-dir", t / "m.npz"],
                                          r"--checkpoint-dir .*m\.npz is where the model or its history goes"),
    "argument checkpoint dir a file": (lambda t, m: ["train", "--data", m, "--checkpoint-dir",
                                                     image(t, "taken", b"")],
                                       r"--checkpoint-dir .*taken is a file, not a folder; name a folder"),
    "argument history a folder": (lambda t, m: ["train", "--data", m, "--out",
                                                folder(t / "h.history.json").with_name("h.npz")],
                                  r"--out .*h\.npz: its history .*h\.history\.json is a directory"),
    "argument out empty": (lambda t, m: ["train", "--data", m, "--out", ""], r"argument --out: an empty path"),
    "argument resume empty": (lambda t, m: ["train", "--data", m, "--resume", ""], r"argument --resume: an empty"),
    "argument model empty": (lambda t, m: ["evaluate", "", "--data", m], r"argument MODEL: an empty path"),
    "argument preset empty": (lambda t, m: ["train", "--data", m, "--preset", ""], r"unknown preset ''"),
    "argument hidden with a gap": (lambda t, m: ["train", "--data", m, "--hidden", "8,,8"],
                                   r"--hidden '8,,8': expected layer sizes separated by commas"),
    "argument resume elsewhere": (lambda t, m: ["train", "--resume", checkpoint_folder(t / "c"), "--checkpoint-dir",
                                                t / "d"],
                                  r"--checkpoint-dir .*d: a resumed run keeps its checkpoint in .*c; resume without"),
    "argument resume a strength the run did not use": (lambda t, m: ["train", "--resume", checkpoint_folder(t / "c"),
                                                                      "--rotate", "3"],
                                                        r"--rotate 3.0 contradicts the checkpoint in .*c \(made with "
                                                        r"--augment none, which has no --rotate\)"),
    "argument resume with a time budget": (lambda t, m: ["train", "--resume", checkpoint_folder(t / "c"),
                                                          "--time-budget", "60"],
                                            r"--time-budget 60 contradicts the checkpoint in .*c, which goes on to "
                                            r"epoch 8: resume without it"),
    "argument resume command out not text": (lambda t, m: ["train", "--resume", checkpoint_folder(t / "c", out=5)],
                                              r"command\.json: damaged; start afresh without --resume"),
    "argument resume before the first checkpoint": (lambda t, m: ["train", "--resume",
                                                                   before_first_checkpoint(t / "c")],
                                                     r"--resume .*c: the run stopped before its first checkpoint "
                                                     r"\(checkpoint\.npz is missing\); start afresh without --resume"),
    "argument resume command without data": (lambda t, m: ["train", "--resume", without_data(t / "c")],
                                              r"command\.json: damaged; start afresh without --resume"),
    "predict show input not png": (lambda t, m: ["predict", model_file(t), SEVEN, "--show-input", t / "seen.jpg"],
                                   r"--show-input .*seen\.jpg: it writes a PNG image; name a \.png file"),
    "download only without mirror": (lambda t, m: ["download", "--dir", t, "--only"],
                                      r"--only uses only the --mirror URLs, and none was given"),
    "download mirror not a url": (lambda t, m: ["download", "--dir", t, "--mirror", "notaurl"],
                                  r"--mirror notaurl: not an http\(s\) address"),
}


@pytest.mark.parametrize("case", sorted(ZOO))
def test_zoo(case, mnist_dir, tmp_path):
    make, message = ZOO[case]
    args = [str(a) for a in make(tmp_path, mnist_dir)]
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    rss = tmp_path.parent / f"{tmp_path.name}.rss"
    result = subprocess.run([sys.executable, "-c", RUN, str(rss), *args], capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL, cwd=tmp_path,
                            env={**os.environ, "DIGITNET_HOME": str(tmp_path.parent / f"{tmp_path.name}.home")})
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert re.search(message, lines[0]), lines[0]
    for path, content in before.items():                 # nothing that was there has changed
        assert path.read_bytes() == content, path
    assert int(rss.read_text()) / 1024 < PEAK_MB


def test_the_zoo_is_big_enough():
    assert len(ZOO) >= 30
