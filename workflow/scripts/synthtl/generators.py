"""Generators of labelled synthetic series: one interface, a registry, training and synthesis.

Every generator has `fit(X, y, n_classes)` and `sample(n_per_class) -> X, y`, saves to and
loads from a folder, and is built by name from the config's `gan.{name}` settings:

- wgan: class-conditional convolutional WGAN-GP (synthtl.gan), the default;
- timegan: class-conditional TimeGAN (synthtl.timegan);
- jitter: the non-GAN control (synthtl.jitter), which never imports TensorFlow.

Modules are imported by name only when used, so a jitter job starts without TensorFlow.
"""

from __future__ import annotations

import csv
import importlib
import json
import logging
import math
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from synthtl.data import load_classes, load_split, scaling, standardise, unstandardise
from synthtl.files import written
from synthtl.naming import fmt_frac

log = logging.getLogger(__name__)

REGISTRY = {"wgan": "synthtl.gan:WGANGenerator", "timegan": "synthtl.timegan:TimeGANGenerator",
            "jitter": "synthtl.jitter:JitterGenerator"}
NEEDS_TENSORFLOW = {"wgan": True, "timegan": True, "jitter": False}
SPEC_FILE = "generator.json"
SCALING_FILE = "standardisation.json"  # the fraction's per-channel mean and SD the generator was trained in


class DivergenceError(RuntimeError):
    """A generator's loss became NaN, infinite or exploded; the message names where and when."""


