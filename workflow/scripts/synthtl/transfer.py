"""Two-phase arm: pretrain on a synthetic set, then fine-tune on real TRAIN with a chosen strategy.

Same network, hyperparameters, seed list and validation split as the baseline cell; only
the initial weights differ. Strategies of fine-tuning:

- ``full``: continue training every layer at the grid's learning rate (the source study);
- ``freeze_then_unfreeze``: a new classification head; the pretrained feature extractor is
  frozen for ``freeze_epochs`` epochs, then everything trains (early stopping from there);
- ``discriminative_lr``: the pretrained layers learn at ``learning_rate x pretrained_lr_factor``,
  the head at the grid's learning rate.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from synthtl import training
from synthtl.budget import Budget
from synthtl.networks import FEATURES, HEAD, classification_head

log = logging.getLogger(__name__)

STRATEGIES = ("full", "freeze_then_unfreeze", "discriminative_lr")


def load_synthetic(path: str | Path, n_classes: int, input_shape: tuple[int, ...]) -> training.Split:
    """X, y of a synthetic.npz, checked against the real data's shape and label codes."""
    with np.load(path, allow_pickle=False) as archive:
        missing = {"X", "y"} - set(archive.files)
        if missing:
            raise ValueError(f"{path}: synthetic set lacks {sorted(missing)}")
        X, y = archive["X"].astype(np.float32), archive["y"].astype(np.int64)
    if X.shape[1:] != tuple(input_shape) or len(X) != len(y) or len(y) == 0:
        raise ValueError(f"{path}: X {X.shape}, y {y.shape} do not match the real cases' shape {tuple(input_shape)}")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"{path}: labels {sorted(set(y.tolist()))} outside the {n_classes} real classes")
    return X, y


def new_head(model: keras.Model) -> keras.Model:
    """The model with a freshly initialised classification head on its `features` layer."""
    features = model.get_layer(FEATURES).output
    n_classes = model.get_layer(HEAD).units
    return keras.Model(model.inputs, classification_head(features, n_classes), name=model.name)


def set_trainable(model: keras.Model, trainable: bool) -> None:
    """Freeze or unfreeze every layer but the head."""
    for layer in model.layers:
        if layer.name != HEAD:
            layer.trainable = trainable


def finetune_model(pretrained: keras.Model, train: training.Split, val: training.Split, hyper: training.Hyper,
                   seed: int, strategy: str = "full", freeze_epochs: int = 10, pretrained_lr_factor: float = 0.1,
                   label: str = "", callbacks: Sequence[keras.callbacks.Callback] = (),
                   compiled: training.Compiled | None = None) -> tuple[keras.Model, list[dict], int]:
    """Continue training `pretrained` on real data; returns the model, history rows and the restored epoch.

    `compiled` (full and discriminative_lr) lets the seeds of one job share traced functions.
    """
    compiled = compiled or training.Compiled()
    if strategy == "full":
        model = compiled.start(pretrained, lambda m: training.compile_model(m, hyper.learning_rate))
        rows = training.fit(model, train, val, hyper, seed, label, callbacks=callbacks)
        return model, rows, training.best_epoch(rows)
    if strategy == "discriminative_lr":
        head = {v.path for v in pretrained.get_layer(HEAD).trainable_variables}
        scaled = [v.path for v in pretrained.trainable_variables if v.path not in head]

        def compile_layerwise(m: keras.Model) -> None:
            optimizer = training.LayerwiseAdam(scaled=scaled, factor=pretrained_lr_factor,
                                               learning_rate=hyper.learning_rate)
            training.compile_model(m, hyper.learning_rate, optimizer=optimizer)

        model = compiled.start(pretrained, compile_layerwise)
        rows = training.fit(model, train, val, hyper, seed, label, callbacks=callbacks)
        return model, rows, training.best_epoch(rows)
    if strategy == "freeze_then_unfreeze":
        model = new_head(pretrained)
        frozen = min(int(freeze_epochs), hyper.epochs)
        set_trainable(model, False)
        training.compile_model(model, hyper.learning_rate)
        rows = training.fit(model, train, val, hyper, seed, f"{label} frozen", epochs=frozen, early_stopping=False,
                            callbacks=callbacks)
        if frozen < hyper.epochs:
            set_trainable(model, True)
            training.compile_model(model, hyper.learning_rate)  # fresh Adam for the newly trainable layers
            later = training.fit(model, train, val, hyper, seed, label, initial_epoch=frozen)
            return model, rows + later, training.best_epoch(later)
        return model, rows, len(rows)  # no early stopping while frozen: the last epoch's weights
    raise ValueError(f"unknown fine-tuning strategy {strategy!r} (config transfer.strategy); known: {', '.join(STRATEGIES)}")


