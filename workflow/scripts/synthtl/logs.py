"""Logging for workflow scripts: everything to the job's log, the error also to the console."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import NoReturn


def log_to(path: str) -> logging.Logger:
    """Send logging, stdout and stderr of this process to `path`; echo a failure's message to the console.

    The redirect is at the file-descriptor level, so what native libraries print
    (TensorFlow's C++ start-up lines) lands in the job's log too, not on the console.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    console = os.fdopen(os.dup(2), "w", buffering=1)
    handle = open(path, "w", buffering=1)
    os.dup2(handle.fileno(), 1)
    os.dup2(handle.fileno(), 2)
    sys.stdout = sys.stderr = handle
    logging.basicConfig(
        stream=handle,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )

    def report(kind, value, tb):
        traceback.print_exception(kind, value, tb, file=handle)
        handle.flush()
        print(f"synthtl error: {value}  (full log: {path})", file=console, flush=True)

    sys.excepthook = report
    return logging.getLogger("synthtl")


def finish() -> NoReturn:
    """End a finished job now: flush the log and skip the interpreter's teardown.

    Tearing down a process that has imported TensorFlow takes about a second on this
    project's 2-core reference machine, paid once per job by dozens of short TensorFlow
    jobs. Call it last, after every output is written and closed; a failure before it
    still exits through the normal path and `report`.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
