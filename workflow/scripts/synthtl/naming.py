"""Names shared by paths, wildcards and tables: fractions, hyperparameter ids, runs and GAN seeds."""

from __future__ import annotations

import re
from collections.abc import Sequence

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


ARMS = ("baseline", "pretrain", "finetune")
MODEL_FAMILY = {"fcn": "cnn", "resnet": "cnn", "gru": "rnn", "lstm": "rnn"}


def run_path(arm: str, fraction: str, generator: str | None = None, regime: str | None = None,
             strategy: str | None = None) -> str:
    """The part of a model's path after {dataset}/{model}/{hp}/ that names its arm.

    baseline/frac{train_fraction}; pretrain/{generator}/frac{fraction};
    finetune/{generator}/frac{fraction}/{regime}/{strategy}.
    """
    if arm == "baseline":
        return f"baseline/frac{fraction}"
    if arm == "pretrain":
        return f"pretrain/{generator}/frac{fraction}"
    if arm == "finetune":
        return f"finetune/{generator}/frac{fraction}/{regime}/{strategy}"
    raise ValueError(f"unknown arm {arm!r}; known: {', '.join(ARMS)}")


def parse_run(run: str) -> dict:
    """The provenance encoded in a run path made by run_path.

    `fraction` is the generator's training fraction (None for baseline); `train_fraction`
    is the share of real TRAIN the classifier's last phase trained on (None for pretrain:
    it saw synthetic data only).
    """
    parts = run.split("/")
    frac = lambda part: part.removeprefix("frac")  # noqa: E731
    if parts[0] == "baseline" and len(parts) == 2:
        return {"arm": "baseline", "generator": None, "fraction": None, "train_fraction": frac(parts[1]),
                "regime": None, "strategy": None}
    if parts[0] == "pretrain" and len(parts) == 3:
        return {"arm": "pretrain-only", "generator": parts[1], "fraction": frac(parts[2]), "train_fraction": None,
                "regime": None, "strategy": None}
    if parts[0] == "finetune" and len(parts) == 5:
        regime = parts[3]
        return {"arm": "finetune", "generator": parts[1], "fraction": frac(parts[2]),
                "train_fraction": "1" if regime == "full" else frac(parts[2]), "regime": regime, "strategy": parts[4]}
    raise ValueError(f"not a run path: {run!r}")


def gan_seed_for(seed: int, gan_seeds: Sequence[int]) -> int:
    """The GAN seed whose synthetic set classifier seed `seed` pretrains on: gan_seeds[seed % len(gan_seeds)].

    With as many GAN seeds as classifier seeds each classifier seed has its own synthetic set;
    with fewer, the sets are reused in turn (seeds 0, 1, 2 with gan.seeds [0, 1] -> 0, 1, 0).
    """
    if not gan_seeds:
        raise ValueError("no GAN seeds given (config key gan.seeds)")
    return int(gan_seeds[int(seed) % len(gan_seeds)])