def run_pretrain(npz: str, synthetic: str | Sequence[str], model: str, network: dict, hp: dict, patience: int,
                 seeds: Sequence[int], models: Sequence[str], histories: Sequence[str], records: Sequence[str],
                 threads: int = 1, mixed_precision: bool = False,
                 gan_seeds: Sequence[int] | None = None, budget: str | None = None) -> dict[int, str]:
    """Pretrain cell: `model` trained from scratch on synthetic data only, early-stopped on real val.

    With `budget` (the scarce regime's fraction), val is the budget's and every synthetic set
    is put in the budget's scale (synthtl.budget), as the fine-tuning that follows sees its data.

    `synthetic` and `gan_seeds` list each seed's synthetic set and the GAN seed that made it
    (same order as `seeds`; one path is every seed's set, of GAN seed 0 unless given). A
    seed's fingerprint covers only its own set and GAN seed.
    """
    from synthtl import data, networks, runtime  # noqa: PLC0415

    seeds = [int(seed) for seed in seeds]
    sets = [synthetic] * len(seeds) if isinstance(synthetic, (str, Path)) else [str(p) for p in synthetic]
    made_by = [0] * len(seeds) if gan_seeds is None else [int(g) for g in gan_seeds]
    if not len(sets) == len(made_by) == len(seeds):
        raise ValueError(f"pretrain {model}: {len(seeds)} seeds but {len(sets)} synthetic sets and "
                         f"{len(made_by)} GAN seeds")
    by_seed = {seed: (str(path), gan_seed) for seed, path, gan_seed in zip(seeds, sets, made_by)}
    runtime.configure(threads, mixed_precision=mixed_precision)
    view = Budget(npz, budget)
    val = view.load("val")
    n_classes = len(data.load_classes(npz))
    loaded: dict[str, training.Split] = {}  # each synthetic set read once, however many seeds use it
    for path, _ in by_seed.values():
        if path not in loaded:
            X_syn, y_syn = load_synthetic(path, n_classes, val[0].shape[1:])
            loaded[path] = (view.restandardise(X_syn), y_syn)
    hyper = training.hyper_from(hp, patience)
    settings = {"arm": "pretrain", "model": model, "network": network, "hyper": training.describe(hyper),
                "mixed_precision": bool(mixed_precision), **view.setting()}
    log.info("pretrain %s: real val %s, seeds %s on GAN seeds %s", model, val[0].shape, seeds, made_by)

    compiled = training.Compiled()

    def train_seed(seed: int):
        path, gan_seed = by_seed[seed]
        train = loaded[path]
        log.info("seed %d: synthetic set of GAN seed %d %s (%s)", seed, gan_seed, train[0].shape, path)

        def build():
            return networks.build(model, val[0].shape[1:], n_classes, network)

        trained, rows = training.train_new(build, train, val, hyper, seed, label=f"seed {seed}", compiled=compiled)
        return trained, rows, {"gan_seed": gan_seed, "synthetic": path, "n_train": len(train[1]),
                               "n_val": len(val[1])}

    outputs = training.seed_outputs(models, histories, records)
    return training.run_seeds(seeds, outputs, lambda seed: [npz, by_seed[seed][0]],
                              lambda seed: {**settings, "gan_seed": by_seed[seed][1]}, train_seed)


def pretrained_gan_seed(record_path: str | Path) -> int | None:
    """The GAN seed a pretrain run.json records (None in one written before gan.seeds)."""
    gan_seed = json.loads(Path(record_path).read_text()).get("gan_seed")
    return None if gan_seed is None else int(gan_seed)


def run_finetune(npz: str, pretrained: Sequence[str], model: str, hp: dict, patience: int, seeds: Sequence[int],
                 regime: str, fraction: str, strategy: str, strategy_settings: dict, models: Sequence[str],
                 histories: Sequence[str], records: Sequence[str], threads: int = 1,
                 mixed_precision: bool = False,
                 pretrained_records: Sequence[str] | None = None) -> dict[int, str]:
    """Fine-tune cell: each seed's pretrained model continues on real TRAIN (all of it, or the GAN's fraction).

    `pretrained_records` are the pretrain run.json files beside the models (same order); each
    seed's run.json records the `gan_seed` that its pretrain run.json names.
    """
    from synthtl import runtime  # noqa: PLC0415

    if regime not in ("full", "scarce"):
        raise ValueError(f"unknown regime {regime!r} (config transfer.regime); known: full, scarce")
    runtime.configure(threads, mixed_precision=mixed_precision)
    train, val, budget = training.load_real(npz, None if regime == "full" else fraction)
    hyper = training.hyper_from(hp, patience)
    settings = {"arm": "finetune", "model": model, "hyper": training.describe(hyper), "regime": regime,
                "fraction": str(fraction), "strategy": strategy, "strategy_settings": strategy_settings,
                "mixed_precision": bool(mixed_precision), **budget.setting()}
    by_seed = dict(zip(seeds, pretrained, strict=True))
    gan_seed_of = ({seed: pretrained_gan_seed(path) for seed, path in zip(seeds, pretrained_records, strict=True)}
                   if pretrained_records is not None else dict.fromkeys(seeds))
    log.info("finetune %s (%s, %s): train %s, val %s, seeds %s", model, regime, strategy, train[0].shape,
             val[0].shape, list(seeds))

    compiled = training.Compiled()

    def train_seed(seed: int):
        start = keras.models.load_model(by_seed[seed], compile=False)
        tuned, rows, best = finetune_model(start, train, val, hyper, seed, strategy, label=f"seed {seed}",
                                           compiled=compiled, **strategy_settings)
        return tuned, rows, {"best_epoch": best, "pretrained": by_seed[seed], "gan_seed": gan_seed_of[seed],
                             "n_train": len(train[1]), "n_val": len(val[1])}

    outputs = training.seed_outputs(models, histories, records)
    return training.run_seeds(seeds, outputs, lambda seed: [npz, by_seed[seed]], settings, train_seed)
