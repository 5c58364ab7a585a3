"""`digitnet download`: fetch the four MNIST files into the cache, checking each checksum."""
from pathlib import Path

from ..data import default_data_dir, download_mnist


def add_parser(sub):
    p = sub.add_parser("download", help="download MNIST into the cache directory",
                       description="Download the four MNIST files from public mirrors, tried in order, "
                                   "each verified by its SHA-256. Files already present and valid are kept.")
    p.add_argument("--dir", type=Path, metavar="DIR",
                   help="where to put them (default: $DIGITNET_DATA, else the user cache directory)")
    p.set_defaults(run=run)


def run(args):
    target = args.dir or default_data_dir()
    download_mnist(target)
    print(f"MNIST is in {target}")
    return 0
