"""Scripts' logging: everything in the job's log (native output too), a failure's message on the console."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

SCRIPT = """
import os, sys
sys.path.insert(0, {scripts!r})
from synthtl.logs import log_to
log = log_to({log!r})
log.info("python logging line")
print("python print line")
os.write(2, b"native stderr line\\n")   # what TensorFlow's C++ start-up writes
raise ValueError("prepared.npz has no X_train")
"""


def test_log_to_captures_native_output_and_echoes_the_error(tmp_path):
    log = tmp_path / "job.log"
    code = SCRIPT.format(scripts=str(REPO / "workflow" / "scripts"), log=str(log))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip() == f"synthtl error: prepared.npz has no X_train  (full log: {log})"
    assert result.stdout == ""
    text = log.read_text()
    for line in ("python logging line", "python print line", "native stderr line",
                 "ValueError: prepared.npz has no X_train"):
        assert line in text, (line, text)
