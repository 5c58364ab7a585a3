"""MNIST on disk and in memory: reading, downloading and preparing the data.

The modules, one idea each:

* `idx`      - the IDX file format MNIST ships in (gzip or raw);
* `csv`      - the same data as Kaggle's "MNIST in CSV";
* `download` - fetching the four files from public mirrors, checksummed;
* `mnist`    - `load_mnist`, which turns any of the above into float32
  train / validation / test arrays for the network.
"""
from digitnet.data.csv import read_csv
from digitnet.data.download import FILES, MIRRORS, download_mnist
from digitnet.data.idx import read_idx, read_idx_pair
from digitnet.data.mnist import MNIST, Source, default_data_dir, find_source, load_mnist

__all__ = [
    "FILES",
    "MIRRORS",
    "MNIST",
    "Source",
    "default_data_dir",
    "download_mnist",
    "find_source",
    "load_mnist",
    "read_csv",
    "read_idx",
    "read_idx_pair",
]
