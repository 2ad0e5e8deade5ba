"""Names shared by paths, wildcards and tables: fractions and hyperparameter ids."""

from __future__ import annotations

import re

HP_PATTERN = re.compile(r"^lr(?P<learning_rate>[0-9.e-]+)-bs(?P<batch_size>\d+)-ep(?P<epochs>\d+)$")


def fmt_frac(fraction: float) -> str:
    """A fraction as it appears in paths and keys: 0.25 -> '0.25', 1.0 -> '1'."""
    return f"{float(fraction):g}"


def hp_id(learning_rate: float, batch_size: int, epochs: int) -> str:
    """A readable id of one hyperparameter combination, e.g. 'lr0.001-bs16-ep200'."""
    return f"lr{float(learning_rate):g}-bs{int(batch_size)}-ep{int(epochs)}"


def parse_hp(hp: str) -> dict:
    """The hyperparameter values encoded in an id made by hp_id."""
    match = HP_PATTERN.match(hp)
    if match is None:
        raise ValueError(f"not a hyperparameter id: {hp!r} (expected like 'lr0.001-bs16-ep200')")
    return {
        "learning_rate": float(match["learning_rate"]),
        "batch_size": int(match["batch_size"]),
        "epochs": int(match["epochs"]),
    }
