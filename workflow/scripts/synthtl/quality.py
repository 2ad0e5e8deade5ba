"""Quality of a synthetic set against real data (TRAIN and VAL; never TEST): scores and figures.

The generator of a synthetic set saw only its GAN fraction's cases of TRAIN ("seen"); every
other real case it may be scored on is "held out": VAL plus the TRAIN cases outside the
fraction (none at fraction 1). quality.json holds:

- ``tstr_accuracy``: train on synthetic, test on real: accuracy of the post-hoc classifier
  fitted on the synthetic set and scored on the held-out real cases (VAL + TRAIN outside the
  fraction); ``tstr_balanced_accuracy`` is the same predictions' balanced accuracy (mean
  per-class recall over the classes present), ``tstr_heldout_n`` the number of held-out cases,
  ``tstr_val_accuracy`` the accuracy on VAL alone, and ``tstr_insample_accuracy`` the accuracy
  on the seen cases, the ones the generator was fitted on (in-sample, optimistic);
- ``trtr_accuracy`` / ``trtr_val_accuracy``: the reference: the classifier fitted on the seen
  real cases instead, scored on the same held-out cases / on VAL;
- ``discriminative_score``: |accuracy - 0.5| of the post-hoc classifier told to separate real
  from synthetic, trained on one half and scored on the other (both ways, over seeded
  repeats; ``discriminative_accuracy`` and ``_sd`` are the mean and spread). The cases are
  class-matched: per class, as many synthetic as real cases (the smaller count of the two),
  so the class mix carries no information (a class-balanced synthetic set against imbalanced
  real data scored ~0.2 without matching however good the generator). The real cases are the
  held-out ones unless they give fewer than MIN_HELDOUT_PAIRS matched cases and the seen ones
  give more; ``discriminative_real_source`` says which ("heldout" or "train_fraction") and
  ``discriminative_n_real`` how many real cases were drawn. 0 = indistinguishable, 0.5 =
  trivially separable. As in Yoon et al. it is two-sided: against the seen cases, near-copies
  of them push accuracy BELOW 0.5 (a case's twin with the other label sits in the other
  half), so memorising generators score > 0 too; against held-out cases copies have no twin;
  ``discriminative_accuracy`` tells the sides apart;
- ``class_mean_distance`` / ``class_std_distance``: per class (and their mean), RMSE between
  real TRAIN and synthetic mean curves and std curves;
- counts and provenance: ``gan_fraction``, ``n_synthetic``, ``n_synthetic_per_class``,
  ``n_real_train`` (all of TRAIN), ``n_real_seen``, ``n_real_val``, ``chance_accuracy``,
  ``posthoc_classifier``, ``seed``.

The post-hoc classifier is MiniRocket features + RidgeClassifierCV (Dempster et al. 2021):
on CPU it is near state of the art for UEA data yet fits in well under a second for
these sizes, with no TensorFlow, so a quality job stays short; a small neural classifier
would need ~5 s just to import TensorFlow plus minutes of training to be as strong.
MiniRocket needs at least 9 time steps; shorter series (PenDigits: 8) are edge-padded at
the end to 9 for it, real and synthetic alike.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from synthtl.data import fraction_index, load_classes, load_split
from synthtl.naming import fmt_frac

log = logging.getLogger(__name__)

N_KERNELS = 2000  # MiniRocket's default is 10,000; 2,000 keeps it fast with little loss in accuracy
MIN_LENGTH = 9  # MiniRocket's shortest series (its dilated kernels span 9 steps)
MIN_HELDOUT_PAIRS = 16  # below this many matched held-out real cases, one half resolves accuracy only to ~±0.12


def _posthoc_input(X: np.ndarray) -> np.ndarray:
    """Cases x channels x time float32 for MiniRocket, edge-padded at the end to MIN_LENGTH steps."""
    if X.shape[1] < MIN_LENGTH:
        X = np.pad(X, ((0, 0), (0, MIN_LENGTH - X.shape[1]), (0, 0)), mode="edge")
    return np.ascontiguousarray(np.transpose(X, (0, 2, 1)), dtype=np.float32)


def fit_predict(X_fit: np.ndarray, y_fit: np.ndarray, X_eval: np.ndarray, seed: int) -> np.ndarray:
    """Fit MiniRocket + RidgeClassifierCV on (X_fit, y_fit) and predict X_eval's labels."""
    from aeon.transformations.collection.convolution_based import MiniRocket  # noqa: PLC0415
    from sklearn.linear_model import RidgeClassifierCV  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    if len(np.unique(y_fit)) < 2:
        return np.full(len(X_eval), y_fit[0])
    if len(X_eval) == 0:
        return np.asarray(y_fit[:0])
    transform = MiniRocket(n_kernels=N_KERNELS, random_state=seed)
    features = transform.fit_transform(_posthoc_input(X_fit))
    model = make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)))
    model.fit(features, y_fit)
    return model.predict(transform.transform(_posthoc_input(X_eval)))


