"""One training run per checkpoint folder: checkpoint.claim, as fit and `digitnet train` use it."""
import subprocess
import sys
import threading

import numpy as np
import pytest

from digitnet import MLP, fit
from digitnet.checkpoint import LOCK, CheckpointError, claim
from test_cli import assert_one_line_error, digitnet

BUSY = r"another training run is using this checkpoint folder; wait for it to end, or give this run a folder"


def claim_elsewhere(folder):
    """(exception or None) of claiming `folder` from another thread of this process."""
    outcome = []

    def attempt():
        try:
            with claim(folder):
                outcome.append(None)
        except CheckpointError as e:
            outcome.append(e)
    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    return outcome[0]


def test_claims_of_one_folder_nest_in_one_thread_and_exclude_every_other(tmp_path):
    folder = tmp_path / "c"
    with claim(folder):
        assert (folder / LOCK).is_file()
        with claim(folder):                                 # the command line claims it, then fit does
            x = np.random.default_rng(0).random((64, 4), dtype=np.float32)
            fit(MLP(sizes=(4, 8, 3)), x, np.arange(64) % 3, epochs=1, verbose=0, checkpoint_dir=folder)
        assert str(claim_elsewhere(folder)).startswith(f"{folder}: another training run")
    assert claim_elsewhere(folder) is None                  # let go


def test_a_killed_run_lets_go_of_its_folder(tmp_path):
    folder = tmp_path / "c"
    holder = subprocess.Popen([sys.executable, "-c", "import sys\nfrom digitnet.checkpoint import claim\n"
                               f"with claim({str(folder)!r}):\n    print('held', flush=True)\n    sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(CheckpointError, match=BUSY):
            with claim(folder):
                pass
    finally:
        holder.kill()                                       # SIGKILL: no chance to release anything
        holder.wait()
    with claim(folder):
        pass


def test_a_second_train_on_a_folder_in_use_stops_before_writing_into_it(mnist_dir, tmp_path):
    folder = tmp_path / "c"
    with claim(folder):
        result = digitnet("train", "--data", mnist_dir, "--hidden", 8, "--epochs", 1, "--out", tmp_path / "m.npz",
                          "--checkpoint-dir", folder, check=False)
        assert_one_line_error(result, f"{folder}: {BUSY}" + r" of its own$")
        assert sorted(p.name for p in folder.iterdir()) == [LOCK]
        assert not (tmp_path / "m.npz").exists()


def test_weights_gone_bad_between_epochs_are_dated_to_the_epoch_that_ended(tmp_path):
    from types import SimpleNamespace

    from digitnet import SGD
    from digitnet.checkpoint import Position, Saver
    from digitnet.errors import TrainingDiverged
    model = MLP(sizes=(4, 3))
    model.params[0] = np.nan
    saver = Saver(tmp_path, None, model, SGD(0.1), {}, SimpleNamespace(arrays=dict))
    with pytest.raises(TrainingDiverged, match=r"NaN or infinite by the end of epoch 2$"):
        saver.save(Position(epoch=3, batch=0))
    with pytest.raises(TrainingDiverged, match=r"NaN or infinite by epoch 3, batch 7$"):
        saver.save(Position(epoch=3, batch=7))


def test_an_ignored_hangup_stays_ignored():
    """`nohup digitnet train ...` must go on when the terminal closes: SIGHUP ignored is left so."""
    import signal

    from digitnet.interrupt import StopRequests
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with StopRequests():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)


def test_a_finished_runs_folder_goes_at_the_very_end_under_its_lock(tmp_path):
    """Not before the report is written: a second run must not claim the folder meanwhile, nor have
    its files taken by the first run's cleanup."""
    from digitnet.cli.train_folder import claimed
    folder = tmp_path / "m.checkpoint"
    with claimed(folder, resuming=False) as state:
        (folder / "checkpoint.npz").write_bytes(b"x")
        state.done = True
        assert (folder / LOCK).is_file() and str(claim_elsewhere(folder)).startswith(f"{folder}: another")
    assert not folder.exists()
