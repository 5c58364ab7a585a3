"""`digitnet train`'s checkpoint folder: where it is, that no other run is in it, and that nothing
is left there that could not be resumed.

The folder holds checkpoint.npz (checkpoint.py), command.json (train_settings.py: the settings, to
resume with) and the lock of the run that uses it (checkpoint.claim)."""
import contextlib
import os
import shlex
from pathlib import Path

from ..checkpoint import LOCK, NAME, claim, load
from ..errors import DigitnetError
from ..io import write_json
from .common import check_name_length, check_writable
from .train_settings import COMMAND


def beside(out, suffix):
    """The path of a file that goes with the model `out`: m.npz -> m.history.json, but run.1 ->
    run.1.history.json, so that two models never share one."""
    return out.with_suffix(suffix) if out.suffix.lower() == ".npz" else out.with_name(out.name + suffix)


def resume_command(folder):
    """The command that goes on from the checkpoint in `folder`, quoted for a shell."""
    return f"digitnet train --resume {shlex.quote(str(folder))}"


def checkpoint_folder(args, out):
    """The checkpoint's folder: --resume's, else --checkpoint-dir, else MODEL.checkpoint beside --out;
    refused now if it is a file or the model's own path."""
    if args.resume and args.checkpoint_dir and Path(args.checkpoint_dir).resolve() != Path(args.resume).resolve():
        raise DigitnetError(f"--checkpoint-dir {args.checkpoint_dir}: a resumed run keeps its checkpoint in "
                            f"{args.resume}; resume without --checkpoint-dir")
    folder = Path(args.resume or args.checkpoint_dir or beside(out, ".checkpoint"))
    flag = "--checkpoint-dir" if args.checkpoint_dir else f"--out {out}: the checkpoint folder"
    if folder.resolve() in (out.resolve(), beside(out, ".history.json").resolve()):
        raise DigitnetError(f"{flag} {folder} is where the model or its history goes: choose another "
                            f"{'--checkpoint-dir' if args.checkpoint_dir else '--out, such as model.npz'}")
    if folder.exists() and not folder.is_dir():
        raise DigitnetError(f"{flag} {folder} is a file, not a folder; name a folder for the checkpoint")
    check_name_length(folder, f"{flag} {folder}")
    check_writable(folder, f"{flag} {folder}")
    return folder


def write_command(folder, s, out, data_dir, temporary):
    """folder/command.json: the settings `s`, where the model goes and the data comes from (absolute
    paths: resumed from anywhere), and whether the folder goes once the model is saved."""
    write_json(folder / COMMAND, {"settings": s, "out": os.path.abspath(out),
                                  "data": data_dir and os.path.abspath(data_dir), "temporary": temporary})


class Claim:
    """What becomes of a claimed folder: `done` (set by the run) removes it at the end."""
    done = False


@contextlib.contextmanager
def claimed(folder, resuming):
    """Hold `folder`'s lock while the block runs (a second run given the folder stops at once), and
    refuse, without --resume, a folder that holds an earlier run's checkpoint, which this run would
    write over. At the end, under the lock still, the folder goes if the run set `done`, or if it
    ended, however it ended, before its first checkpoint: nothing in it could be resumed."""
    with claim(folder):
        state = Claim()
        if not resuming and (folder / NAME).exists():
            raise DigitnetError(_taken(folder))
        try:
            yield state
        finally:
            if state.done or not (folder / NAME).exists():
                remove_checkpoint(folder)


def _taken(folder):
    """Why a new run may not write into `folder`: it holds the checkpoint of an earlier run, which either
    finished (kept because --checkpoint-dir named the folder) or can go on."""
    try:
        _, meta = load(folder)
        finished = meta["position"]["epoch"] > meta["settings"]["epochs"]
    except (DigitnetError, KeyError, TypeError):
        finished = False
    if finished:
        return (f"the checkpoint folder {folder} holds the checkpoint of an earlier run, which finished: delete "
                f"that folder, or choose another --checkpoint-dir, to train afresh")
    return (f"the checkpoint folder {folder} holds an earlier run's checkpoint: go on with it, "
            f"`{resume_command(folder)}`, or delete that folder to start afresh")


def remove_checkpoint(folder):
    """Remove the files a run writes into `folder` (and the temp files of a write that a kill cut
    short: no other run writes there while this one holds the lock), and the folder if that empties it."""
    for name in (NAME, COMMAND, LOCK):
        (folder / name).unlink(missing_ok=True)
        for temp in folder.glob(f".{name}.*.tmp"):         # atomic_write's temp files
            temp.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        folder.rmdir()