def accuracy(X_fit: np.ndarray, y_fit: np.ndarray, X_eval: np.ndarray, y_eval: np.ndarray, seed: int) -> float:
    """Accuracy on (X_eval, y_eval) of the post-hoc classifier fitted on (X_fit, y_fit)."""
    return float(np.mean(fit_predict(X_fit, y_fit, X_eval, seed) == y_eval))


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean per-class recall over the classes present in y_true."""
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))


def _matched_counts(y_real: np.ndarray, y_synthetic: np.ndarray) -> dict[int, int]:
    """Per class, the number of cases drawn from each set: the smaller of the two counts."""
    classes = np.union1d(y_real, y_synthetic)
    return {int(c): int(min((y_real == c).sum(), (y_synthetic == c).sum())) for c in classes}


def discriminative_score(real: np.ndarray, y_real: np.ndarray, synthetic: np.ndarray, y_synthetic: np.ndarray,
                         seed: int, repeats: int = 5) -> dict:
    """|accuracy - 0.5| of class-matched real-vs-synthetic classification on held-out halves.

    Per class, as many real as synthetic cases are drawn (seeded, the smaller count of the
    two) and split between the halves in equal numbers, so chance is exactly 0.5 and class
    membership tells nothing about the source. The accuracy is averaged over `repeats`
    seeded draws, each scored both ways, because a single split of a small set (BasicMotions:
    32 cases) resolves it only to ~±0.06.
    """
    counts = _matched_counts(y_real, y_synthetic)
    n = sum(counts.values())
    if n < 2:
        raise ValueError(f"discriminative score needs >= 2 class-matched cases of each set, got {n} "
                         f"({len(real)} real, {len(synthetic)} synthetic)")
    accuracies = []
    for repeat in range(repeats):
        rng = np.random.default_rng([seed, repeat])
        picks, folds = {0: [], 1: []}, {0: [], 1: []}  # per set (0 synthetic, 1 real): indices, in half A?
        odd = rng.permutation([c for c, k in counts.items() if k % 2])
        extra = {int(c): i % 2 == 0 for i, c in enumerate(odd)}  # odd classes alternate their spare pair
        for c, k in counts.items():
            in_a = np.zeros(k, dtype=bool)
            in_a[: k // 2 + (extra.get(c, False) and k % 2)] = True
            for source, y in ((1, y_real), (0, y_synthetic)):
                picks[source].append(rng.choice(np.flatnonzero(y == c), k, replace=False))
                folds[source].append(in_a)
        X = np.concatenate([real[np.concatenate(picks[1])], synthetic[np.concatenate(picks[0])]])
        is_real = np.r_[np.ones(n, np.int64), np.zeros(n, np.int64)]
        halves = np.concatenate(folds[1] + folds[0])
        accuracies += [accuracy(X[fold], is_real[fold], X[~fold], is_real[~fold], seed) for fold in (halves, ~halves)]
    acc = float(np.mean(accuracies))
    return {"discriminative_score": abs(acc - 0.5), "discriminative_accuracy": acc,
            "discriminative_accuracy_sd": float(np.std(accuracies)), "discriminative_n_real": int(n)}


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


def real_splits(npz_path: str | Path, fraction: float | str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The real cases quality is scored on, from TRAIN and VAL only (never TEST).

    'train': all of TRAIN; 'seen': the fraction's TRAIN cases (what the generator was fitted
    on); 'val': VAL; 'heldout': VAL followed by the TRAIN cases outside the fraction.
    """
    X_train, y_train = load_split(npz_path, "train")
    X_val, y_val = load_split(npz_path, "val")
    seen = np.zeros(len(y_train), dtype=bool)
    seen[fraction_index(npz_path, fraction)] = True
    return {"train": (X_train, y_train), "seen": (X_train[seen], y_train[seen]), "val": (X_val, y_val),
            "heldout": (np.concatenate([X_val, X_train[~seen]]), np.concatenate([y_val, y_train[~seen]]))}


