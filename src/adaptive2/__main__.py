"""Run the command-line interface: ``python -m adaptive2``."""

import sys

from adaptive2.cli import main

sys.exit(main())
