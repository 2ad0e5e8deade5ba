"""Logging for workflow scripts: everything to the job's log, the error also to the console."""

from __future__ import annotations

import logging
import sys
import traceback


def log_to(path: str) -> logging.Logger:
    """Send logging, stdout and stderr of this process to `path`; echo a failure's message to the console."""
    console = sys.__stderr__
    handle = open(path, "w", buffering=1)
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
