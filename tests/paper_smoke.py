"""config/paper.yaml in miniature (the `paper_smoke` fixture of conftest.py; tests in test_paper_smoke.py).

The shape comes from config/paper.yaml itself (models, generators, analysis settings, the
WGAN-GP's optimiser settings, synthetic_multiple); only the budgets shrink (one epoch, two
generator steps, tiny networks) and one fraction is kept, 0.25. A job's cost here is almost
all TensorFlow's start-up (~5 s on 2 cores), and the full cross product of the paper's shape
over these ten datasets is ~1,200 jobs (~45 minutes), so the run is split where a dataset can
matter and where it cannot:

1. breadth: every dataset (the eight of ../shared/uea and two made-up extremes, 6 and 2,048
   steps) through the dataset-dependent stages: download from a mirror folder, prepare, and
   wgan's and timegan's train_gan -> synthesize -> synthetic_quality (held-out TSTR,
   class-matched discriminative score, figures); jitter (numpy, shape-agnostic) on the two
   extremes;
2. depth: the paper's four models x three generators x every arm, in the scarce regime, on
   the length-6 dataset: the config's `all` (statistics and figures), then the report. The full
   regime's `all` is what the rest of the suite runs (conftest.transfer_cell, test_caching).

A dry run after each part says nothing is left to do.
"""

from __future__ import annotations

import os
import time
from itertools import product
from pathlib import Path

import yaml
from snakemake.utils import update_config

from conftest import REPO, TINY_CONFIG, scheduled, snakemake, write_uea_zip

SHARED = ["ArticularyWordRecognition", "AtrialFibrillation", "BasicMotions", "ERing", "Epilepsy", "JapaneseVowels",
          "NATOPS", "RacketSports"]
# name: (length, channels, classes, cases per class in each split)
EXTREMES = {"ShortSeries": (6, 3, 3, 8), "LongSeries": (2048, 2, 2, 6)}
DATASETS = SHARED + list(EXTREMES)
FRACTION = 0.25
DEPTH = ["ShortSeries"]
BREADTH_GENERATORS = ["wgan", "timegan"]


def smoke_config(datasets: list[str], regime: str, mirror: Path) -> dict:
    """config.yaml overlaid with paper.yaml (as `--configfile config/paper.yaml` does), at tiny budgets."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    update_config(config, yaml.safe_load((REPO / "config" / "paper.yaml").read_text()))
    config.update(datasets=datasets, source={"kind": "mirror", "mirror": str(mirror)}, fractions=[FRACTION])
    config["classifier"].update(
        grid={"learning_rate": config["classifier"]["grid"]["learning_rate"][:1], "batch_size": [16], "epochs": [1]},
        patience=1, seeds=[0, 1, 2], networks=TINY_CONFIG["classifier"]["networks"])
    config["gan"]["seeds"] = [0]
    config["gan"]["wgan"].update(epochs=1, steps_per_epoch=2, batch_size=16, latent_dim=8, filters=8)
    config["gan"]["timegan"].update(epochs=1, steps_per_epoch=2, batch_size=16, hidden_dim=8, num_layers=1)
    config["transfer"]["regime"] = regime
    config["analysis"]["bootstrap"] = 200
    return config


def synthetic_set(dataset: str, generator: str) -> str:
    return f"results/synthetic/{dataset}/{generator}/frac{FRACTION:g}/gseed0"


def breadth_targets() -> list[str]:
    sets = list(product(DATASETS, BREADTH_GENERATORS)) + [(name, "jitter") for name in EXTREMES]
    return [f"{synthetic_set(d, g)}/{name}" for d, g in sets
            for name in ("quality.json", "samples.png", "embedding.png", "embedding.svg")]


def run_smoke(shared_uea: Path, root: Path) -> dict:
    """Both parts in `root`/work from a mirror folder `root`/mirror; the configs, what a dry run left, the seconds."""
    mirror, workdir = root / "mirror", root / "work"
    mirror.mkdir()
    for name in SHARED:
        os.symlink(shared_uea / f"{name}.zip", mirror / f"{name}.zip")
    for seed, (name, shape) in enumerate(EXTREMES.items()):
        write_uea_zip(mirror, name, *shape, seed=seed)
    configs = {"breadth": smoke_config(DATASETS, "scarce", mirror), "depth": smoke_config(DEPTH, "scarce", mirror)}
    targets = {"breadth": breadth_targets(), "depth": []}
    seconds, left = {}, {}
    for part in ("breadth", "depth"):
        started = time.perf_counter()
        snakemake(workdir, "--cores", "2", *targets[part], config=configs[part], timeout=900)
        left[part] = scheduled(snakemake(workdir, "-n", *targets[part], config=configs[part]))
        seconds[part] = time.perf_counter() - started
    snakemake(workdir, "--report", "results/report.html", config=configs["depth"], timeout=300)
    print(f"paper smoke: {', '.join(f'{k} {v:.0f} s' for k, v in seconds.items())}")
    return {"workdir": workdir, "configs": configs, "left": left, "seconds": seconds}
