"""Shared fixtures: the repository, the shared UEA mirror, and real Snakemake runs in temporary folders."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_UEA = REPO.parent / "shared" / "uea"

# A tiny, fast experiment for real workflow runs in tests: every stage runs, every
# budget is minimal. Tests copy it and change what they exercise.
TINY_CONFIG = {
    "datasets": ["BasicMotions"],
    "source": {"kind": "embedded"},
    "fractions": [0.5, 1.0],
    "classifier": {
        "models": ["fcn"],
        "grid": {"learning_rate": [0.001], "batch_size": [16], "epochs": [2]},
        "patience": 2,
        "seeds": [0],
        "networks": {
            "fcn": {"filters": [8, 8, 8], "kernel_sizes": [8, 5, 3]},
            "resnet": {"filters": [4, 8, 8], "kernel_sizes": [8, 5, 3]},
            "gru": {"units": 8, "layers": 1},
            "lstm": {"units": 8, "layers": 1},
        },
    },
    "gan": {
        "generators": ["jitter"],
        "synthetic_multiple": 1.0,
        "wgan": {"epochs": 2, "batch_size": 16, "latent_dim": 8, "filters": 8},
        "timegan": {"epochs": 2, "batch_size": 16, "hidden_dim": 8, "num_layers": 1},
    },
}


def tiny_config(**overrides) -> dict:
    """A deep copy of TINY_CONFIG with top-level keys replaced."""
    config = copy.deepcopy(TINY_CONFIG)
    config.update(copy.deepcopy(overrides))
    return config


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_uea() -> Path:
    if not (SHARED_UEA / "metadata.csv").is_file():
        pytest.fail(f"the shared UEA mirror is missing: {SHARED_UEA} (it lies beside the repository)")
    return SHARED_UEA


def snakemake(workdir: Path, *args: str, config: dict | None = None, timeout: float = 900,
              check: bool = True) -> subprocess.CompletedProcess:
    """Run the real workflow in `workdir` (config written to workdir/config/config.yaml)."""
    workdir = Path(workdir)
    if config is not None:
        (workdir / "config").mkdir(parents=True, exist_ok=True)
        (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), *args]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
        )
    return result


PREPARE_SETTINGS = {"length": "resample", "target_length": "max", "missing": "interpolate", "val_fraction": 0.2,
                    "min_per_class": 1, "seed": 0}


@pytest.fixture(scope="session")
def basicmotions_npz(tmp_path_factory) -> Path:
    """BasicMotions prepared once from the .ts files shipped with aeon (fraction indices 0.5 and 1 listed)."""
    from synthtl.data import prepare, write_prepared  # noqa: PLC0415
    from synthtl.fetch import embedded_dir  # noqa: PLC0415

    folder = embedded_dir("BasicMotions")
    arrays, meta = prepare(folder / "BasicMotions_TRAIN.ts", folder / "BasicMotions_TEST.ts", "BasicMotions",
                           dict(PREPARE_SETTINGS), [0.5, 1.0])
    out = tmp_path_factory.mktemp("prepared")
    write_prepared(arrays, meta, out / "prepared.npz", out / "meta.json")
    return out / "prepared.npz"


@pytest.fixture
def run_snakemake():
    return snakemake


def scheduled(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a `snakemake -n` run ({} when nothing is to be done)."""
    counts, table = {}, False
    for line in (result.stdout + result.stderr).splitlines():
        if line.startswith("Job stats:"):
            table = True
        elif table and (parts := line.split()) and len(parts) == 2 and parts[1].isdigit():
            if parts[0] == "total":
                break
            counts[parts[0]] = int(parts[1])
    return counts


# One small cell (BasicMotions, fcn, jitter on fraction 0.5, two epochs) through every phase.
TRANSFER_CELL_CONFIG = tiny_config(fractions=[0.5])


@pytest.fixture(scope="session")
def paper_smoke(shared_uea, tmp_path_factory) -> dict:
    """config/paper.yaml in miniature over ten datasets, run once (tests/paper_smoke.py says what and why)."""
    from paper_smoke import run_smoke  # noqa: PLC0415

    return run_smoke(shared_uea, tmp_path_factory.mktemp("paper_smoke"))


@pytest.fixture(scope="session")
def transfer_cell(tmp_path_factory) -> Path:
    """A workdir where the real workflow ran `all` for TRANSFER_CELL_CONFIG; copy it before changing it."""
    workdir = tmp_path_factory.mktemp("transfer_cell")
    snakemake(workdir, "--cores", "2", config=TRANSFER_CELL_CONFIG)
    return workdir


def write_ts(path: Path, name: str, X, y, classes: list[str]) -> None:
    """An equal-length multivariate .ts file in the archive's format: X (cases, length, channels), y class indices."""
    n, length, channels = X.shape
    header = [f"@problemName {name}", "@timeStamps false", "@missing false", "@univariate false",
              f"@dimensions {channels}", "@equalLength true", f"@seriesLength {length}",
              f"@classLabel true {' '.join(classes)}", "@data"]
    lines = [":".join(",".join(f"{v:.5g}" for v in X[i, :, c]) for c in range(channels)) + f":{classes[y[i]]}"
             for i in range(n)]
    path.write_text("\n".join(header + lines) + "\n")


def write_uea_zip(folder: Path, name: str, length: int, channels: int, n_classes: int, per_class: int,
                  seed: int = 0) -> Path:
    """folder/{name}.zip in the archive's layout ({name}_TRAIN.ts, {name}_TEST.ts at its root): seeded series
    whose class sets the frequency and offset of every channel, plus noise; per_class cases per class per split."""
    import zipfile  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    classes = [f"c{k}" for k in range(n_classes)]
    t = np.linspace(0, 1, length)[None, :, None]
    zip_path = Path(folder) / f"{name}.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for split in ("TRAIN", "TEST"):
            y = rng.permutation(np.repeat(np.arange(n_classes), per_class))
            phase = rng.uniform(0, 2 * np.pi, (len(y), 1, channels))
            X = np.sin(2 * np.pi * (1 + y[:, None, None]) * t + phase) + 0.5 * y[:, None, None]
            X = X + rng.normal(0, 0.3, X.shape)
            ts = Path(folder) / f"{name}_{split}.ts"
            write_ts(ts, name, X, y, classes)
            archive.write(ts, ts.name)
            ts.unlink()
    return zip_path
