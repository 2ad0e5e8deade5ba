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

import logging
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from synthtl import training
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


def run_pretrain(npz: str, synthetic: str, model: str, network: dict, hp: dict, patience: int, seeds: Sequence[int],
                 models: Sequence[str], histories: Sequence[str], records: Sequence[str], threads: int = 1,
                 mixed_precision: bool = False) -> dict[int, str]:
    """Pretrain cell: `model` trained from scratch on the synthetic set only, early-stopped on real val."""
    from synthtl import data, networks, runtime  # noqa: PLC0415

    runtime.configure(threads, mixed_precision=mixed_precision)
    val = data.load_split(npz, "val")
    n_classes = len(data.load_classes(npz))
    train = load_synthetic(synthetic, n_classes, val[0].shape[1:])
    hyper = training.hyper_from(hp, patience)
    settings = {"arm": "pretrain", "model": model, "network": network, "hyper": training.describe(hyper),
                "mixed_precision": bool(mixed_precision)}
    log.info("pretrain %s: synthetic %s, real val %s, seeds %s", model, train[0].shape, val[0].shape, list(seeds))

    compiled = training.Compiled()

    def train_seed(seed: int):
        def build():
            return networks.build(model, val[0].shape[1:], n_classes, network)

        trained, rows = training.train_new(build, train, val, hyper, seed, label=f"seed {seed}", compiled=compiled)
        return trained, rows, {"n_train": len(train[1]), "n_val": len(val[1])}

    outputs = training.seed_outputs(models, histories, records)
    return training.run_seeds(seeds, outputs, lambda seed: [npz, synthetic], settings, train_seed)


def run_finetune(npz: str, pretrained: Sequence[str], model: str, hp: dict, patience: int, seeds: Sequence[int],
                 regime: str, fraction: str, strategy: str, strategy_settings: dict, models: Sequence[str],
                 histories: Sequence[str], records: Sequence[str], threads: int = 1,
                 mixed_precision: bool = False) -> dict[int, str]:
    """Fine-tune cell: each seed's pretrained model continues on real TRAIN (all of it, or the GAN's fraction)."""
    from synthtl import runtime  # noqa: PLC0415

    if regime not in ("full", "scarce"):
        raise ValueError(f"unknown regime {regime!r} (config transfer.regime); known: full, scarce")
    runtime.configure(threads, mixed_precision=mixed_precision)
    train, val = training.load_real(npz, None if regime == "full" else fraction)
    hyper = training.hyper_from(hp, patience)
    settings = {"arm": "finetune", "model": model, "hyper": training.describe(hyper), "regime": regime,
                "fraction": str(fraction), "strategy": strategy, "strategy_settings": strategy_settings,
                "mixed_precision": bool(mixed_precision)}
    by_seed = dict(zip(seeds, pretrained, strict=True))
    log.info("finetune %s (%s, %s): train %s, val %s, seeds %s", model, regime, strategy, train[0].shape,
             val[0].shape, list(seeds))

    compiled = training.Compiled()

    def train_seed(seed: int):
        start = keras.models.load_model(by_seed[seed], compile=False)
        tuned, rows, best = finetune_model(start, train, val, hyper, seed, strategy, label=f"seed {seed}",
                                           compiled=compiled, **strategy_settings)
        return tuned, rows, {"best_epoch": best, "pretrained": by_seed[seed], "n_train": len(train[1]),
                             "n_val": len(val[1])}

    outputs = training.seed_outputs(models, histories, records)
    return training.run_seeds(seeds, outputs, lambda seed: [npz, by_seed[seed]], settings, train_seed)
