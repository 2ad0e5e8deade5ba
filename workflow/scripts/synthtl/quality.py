"""Quality of a synthetic set against the real TRAIN split (never TEST): scores and figures.

- discriminative score: |accuracy - 0.5| of a post-hoc classifier told to separate real
  from synthetic, trained on one half and scored on the other (both ways, averaged);
  0 = indistinguishable, 0.5 = trivially separable. As in Yoon et al. it is two-sided:
  near-copies of real TRAIN cases push accuracy BELOW 0.5 (a case's twin with the other
  label sits in the other half), so memorising generators score > 0 too;
  `discriminative_accuracy` tells the two sides apart;
- TSTR: train on synthetic, test on real TRAIN (and, reported beside it, on real VAL);
- per-class distances (RMSE) between real and synthetic mean curves and std curves.

The post-hoc classifier is MiniRocket features + RidgeClassifierCV (Dempster et al. 2021):
on CPU it is near state of the art for UEA data yet fits in well under a second for
these sizes, with no TensorFlow, so a quality job stays short; a small neural classifier
would need ~5 s just to import TensorFlow plus minutes of training to be as strong.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from synthtl.data import load_classes, load_split

log = logging.getLogger(__name__)

N_KERNELS = 2000  # MiniRocket's default is 10,000; 2,000 keeps it fast with little loss in accuracy


def _channels_first(X: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.transpose(X, (0, 2, 1)), dtype=np.float32)


def fit_predict(X_fit: np.ndarray, y_fit: np.ndarray, X_eval: np.ndarray, seed: int) -> np.ndarray:
    """Fit MiniRocket + RidgeClassifierCV on (X_fit, y_fit) and predict X_eval's labels."""
    from aeon.transformations.collection.convolution_based import MiniRocket  # noqa: PLC0415
    from sklearn.linear_model import RidgeClassifierCV  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    if len(np.unique(y_fit)) < 2:
        return np.full(len(X_eval), y_fit[0])
    transform = MiniRocket(n_kernels=N_KERNELS, random_state=seed)
    features = transform.fit_transform(_channels_first(X_fit))
    model = make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)))
    model.fit(features, y_fit)
    return model.predict(transform.transform(_channels_first(X_eval)))


def accuracy(X_fit: np.ndarray, y_fit: np.ndarray, X_eval: np.ndarray, y_eval: np.ndarray, seed: int) -> float:
    """Accuracy on (X_eval, y_eval) of the post-hoc classifier fitted on (X_fit, y_fit)."""
    return float(np.mean(fit_predict(X_fit, y_fit, X_eval, seed) == y_eval))


