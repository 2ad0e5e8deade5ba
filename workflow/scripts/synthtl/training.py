"""Training of one cell: compile, fit with early stopping, per-seed outputs reused by fingerprint.

A cell is (dataset, model, hp, run); one process trains all its seeds. Each seed's folder
holds model.keras, history.tsv and run.json. run.json carries a fingerprint (sha256 of the
input files, every setting and the seed): a seed whose fingerprint still matches is kept,
so adding a seed trains only that seed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from synthtl.files import sha256_of, written

log = logging.getLogger(__name__)

HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"]
Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Hyper:
    """The hyperparameters shared by every arm of a cell."""

    learning_rate: float
    batch_size: int
    epochs: int
    patience: int


@keras.saving.register_keras_serializable(package="synthtl")
class LayerwiseAdam(keras.optimizers.Adam):
    """Adam whose step for the variables named in `scaled` is multiplied by `factor` (discriminative lr)."""

    def __init__(self, scaled: Sequence[str] = (), factor: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.scaled = list(scaled)
        self.factor = float(factor)
        self._factors: list[float] = []

    def build(self, variables):
        """Create the Adam slots and the per-variable learning-rate factors."""
        super().build(variables)
        scaled = set(self.scaled)
        self._factors = [self.factor if v.path in scaled else 1.0 for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        """One Adam step at the variable's own learning rate."""
        factor = self._factors[self._get_variable_index(variable)]
        super().update_step(gradient, variable, learning_rate * factor if factor != 1.0 else learning_rate)

    def get_config(self):
        """Serialisable settings, so a saved model loads again."""
        return {**super().get_config(), "scaled": self.scaled, "factor": self.factor}


def compile_model(model: keras.Model, learning_rate: float, optimizer: keras.optimizers.Optimizer | None = None) -> None:
    """Compile for integer labels with Adam at `learning_rate` (or the given optimizer)."""
    model.compile(
        optimizer=optimizer or keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


class ProgressLog(keras.callbacks.Callback):
    """Logs one line per epoch and records the history rows, learning rate included."""

    def __init__(self, label: str, epochs: int):
        super().__init__()
        self.label, self.epochs, self.rows = label, epochs, []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        row = {"epoch": epoch + 1, **{k: float(logs.get(k, np.nan)) for k in HISTORY_COLUMNS[1:5]}, "lr": lr}
        self.rows.append(row)
        log.info("%s epoch %d/%d loss %.4f acc %.3f val_loss %.4f val_acc %.3f lr %.3g", self.label, epoch + 1,
                 self.epochs, row["loss"], row["accuracy"], row["val_loss"], row["val_accuracy"], lr)


def batches(train: Split, val: Split, batch_size: int, seed: int):
    """tf.data pipelines built once per run: TRAIN shuffled each epoch (seeded), val in large batches.

    Prebuilt datasets cost a quarter of Keras' per-epoch adapters over NumPy arrays.
    """
    import tensorflow as tf  # noqa: PLC0415

    train_ds = (tf.data.Dataset.from_tensor_slices(train)
                .shuffle(len(train[1]), seed=int(seed), reshuffle_each_iteration=True).batch(batch_size))
    val_ds = tf.data.Dataset.from_tensor_slices(val).batch(max(batch_size, 512))
    return train_ds, val_ds


def fit(model: keras.Model, train: Split, val: Split, hyper: Hyper, seed: int, label: str = "",
        initial_epoch: int = 0, epochs: int | None = None, early_stopping: bool = True,
        callbacks: Sequence[keras.callbacks.Callback] = ()) -> list[dict]:
    """Fit a compiled model on `train`, monitoring `val`; early stopping restores the best weights.

    Runs epochs initial_epoch+1 .. `epochs` (default hyper.epochs); returns their history rows.
    """
    last = hyper.epochs if epochs is None else epochs
    progress = ProgressLog(label, hyper.epochs)
    stops = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=hyper.patience,
                                           restore_best_weights=True)] if early_stopping else []
    train_ds, val_ds = batches(train, val, hyper.batch_size, seed)
    model.fit(train_ds, validation_data=val_ds, epochs=last, initial_epoch=initial_epoch, verbose=0,
              shuffle=False,  # train_ds reshuffles itself each epoch (seeded)
              callbacks=[*callbacks, progress, *stops])
    return progress.rows


