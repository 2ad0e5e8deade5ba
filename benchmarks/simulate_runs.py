"""Simulated runs tables with the structure of a real experiment and a known truth (for null_calibration.py).

Datasets differ in difficulty (two near the ceiling) and in TEST size (one of 15 cases, so scores come in
steps of 1/15); two models; a learning-rate grid whose largest rate diverges to chance in 30 % of runs (in
both arms alike); two generators; two GAN fractions; `gan_seeds` synthetic sets per (dataset, generator,
fraction), classifier seed s pretraining on set s mod len(gan_seeds), each set with its own instance effect
(mean 0); one baseline run per (dataset, model, hp, seed) shared by every finetune cell. Under the null the
baseline and finetune scores have the same distribution (the baseline's noise has the variance of the
finetune's noise plus its set effect), so every true gain is exactly 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MODELS = {"fcn": ("cnn", 0.0), "gru": ("rnn", -0.03)}
LRS = {0.01: -0.01, 0.001: 0.0, 0.0001: -0.04}  # the largest diverges (see DIVERGE)
DIVERGE = 0.3
GENERATORS = ["wgan", "jitter"]
FRACTIONS = [0.5, 1.0]


def simulate(seed: int, n_datasets: int = 8, seeds: int = 6, gan_seeds: int = 3, set_sd: float = 0.03,
             noise_sd: float = 0.03, generator_effect: float = 0.0, length_effect: float = 0.0) -> pd.DataFrame:
    """One runs table (the columns the analysis reads). Planted: `generator_effect` points for wgan's finetune
    runs; `length_effect` points per SD of log10(length) on every finetune run of a dataset."""
    rng = np.random.default_rng(seed)
    sizes = [15, 40, 100, 250]
    datasets = []
    for d in range(n_datasets):
        mu = 0.975 if d < 2 else rng.uniform(0.55, 0.9)
        datasets.append({"dataset": f"D{d}", "mu": mu, "n_test": sizes[d % len(sizes)], "n_val": 20 + 10 * (d % 3),
                         "length": int(np.exp(rng.uniform(np.log(8), np.log(2500)))),
                         "n_classes": int(rng.integers(2, 27)), "n_channels": int(rng.integers(2, 61)),
                         "n_train": int(rng.integers(20, 2000))})
    log_length = np.log10([d["length"] for d in datasets])
    z_length = (log_length - log_length.mean()) / log_length.std()
    rows = []
    quantise = lambda p, n: np.round(np.clip(p, 0, 1) * n) / n  # noqa: E731
    base_sd = np.hypot(noise_sd, set_sd)
    for d, info in enumerate(datasets):
        chance = 1 / info["n_classes"]
        factors = {k: info[k] for k in ("length", "n_classes", "n_channels", "n_train")}
        set_effect = {(g, f, s): rng.normal(0, set_sd) for g in GENERATORS for f in FRACTIONS for s in range(gan_seeds)}
        quality = {key: (rng.uniform(0.3, 0.9), rng.uniform(0.05, 0.45)) for key in set_effect}

        def score(latent: float) -> tuple[float, float]:
            if lr == 0.01 and rng.random() < DIVERGE:
                latent = chance
            return quantise(latent, info["n_test"]), quantise(latent + rng.normal(0, noise_sd), info["n_val"])

        for model, (family, offset) in MODELS.items():
            for lr, lr_offset in LRS.items():
                hp = f"lr{lr:g}-bs16-ep50"
                common = {"dataset": info["dataset"], "model": model, "family": family, "hp": hp, "learning_rate": lr,
                          "log10_learning_rate": np.log10(lr), "batch_size": 16, "epochs": 50, "train_fraction": 1.0,
                          **factors}
                mean = info["mu"] + offset + lr_offset
                for s in range(seeds):
                    test, val = score(mean + rng.normal(0, base_sd))
                    rows.append({**common, "arm": "baseline", "generator": None, "fraction": np.nan,
                                 "gan_seed": np.nan, "regime": None, "strategy": None, "seed": s, "f1_macro": test,
                                 "accuracy": test, "val_f1_macro": val, "val_accuracy": val,
                                 "epochs_run": int(rng.integers(10, 50))})
                    for g in GENERATORS:
                        for f in FRACTIONS:
                            k = s % gan_seeds
                            planted = generator_effect * (g == "wgan") + length_effect * z_length[d]
                            test, val = score(mean + set_effect[(g, f, k)] + planted + rng.normal(0, noise_sd))
                            tstr, disc = quality[(g, f, k)]
                            rows.append({**common, "arm": "finetune", "generator": g, "fraction": f, "gan_seed": k,
                                         "regime": "full", "strategy": "full", "seed": s, "f1_macro": test,
                                         "accuracy": test, "val_f1_macro": val, "val_accuracy": val,
                                         "epochs_run": int(rng.integers(10, 50)), "tstr_accuracy": tstr,
                                         "discriminative_score": disc})
    return pd.DataFrame(rows)