def discriminative_score(real: np.ndarray, synthetic: np.ndarray, seed: int, repeats: int = 5) -> dict:
    """|accuracy - 0.5| of real-vs-synthetic classification on held-out halves.

    Both sets are cut to the same size (seeded) so that chance is exactly 0.5; the accuracy
    is averaged over `repeats` seeded splits into halves, each scored both ways, because a
    single split of a small TRAIN set (BasicMotions: 32 cases) resolves it only to ~±0.06.
    """
    n = min(len(real), len(synthetic))
    if n < 2:
        raise ValueError(f"discriminative score needs >= 2 cases of each set, got {len(real)} real, {len(synthetic)} synthetic")
    accuracies = []
    for repeat in range(repeats):
        rng = np.random.default_rng([seed, repeat])
        X = np.concatenate([real[rng.choice(len(real), n, replace=False)],
                            synthetic[rng.choice(len(synthetic), n, replace=False)]])
        is_real = np.r_[np.ones(n, np.int64), np.zeros(n, np.int64)]
        halves = np.zeros(2 * n, dtype=bool)  # stratified halves: half of each set in each fold
        for group in (np.arange(n), np.arange(n, 2 * n)):
            halves[rng.permutation(group)[: n // 2]] = True
        accuracies += [accuracy(X[fold], is_real[fold], X[~fold], is_real[~fold], seed) for fold in (halves, ~halves)]
    acc = float(np.mean(accuracies))
    return {"discriminative_score": abs(acc - 0.5), "discriminative_accuracy": acc,
            "discriminative_accuracy_sd": float(np.std(accuracies))}


def class_distances(real: np.ndarray, y_real: np.ndarray, synthetic: np.ndarray, y_synthetic: np.ndarray,
                    classes) -> tuple[dict, dict]:
    """Per class (and their mean): RMSE between real and synthetic mean curves, and between std curves."""
    means, stds = {}, {}
    for code, name in enumerate(classes):
        r, s = real[y_real == code], synthetic[y_synthetic == code]
        if len(r) == 0 or len(s) == 0:
            means[str(name)] = stds[str(name)] = None
            continue
        means[str(name)] = float(np.sqrt(np.mean((r.mean(0) - s.mean(0)) ** 2)))
        stds[str(name)] = float(np.sqrt(np.mean((r.std(0) - s.std(0)) ** 2)))
    for table in (means, stds):
        values = [v for v in table.values() if v is not None]
        table["mean"] = float(np.mean(values)) if values else None
    return means, stds


def quality_report(npz_path: str | Path, synthetic_path: str | Path, seed: int) -> dict:
    """Every score of one synthetic set; reads only the train and val splits of prepared.npz."""
    X_train, y_train = load_split(npz_path, "train")
    X_val, y_val = load_split(npz_path, "val")
    classes = load_classes(npz_path)
    with np.load(synthetic_path) as data:
        X_syn, y_syn = data["X"], data["y"]
    if X_syn.shape[1:] != X_train.shape[1:]:
        raise ValueError(f"{synthetic_path}: series shape {X_syn.shape[1:]} differs from the real {X_train.shape[1:]}")
    means, stds = class_distances(X_train, y_train, X_syn, y_syn, classes)
    report = {
        "tstr_accuracy": accuracy(X_syn, y_syn, X_train, y_train, seed),
        "tstr_val_accuracy": accuracy(X_syn, y_syn, X_val, y_val, seed),
        "trtr_val_accuracy": accuracy(X_train, y_train, X_val, y_val, seed),
        **discriminative_score(X_train, X_syn, seed),
        "class_mean_distance": means,
        "class_std_distance": stds,
        "n_synthetic": int(len(X_syn)),
        "n_synthetic_per_class": {str(c): int((y_syn == i).sum()) for i, c in enumerate(classes)},
        "n_real_train": int(len(X_train)),
        "chance_accuracy": float(1.0 / len(classes)),
        "posthoc_classifier": f"MiniRocket({N_KERNELS} kernels) + RidgeClassifierCV",
        "seed": int(seed),
    }
    log.info("%s: tstr %.3f (val %.3f; real->val %.3f), discriminative %.3f, mean-curve RMSE %.3f",
             synthetic_path, report["tstr_accuracy"], report["tstr_val_accuracy"], report["trtr_val_accuracy"],
             report["discriminative_score"], means["mean"])
    return report


def plot_quality(npz_path: str | Path, synthetic_path: str | Path, samples_png: str | Path, embedding_png: str | Path,
                 embedding_vector: str | Path, seed: int, per_class: int = 3, title: str = "") -> None:
    """samples.png: a few real and synthetic series per class; embedding.png/.svg: PCA of real vs synthetic."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    from sklearn.decomposition import PCA  # noqa: PLC0415

    X_real, y_real = load_split(npz_path, "train")
    classes = load_classes(npz_path)
    with np.load(synthetic_path) as data:
        X_syn, y_syn = data["X"], data["y"]
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(classes), 2, figsize=(9, 1.8 * len(classes) + 0.6), sharex=True, squeeze=False)
    for code, name in enumerate(classes):
        for col, (X, y, kind) in enumerate(((X_real, y_real, "real"), (X_syn, y_syn, "synthetic"))):
            ax = axes[code, col]
            pool = np.flatnonzero(y == code)
            for i in rng.choice(pool, min(per_class, len(pool)), replace=False) if len(pool) else []:
                for channel in range(X.shape[2]):
                    ax.plot(X[i, :, channel], lw=0.7, color=f"C{channel % 10}", alpha=0.8)
            ax.set_title(f"{name} - {kind}", fontsize=8)
            ax.tick_params(labelsize=7)
    fig.suptitle(f"{title} real vs synthetic ({per_class} series per class, colour = channel)", fontsize=9)
    fig.tight_layout()
    fig.savefig(samples_png, dpi=110)
    plt.close(fig)

    flat = np.concatenate([X_real, X_syn]).reshape(len(X_real) + len(X_syn), -1)
    points = PCA(n_components=2, random_state=seed).fit_transform(flat)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for code, name in enumerate(classes):
        real = points[: len(X_real)][y_real == code]
        syn = points[len(X_real):][y_syn == code]
        ax.scatter(syn[:, 0], syn[:, 1], s=10, marker="x", color=f"C{code % 10}", alpha=0.6)
        ax.scatter(real[:, 0], real[:, 1], s=18, marker="o", facecolors="none", edgecolors=f"C{code % 10}",
                   label=str(name))
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(f"{title} PCA: o real TRAIN, x synthetic", fontsize=9)
    ax.legend(fontsize=7, title="class", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(embedding_png, dpi=110)
    fig.savefig(embedding_vector)
    plt.close(fig)


def write_quality(npz_path: str | Path, synthetic_path: str | Path, out_json: str | Path, samples_png: str | Path,
                  embedding_png: str | Path, embedding_vector: str | Path, seed: int, title: str = "") -> dict:
    """Compute the scores, draw the figures, write quality.json."""
    report = quality_report(npz_path, synthetic_path, seed)
    plot_quality(npz_path, synthetic_path, samples_png, embedding_png, embedding_vector, seed, title=title)
    Path(out_json).write_text(json.dumps(report, indent=2) + "\n")
    return report