class Generator:
    """The interface: fit on real (X, y), sample a labelled set, save to and load from a folder."""

    name = "generator"

    def __init__(self, seed: int = 0, **settings):
        self.seed = int(seed)
        self.settings = settings
        self.shape: tuple[int, int] | None = None  # (time, channels) of the data it was fitted on
        self.n_classes: int | None = None
        self.mixed_precision = False  # trained under Keras' mixed_float16 policy (set by the TensorFlow generators)

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int | None = None,
            on_epoch: Callable[[dict], None] | None = None) -> list[dict]:
        """Train on (X, y); returns one row of losses per epoch (each also passed to on_epoch)."""
        raise NotImplementedError

    def sample(self, n_per_class: int | Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """A labelled synthetic set: float32 (cases, time, channels) and int64 labels, shuffled."""
        raise NotImplementedError

    def save(self, folder: str | Path) -> None:
        """Write the fitted generator into `folder`."""
        raise NotImplementedError

    @classmethod
    def load(cls, folder: str | Path) -> "Generator":
        """Read a generator written by save."""
        raise NotImplementedError

    # helpers shared by the implementations
    def _remember(self, X: np.ndarray, y: np.ndarray, n_classes: int | None) -> None:
        if X.ndim != 3 or len(X) != len(y) or len(X) == 0:
            raise ValueError(f"{self.name}: expected X (cases, time, channels) and y of the same length, "
                             f"got X {X.shape} and y {np.shape(y)}")
        self.shape = (int(X.shape[1]), int(X.shape[2]))
        self.n_classes = int(n_classes if n_classes is not None else y.max() + 1)

    def _counts(self, n_per_class: int | Sequence[int]) -> np.ndarray:
        counts = np.broadcast_to(np.asarray(n_per_class, dtype=np.int64), (self.n_classes,))
        if (counts < 0).any():
            raise ValueError(f"{self.name}: negative sample counts {counts.tolist()}")
        return counts

    def _spec(self) -> dict:
        return {"name": self.name, "seed": self.seed, "settings": self.settings, "shape": list(self.shape),
                "n_classes": self.n_classes, "mixed_precision": self.mixed_precision}

    def _write_spec(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SPEC_FILE).write_text(json.dumps(self._spec(), indent=2) + "\n")
        return folder

    @classmethod
    def _from_spec(cls, folder: str | Path) -> "Generator":
        spec = json.loads((Path(folder) / SPEC_FILE).read_text())
        generator = cls(seed=spec["seed"], **spec["settings"])
        generator.shape = tuple(spec["shape"])
        generator.n_classes = spec["n_classes"]
        # informational: weights are float32 under either policy, so loading does not depend on it
        generator.mixed_precision = bool(spec.get("mixed_precision", False))
        return generator


def generator_class(name: str) -> type[Generator]:
    """The Generator subclass registered as `name` (its module imported on demand)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown generator {name!r}; known: {', '.join(REGISTRY)} (config key gan.generators)")
    module, attribute = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), attribute)


def make_generator(name: str, settings: dict, seed: int) -> Generator:
    """A new, unfitted generator `name` with the config's settings for it."""
    return generator_class(name)(seed=seed, **settings)


def load_generator(folder: str | Path) -> Generator:
    """The fitted generator saved in `folder` (its kind read from generator.json)."""
    spec_path = Path(folder) / SPEC_FILE
    if not spec_path.is_file():
        raise FileNotFoundError(f"{folder}: no {SPEC_FILE}; not a folder written by train_gan")
    return generator_class(json.loads(spec_path.read_text())["name"]).load(folder)


def balanced_counts(n_total: int, n_classes: int) -> np.ndarray:
    """Cases per class summing to n_total, differing by at most one (the first classes get the rest)."""
    counts = np.full(n_classes, n_total // n_classes, dtype=np.int64)
    counts[: n_total % n_classes] += 1
    return counts


def check_losses(losses: dict, step: int, max_abs_loss: float) -> None:
    """Raise DivergenceError when a loss is NaN, infinite or beyond max_abs_loss."""
    for key, value in losses.items():
        value = float(value)
        if not math.isfinite(value) or abs(value) > max_abs_loss:
            kind = "NaN" if math.isnan(value) else ("infinite" if math.isinf(value) else f"beyond ±{max_abs_loss:g}")
            raise DivergenceError(f"loss {key} is {kind} ({value!r}) at step {step}")


def write_history(rows: list[dict], path: str | Path) -> None:
    """Per-epoch losses as a TSV (one column per key seen in any row)."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns or ["epoch"], delimiter="\t", restval="")
        writer.writeheader()
        writer.writerows(rows)


def train_generator(npz_path: str | Path, dataset: str, generator: str, fraction: str | float, settings: dict,
                    seed: int, model_dir: str | Path, history_path: str | Path, threads: int | None = None,
                    mixed_precision: bool = False, mem_limit_mb: float | None = None) -> list[dict]:
    """Fit one generator on ONE fraction of TRAIN, save it and its per-epoch history.

    The generator is trained on the fraction standardised with its own per-channel mean and SD
    (saved as standardisation.json; synthesize maps samples back to prepared.npz's scale), so neither
    regime lets statistics of cases outside the fraction into it.

    With `mem_limit_mb` (the job's resources.mem_mb), a generator that can size itself
    (check_memory) stops before training, with the remedy, when the data need more.

    With `threads`, a TensorFlow generator first sets up TensorFlow (synthtl.runtime: threads,
    the mixed_float16 policy when `mixed_precision`) and the seeds. A diverging loss raises
    DivergenceError naming the dataset, generator, fraction, GAN seed and step.
    """
    fraction = fmt_frac(float(fraction))
    if threads is not None and NEEDS_TENSORFLOW.get(generator, True):
        from synthtl import runtime  # noqa: PLC0415  (jitter jobs never import TensorFlow)

        runtime.configure(threads, mixed_precision=mixed_precision)
        runtime.seed_everything(seed)
    X, y = load_split(npz_path, "train", fraction=fraction)
    shift, scale = scaling(X)  # the fraction's own statistics: nothing from outside it enters the generator
    X = standardise(X, shift, scale)
    n_classes = len(load_classes(npz_path))
    model = make_generator(generator, settings, seed)
    where = f"{dataset}/{generator}/frac{fraction}/gseed{seed}"
    if mem_limit_mb is not None and hasattr(model, "check_memory"):
        model.check_memory(X.shape, mem_limit_mb, where)
    log.info("%s: fitting on %d cases %s, %d classes, settings %s", where, len(X), X.shape[1:], n_classes, settings)
    started = time.perf_counter()

    def on_epoch(row: dict) -> None:
        log.info("%s epoch %s: %s", where, row.get("epoch"),
                 ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items() if k != "epoch"))

    try:
        rows = model.fit(X, y, n_classes=n_classes, on_epoch=on_epoch)
    except DivergenceError as error:
        raise DivergenceError(f"{where}: training diverged: {error}; lower gan.{generator}.learning_rate "
                              f"or check the data") from None
    log.info("%s: trained in %.1f s", where, time.perf_counter() - started)
    model.save(model_dir)
    (Path(model_dir) / SCALING_FILE).write_text(json.dumps({"shift": shift.tolist(), "scale": scale.tolist()}) + "\n")
    write_history(rows, history_path)
    return rows


def synthesize(model_dir: str | Path, npz_path: str | Path, multiple: float, out_path: str | Path,
               threads: int | None = None, mixed_precision: bool = False) -> dict:
    """Sample a class-balanced set of round(multiple x real TRAIN size) cases into synthetic.npz (float32)."""
    spec = json.loads((Path(model_dir) / SPEC_FILE).read_text()) if (Path(model_dir) / SPEC_FILE).is_file() else {}
    if threads is not None and NEEDS_TENSORFLOW.get(spec.get("name"), True):
        from synthtl import runtime  # noqa: PLC0415

        runtime.configure(threads, mixed_precision=mixed_precision)
    X_train, _ = load_split(npz_path, "train")
    classes = load_classes(npz_path)
    model = load_generator(model_dir)
    if tuple(model.shape) != tuple(X_train.shape[1:]) or model.n_classes != len(classes):
        raise ValueError(f"{model_dir}: generator fitted on shape {model.shape} with {model.n_classes} classes, "
                         f"but {npz_path} has {X_train.shape[1:]} and {len(classes)} classes; retrain it")
    n_total = max(int(round(multiple * len(X_train))), len(classes))
    X, y = model.sample(balanced_counts(n_total, len(classes)))
    X, y = np.asarray(X, dtype=np.float32), np.asarray(y, dtype=np.int64)
    scaling_path = Path(model_dir) / SCALING_FILE
    if scaling_path.is_file():  # back from the fraction's scale to prepared.npz's (none: written before it existed)
        saved = json.loads(scaling_path.read_text())
        X = unstandardise(X, np.asarray(saved["shift"]), np.asarray(saved["scale"]))
    if not np.isfinite(X).all():
        raise DivergenceError(f"{model_dir}: the generator produced non-finite values")
    with written(out_path) as tmp:
        np.savez_compressed(tmp, X=X, y=y, classes=classes)
    log.info("%s: %d synthetic cases %s, per class %s", out_path, len(X), X.shape[1:], np.bincount(y).tolist())
    return {"n_synthetic": int(len(X)), "n_per_class": np.bincount(y, minlength=len(classes)).tolist()}
