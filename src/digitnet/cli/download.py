"""`digitnet download`: fetch the four MNIST files into the cache, checking each checksum."""
import sys
from urllib.parse import urlsplit

from ..data import MIRRORS, default_data_dir, download_mnist
from ..errors import DigitnetError
from .common import nonempty_path


def add_parser(sub):
    p = sub.add_parser("download", help="download MNIST into the cache directory",
                       description="Download the four MNIST files from public mirrors, tried in order, "
                                   "each verified by its SHA-256. Files already present and valid are kept. "
                                   "A mirror that sends nothing for 30 s, or breaks off, is tried twice more "
                                   "(after 1 and 2 s), then the next one is.")
    p.add_argument("--dir", "--data", dest="dir", type=nonempty_path, metavar="DIR",
                   help="where to put them (default: $DIGITNET_DATA, else the user cache directory); "
                        "--data, as the other commands name it, is the same")
    p.add_argument("--mirror", action="append", metavar="URL",
                   help="a base URL serving the four .gz files, tried before the public mirrors "
                        f"(repeatable; the public ones: {', '.join(MIRRORS)})")
    p.add_argument("--only", action="store_true", help="use only the --mirror URLs, not the public ones")
    p.set_defaults(run=run)


def run(args):
    target = args.dir or default_data_dir()
    if args.only and not args.mirror:
        raise DigitnetError("--only uses only the --mirror URLs, and none was given: add --mirror URL")
    for url in args.mirror or []:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise DigitnetError(f"--mirror {url}: not an http(s) address; give one such as http://127.0.0.1:8000/")
    mirrors = [m if m.endswith("/") else m + "/" for m in args.mirror or []]
    download_mnist(target, mirrors=mirrors if args.only else mirrors + MIRRORS,
                   progress=sys.stderr.isatty())                  # no bars redrawn with \r into a pipe or log
    print(f"MNIST is in {target}")
    return 0