def tstr_scores(X_syn: np.ndarray, y_syn: np.ndarray, real: dict, seed: int) -> dict:
    """Train on synthetic, test on real: held-out (with balanced accuracy and n), VAL only, and in-sample."""
    X_held, y_held = real["heldout"]
    X_seen, y_seen = real["seen"]
    n_val = len(real["val"][1])
    predicted = fit_predict(X_syn, y_syn, np.concatenate([X_held, X_seen]), seed)
    held, seen = predicted[: len(y_held)], predicted[len(y_held):]
    if len(y_held) == 0:
        log.warning("no held-out real cases (empty VAL at fraction 1): tstr_accuracy is null")
    return {
        "tstr_accuracy": float(np.mean(held == y_held)) if len(y_held) else None,
        "tstr_balanced_accuracy": balanced_accuracy(y_held, held) if len(y_held) else None,
        "tstr_heldout_n": int(len(y_held)),
        "tstr_val_accuracy": float(np.mean(held[:n_val] == y_held[:n_val])) if n_val else None,
        "tstr_insample_accuracy": float(np.mean(seen == y_seen)),
    }


def trtr_scores(real: dict, seed: int) -> dict:
    """Train on the seen real cases, test on the held-out ones and on VAL: the reference for TSTR."""
    X_held, y_held = real["heldout"]
    n_val = len(real["val"][1])
    predicted = fit_predict(*real["seen"], X_held, seed)
    return {"trtr_accuracy": float(np.mean(predicted == y_held)) if len(y_held) else None,
            "trtr_val_accuracy": float(np.mean(predicted[:n_val] == y_held[:n_val])) if n_val else None}


def discriminative_real(real: dict, y_syn: np.ndarray) -> tuple[str, tuple[np.ndarray, np.ndarray]]:
    """The real cases for the discriminative score: held out, unless too few match and the seen ones give more."""
    n_held = sum(_matched_counts(real["heldout"][1], y_syn).values())
    n_seen = sum(_matched_counts(real["seen"][1], y_syn).values())
    if n_held >= MIN_HELDOUT_PAIRS or n_held >= n_seen:
        return "heldout", real["heldout"]
    return "train_fraction", real["seen"]


def quality_report(npz_path: str | Path, synthetic_path: str | Path, seed: int, fraction: float | str = 1.0) -> dict:
    """Every score of one synthetic set from a generator fitted on TRAIN's `fraction`; reads only train and val.

    `fraction` defaults to 1 (all of TRAIN seen, VAL alone held out), which never counts a
    case the generator may have seen as held out.
    """
    real = real_splits(npz_path, fraction)
    X_train, y_train = real["train"]
    classes = load_classes(npz_path)
    with np.load(synthetic_path) as data:
        X_syn, y_syn = data["X"], data["y"]
    if X_syn.shape[1:] != X_train.shape[1:]:
        raise ValueError(f"{synthetic_path}: series shape {X_syn.shape[1:]} differs from the real {X_train.shape[1:]}")
    means, stds = class_distances(X_train, y_train, X_syn, y_syn, classes)
    source, (X_disc, y_disc) = discriminative_real(real, y_syn)
    report = {
        **tstr_scores(X_syn, y_syn, real, seed),
        **trtr_scores(real, seed),
        **discriminative_score(X_disc, y_disc, X_syn, y_syn, seed),
        "discriminative_real_source": source,
        "class_mean_distance": means,
        "class_std_distance": stds,
        "gan_fraction": fmt_frac(fraction),
        "n_synthetic": int(len(X_syn)),
        "n_synthetic_per_class": {str(c): int((y_syn == i).sum()) for i, c in enumerate(classes)},
        "n_real_train": int(len(X_train)),
        "n_real_seen": int(len(real["seen"][1])),
        "n_real_val": int(len(real["val"][1])),
        "chance_accuracy": float(1.0 / len(classes)),
        "posthoc_classifier": f"MiniRocket({N_KERNELS} kernels) + RidgeClassifierCV",
        "seed": int(seed),
    }
    log.info("%s: tstr %s on %d held-out cases (val %s; in-sample %.3f; real->held-out %s), "
             "discriminative %.3f (%d %s real cases), mean-curve RMSE %.3f", synthetic_path,
             report["tstr_accuracy"], report["tstr_heldout_n"], report["tstr_val_accuracy"],
             report["tstr_insample_accuracy"], report["trtr_accuracy"], report["discriminative_score"],
             report["discriminative_n_real"], source, means["mean"])
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
                  embedding_png: str | Path, embedding_vector: str | Path, seed: int, title: str = "",
                  fraction: float | str = 1.0) -> dict:
    """Compute the scores of a generator fitted on TRAIN's `fraction`, draw the figures, write quality.json."""
    report = quality_report(npz_path, synthetic_path, seed, fraction)
    plot_quality(npz_path, synthetic_path, samples_png, embedding_png, embedding_vector, seed, title=title)
    Path(out_json).write_text(json.dumps(report, indent=2) + "\n")
    return report
