"""`python -m digitnet` is the `digitnet` command."""
import sys

from .cli import main

sys.exit(main())
