"""`digitnet train`'s checkpoint folder: where it is, that no other run is in it, and that nothing
is left there that could not be resumed.

The folder holds checkpoint.npz (checkpoint.py), command.json (train_settings.py: the settings, to
resume with) and the lock of the run that uses it (checkpoint.claim)."""
import contextlib
import os
import shlex
from pathlib import Path

from ..checkpoint import LOCK, NAME, claim
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
    refused now if it is a file, the model's own path, or (without --resume) the folder of an earlier
    run's checkpoint, which a new run would write over."""
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
    if not args.resume and (folder / NAME).exists():
        with claim(folder):                             # a run still going says so first
            raise DigitnetError(f"{flag} {folder} holds the checkpoint of an earlier run: go on with it, "
                                f"`{resume_command(folder)}`, or delete that folder to start afresh")
    return folder


def write_command(folder, s, out, data_dir, temporary):
    """folder/command.json: the settings `s`, where the model goes and the data comes from (absolute
    paths: resumed from anywhere), and whether the folder goes once the model is saved."""
    write_json(folder / COMMAND, {"settings": s, "out": os.path.abspath(out),
                                  "data": data_dir and os.path.abspath(data_dir), "temporary": temporary})


@contextlib.contextmanager
def claimed(folder):
    """Hold `folder`'s lock while the block runs; if the run ends, however it ends, before its first
    checkpoint, take away what it wrote there: nothing in it could be resumed."""
    with claim(folder):
        try:
            yield
        finally:
            if not (folder / NAME).exists():
                remove_checkpoint(folder)


def remove_checkpoint(folder):
    """Remove the files a run writes into `folder` (and the temp files of a write that a kill cut
    short: no other run writes there while this one holds the lock), and the folder if that empties it."""
    for name in (NAME, COMMAND, LOCK):
        (folder / name).unlink(missing_ok=True)
        for temp in folder.glob(f".{name}.*.tmp"):         # atomic_write's temp files
            temp.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        folder.rmdir()
