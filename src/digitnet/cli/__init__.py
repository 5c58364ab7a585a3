"""The `digitnet` command: one small module per subcommand.

Each module has `add_parser(subparsers)` and `run(args) -> exit code`. This
file wires them together and is the only place that turns errors into
messages: a DigitnetError (or an OS error such as a permission problem)
becomes one line on stderr and exit status 2, never a traceback. Output
into a pipe whose reader has gone (`| head`) ends quietly with status 141,
as for a Unix tool stopped by SIGPIPE.
"""
import argparse
import os
import signal
import sys
import textwrap

from .. import __version__
from ..errors import DigitnetError
from ..interrupt import Terminated, terminate_like_interrupt
from .common import warn
from . import (download, evaluate, explain, explore, gradcheck, info, predict, presets, report, serve, show,
               train)

COMMANDS = (train, evaluate, predict, show, explore, report, info, serve, presets, explain, gradcheck, download)


class HelpFormatter(argparse.HelpFormatter):
    """argparse's, but a name such as cross-entropy-94 is never broken at its hyphens."""

    def _split_lines(self, text, width):
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (and exit 2), not a usage dump."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{"formatter_class": HelpFormatter, **kwargs})

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser():
    parser = ArgumentParser(prog="digitnet", description="A neural network from scratch in NumPy "
                            "that learns to read handwritten digits (MNIST).")
    parser.add_argument("--version", action="version", version=f"digitnet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    sub.required = True
    for command in COMMANDS:
        command.add_parser(sub)
    parser.commands = sub.choices                 # name -> the command's own parser
    return parser


def main(argv=None):
    for stream in (sys.stdout, sys.stderr):    # a terminal that cannot show Δ or §: a ? in its place, no crash
        if getattr(stream, "errors", None) == "strict":    # not UTF-8 mode's surrogateescape (file names)
            stream.reconfigure(errors="replace")
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:                                   # said by the command's parser, which names its own --help
        parser.commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    with terminate_like_interrupt():           # SIGTERM cleans up half-written files, as Ctrl-C does
        return _run(args)


def _run(args):
    """The command's exit status, with every error it raises told in one line."""
    try:
        code = args.run(args)
        try:
            if sys.stdout is not None:         # None: started with stdout closed (>&-), nothing to flush
                sys.stdout.flush()             # a closed pipe shows here, not at exit
        except OSError as e:                   # the terminal went away after the command had failed or
            if code == 0 or isinstance(e, BrokenPipeError):            # stopped (SIGHUP): its status stands
                raise
            _silence_stdout()
        return code
    except BrokenPipeError:                    # the reader went away (`digitnet presets | head`): stop
        _silence_stdout()                      # quietly, as Unix tools do
        return 128 + signal.SIGPIPE
    except DigitnetError as e:
        warn(f"digitnet: error: {e}")
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        warn(f"digitnet: error: {e.strerror or e}{where}")
    except MemoryError:
        flag = next((f"--{name.replace('_', '-')}" for name in ("batch_size", "batch") if hasattr(args, name)), None)
        warn(f"digitnet: error: out of memory; try a smaller {flag + ' or ' if flag else ''}network")
    except Terminated:
        warn("digitnet: stopped by SIGTERM")
        return Terminated.exit_status
    except KeyboardInterrupt:
        warn("digitnet: interrupted")
        return 130
    return 2


def _silence_stdout():
    """Point stdout at /dev/null: nothing left in its buffer fails again at exit."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
