"""Run the command-line interface: ``python -m adaptive2``, and the ``adaptive2`` script."""

from __future__ import annotations

import gc
import sys


def run() -> None:
    """Start the command line: import it with the cyclic garbage collector paused, then run.

    Importing numpy, scipy and the commands creates some 10⁵ objects that live as long
    as the process. The collector would traverse them again and again, during the
    imports, during the command and once more at exit, and find nothing to free. Once
    imported they are moved to a permanent generation (:func:`gc.freeze`), which takes
    about 0.02 s off a one-data-set command's 0.5 s. Objects created afterwards are
    collected as usual. Exits with :func:`adaptive2.cli.main`'s code.
    """
    gc.disable()
    try:
        from adaptive2.cli import main
    finally:
        gc.freeze()
        gc.enable()
    sys.exit(main())


if __name__ == "__main__":
    run()
