"""python -m tinycnn.marks: see tinycnn/marks/cli.py."""

import sys

from .cli import main

sys.exit(main())