def best_epoch(rows: list[dict]) -> int:
    """The epoch whose weights early stopping restored: the lowest validation loss (first on ties)."""
    return int(min(rows, key=lambda r: (r["val_loss"], r["epoch"]))["epoch"])


class Compiled:
    """One compiled network per job whose traced train/test functions serve every seed.

    Tracing Keras' functions costs ~2 s of CPU per new model; later seeds instead copy
    their freshly built (or loaded) initial state into this model and zero the optimizer's
    state, which gives the same numbers as a new model (tests check seed-order independence).
    Mixed precision (loss-scale state) always compiles anew.
    """

    def __init__(self):
        self.model: keras.Model | None = None

    def start(self, initial: keras.Model, compile_fn: Callable[[keras.Model], None]) -> keras.Model:
        """A compiled model holding `initial`'s variables and a fresh optimizer state."""
        if self.model is None or keras.mixed_precision.global_policy().name != "float32":
            compile_fn(initial)
            self.model = initial
            return initial
        def layout(model):  # names carry Keras' per-process counters (gru_cell_1, ...): compare shapes
            return [(tuple(v.shape), str(v.dtype)) for v in model.variables]

        if layout(initial) != layout(self.model):
            raise ValueError("a seed's network differs from the job's first network")
        for target, source in zip(self.model.variables, initial.variables):
            target.assign(source)
        optimizer = self.model.optimizer
        for variable in optimizer.variables:
            if variable.name == "learning_rate":
                continue
            variable.assign(np.zeros(variable.shape, dtype=variable.dtype))  # steps, moments
        return self.model


def train_new(build_model: Callable[[], keras.Model], train: Split, val: Split, hyper: Hyper, seed: int,
              label: str = "", compiled: Compiled | None = None) -> tuple[keras.Model, list[dict]]:
    """Build a freshly initialised network and fit it (baseline and pretrain arms)."""
    model = (compiled or Compiled()).start(build_model(), lambda m: compile_model(m, hyper.learning_rate))
    return model, fit(model, train, val, hyper, seed, label)


# --- per-seed outputs and reuse -------------------------------------------------------


def fingerprint(inputs: Sequence[str | Path], settings: dict, seed: int) -> str:
    """sha256 over the input files' digests, the settings (canonical JSON) and the seed."""
    payload = {"inputs": [sha256_of(p) for p in inputs], "settings": settings, "seed": int(seed)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def versions() -> dict:
    """Library versions recorded with every run."""
    import tensorflow as tf  # noqa: PLC0415

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__}


@dataclass(frozen=True)
class SeedOutput:
    """The three files of one seed's folder."""

    model: str
    history: str
    record: str

    @property
    def files(self) -> list[str]:
        return [self.model, self.history, self.record]


def seed_outputs(models: Sequence[str], histories: Sequence[str], records: Sequence[str]) -> list[SeedOutput]:
    """Pair the rule's per-seed output lists (same seed order)."""
    if not len(models) == len(histories) == len(records):
        raise ValueError("model, history and run.json outputs must list the same seeds")
    return [SeedOutput(*paths) for paths in zip(models, histories, records)]


def reusable(out: SeedOutput, print_: str) -> bool:
    """True when all three files exist and run.json carries this fingerprint."""
    if not all(Path(p).is_file() for p in out.files):
        return False
    try:
        return json.loads(Path(out.record).read_text()).get("fingerprint") == print_
    except (OSError, json.JSONDecodeError):
        return False


def save_run(out: SeedOutput, model: keras.Model, rows: list[dict], record: dict) -> None:
    """Write model.keras, history.tsv, then run.json last (its fingerprint marks the seed complete)."""
    Path(out.record).unlink(missing_ok=True)
    Path(out.model).parent.mkdir(parents=True, exist_ok=True)
    with written(out.model) as tmp:
        model.save(tmp)
    pd.DataFrame(rows, columns=HISTORY_COLUMNS).to_csv(out.history, sep="\t", index=False)
    Path(out.record).write_text(json.dumps(record, indent=2, default=str) + "\n")


def run_seeds(seeds: Sequence[int], outputs: Sequence[SeedOutput], inputs: Callable[[int], list[str]],
              settings: dict | Callable[[int], dict],
              train_seed: Callable[[int], tuple[keras.Model, list[dict], dict]]) -> dict[int, str]:
    """Train every seed whose outputs are missing or stale; returns seed -> 'reused' | 'trained'.

    `inputs(seed)` and `settings` (a dict, or seed -> dict) are what the seed's fingerprint
    covers. `train_seed(seed)` builds/loads and fits one model (called right after seeding)
    and returns the model, its history rows and extra run.json fields.
    """
    from synthtl import runtime  # noqa: PLC0415

    status = {}
    for seed, out in zip(seeds, outputs, strict=True):
        seed_inputs = inputs(seed)
        seed_settings = settings(seed) if callable(settings) else settings
        print_ = fingerprint(seed_inputs, seed_settings, seed)
        if reusable(out, print_):  # Snakemake touches it after the job, so mtimes stay consistent
            log.info("seed %d: reused (fingerprint matches) %s", seed, Path(out.record).parent)
            status[seed] = "reused"
            continue
        runtime.seed_everything(seed)
        start = time.perf_counter()
        model, rows, extra = train_seed(seed)
        elapsed = time.perf_counter() - start
        record = {
            "seed": int(seed), "settings": seed_settings, "fingerprint": print_,
            "inputs": [str(p) for p in seed_inputs],
            "epochs_run": len(rows), "best_epoch": best_epoch(rows), "train_time_s": round(elapsed, 3),
            "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "versions": versions(), **extra,
        }
        save_run(out, model, rows, record)
        log.info("seed %d: trained %d epochs (best %d) in %.1f s -> %s", seed, len(rows), record["best_epoch"],
                 elapsed, Path(out.record).parent)
        status[seed] = "trained"
    return status


def hyper_from(hp: dict, patience: int) -> Hyper:
    """Hyper from an hp dict (naming.parse_hp) and the patience setting."""
    return Hyper(float(hp["learning_rate"]), int(hp["batch_size"]), int(hp["epochs"]), int(patience))


def describe(hyper: Hyper) -> dict:
    """The hyperparameters as a plain dict for run.json settings."""
    return asdict(hyper)


def load_real(npz: str | Path, budget: str | float | None = None):
    """The real train and val splits of a run with this data budget (synthtl.budget; None: all), and the Budget."""
    from synthtl.budget import Budget  # noqa: PLC0415

    view = Budget(npz, budget)
    return view.load("train"), view.load("val"), view


def run_baseline(npz: str, model: str, network: dict, hp: dict, patience: int, seeds: Sequence[int],
                 train_fraction: str, models: Sequence[str], histories: Sequence[str], records: Sequence[str],
                 threads: int = 1, mixed_precision: bool = False) -> dict[int, str]:
    """Baseline cell: `model` trained from scratch on real TRAIN (or a fraction), every seed."""
    from synthtl import data, networks, runtime  # noqa: PLC0415

    runtime.configure(threads, mixed_precision=mixed_precision)
    train, val, budget = load_real(npz, train_fraction)  # a fraction below 1 is the scarce regime's budget
    hyper = hyper_from(hp, patience)
    n_classes = len(data.load_classes(npz))
    settings = {"arm": "baseline", "model": model, "network": network, "hyper": describe(hyper),
                "train_fraction": str(train_fraction), "mixed_precision": bool(mixed_precision),
                **budget.setting()}
    log.info("baseline %s: train %s, val %s, %d classes, seeds %s", model, train[0].shape, val[0].shape,
             n_classes, list(seeds))

    compiled = Compiled()

    def train_seed(seed: int):
        def build():
            return networks.build(model, train[0].shape[1:], n_classes, network)

        trained, rows = train_new(build, train, val, hyper, seed, label=f"seed {seed}", compiled=compiled)
        return trained, rows, {"n_train": len(train[1]), "n_val": len(val[1])}

    return run_seeds(seeds, seed_outputs(models, histories, records), lambda seed: [npz], settings, train_seed)

