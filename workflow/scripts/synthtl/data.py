"""Prepare step: .ts files -> prepared.npz + meta.json, and the loaders every later step uses.

Arrays are float32 shaped (cases, time, channels); labels are int codes into `classes`.
TEST is parsed and transformed with settings fitted on TRAIN only (target length,
normalisation statistics); the validation split and the nested fractions come from TRAIN.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from synthtl.files import written
from synthtl.naming import fmt_frac

log = logging.getLogger(__name__)

TRAIN_SPLITS = ("train", "val")  # what a training step may read


class PrepareError(ValueError):
    """The data cannot be prepared as configured; the message names the dataset and the cause."""


def read_ts(path: str | Path) -> tuple[list[np.ndarray], np.ndarray]:
    """Parse a .ts file with aeon's parser: a list of (time, channels) float arrays and the label strings."""
    from aeon.datasets import load_from_ts_file  # noqa: PLC0415

    try:
        X, y = load_from_ts_file(str(path), return_type="np-list")
    except Exception as error:  # aeon raises bare IOError/ValueError subclasses with its own wording
        raise PrepareError(f"{path}: cannot be parsed as a .ts file: {error}") from error
    if y is None or len(y) == 0:
        raise PrepareError(f"{path}: no labelled cases")
    return [np.asarray(case, dtype=np.float64).T for case in X], _original_labels(path, np.asarray(y).astype(str))


def _original_labels(path: str | Path, parsed: np.ndarray) -> np.ndarray:
    """The class labels as the file spells them (aeon lower-cases every data line, labels included).

    A label is what follows the last ':' of a data line; each must agree with aeon's, case aside.
    """
    labels, in_data = [], False
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if in_data and line:
                labels.append(line.rsplit(":", 1)[-1].strip())
            elif line.lower() == "@data":
                in_data = True
    if len(labels) != len(parsed) or any(a.lower() != b.lower() for a, b in zip(labels, parsed)):
        raise PrepareError(f"{path}: the class labels of the data lines do not match aeon's parse")
    return np.asarray(labels)


def fill_missing(series: np.ndarray, method: str, fill: np.ndarray | None = None) -> np.ndarray:
    """Fill NaNs of one (time, channels) series: linear interpolation in time (edges take the nearest value) or constants.

    `fill` holds one value per channel (prepare passes the TRAIN mean, which is 0 after
    normalisation); it fills every NaN with method 'zero' and channels with no value at all
    with 'interpolate'. Without it the constant is 0.
    """
    if not np.isnan(series).any():
        return series
    out = series.copy()
    fill = np.zeros(out.shape[1]) if fill is None else np.asarray(fill, dtype=np.float64)
    steps = np.arange(len(out))
    for channel in range(out.shape[1]):
        values = out[:, channel]
        known = ~np.isnan(values)
        if method == "zero" or not known.any():
            values[~known] = fill[channel]
        else:
            out[:, channel] = np.interp(steps, steps[known], values[known])
    return out


def target_length(train_lengths: list[int], setting: str | int) -> int:
    """The common length: max or min of TRAIN's lengths, or a fixed number."""
    if setting == "max":
        return max(train_lengths)
    if setting == "min":
        return min(train_lengths)
    return int(setting)


def _resample(cases: np.ndarray, length: int) -> np.ndarray:
    """(n, time, channels) cases of one length, linearly resampled to `length` steps.

    The method of tslearn's TimeSeriesResampler (both ends kept, linear interpolation on a
    uniform grid; tests compare the two), vectorised: tslearn's own spends seconds per dataset
    formatting arrays to choose a backend.
    """
    size = cases.shape[1]
    if size == 1:
        return np.repeat(cases, length, axis=1)
    position = np.linspace(0.0, size - 1.0, length)
    left = np.minimum(np.floor(position).astype(np.int64), size - 2)
    weight = (position - left)[None, :, None]
    return cases[:, left] * (1.0 - weight) + cases[:, left + 1] * weight


def harmonise(cases: list[np.ndarray], length: int, method: str) -> np.ndarray:
    """Bring every (time, channels) case to `length`.

    resample: linear interpolation to `length`; pad: repeat the last value at the end
    (longer cases are resampled down); truncate: cut the end (shorter cases are resampled up).
    """
    out = np.empty((len(cases), length, cases[0].shape[1]), dtype=np.float64)
    to_resample: dict[int, list[int]] = {}  # original length -> cases, resampled together
    for i, case in enumerate(cases):
        if len(case) == length:
            out[i] = case
        elif method == "pad" and len(case) < length:
            out[i, : len(case)] = case
            out[i, len(case) :] = case[-1]
        elif method == "truncate" and len(case) > length:
            out[i] = case[:length]
        else:
            to_resample.setdefault(len(case), []).append(i)
    for group in to_resample.values():
        out[group] = _resample(np.stack([cases[i] for i in group]), length)
    return out


def stratified_permutation(y: np.ndarray, rng: np.random.Generator) -> dict[int, np.ndarray]:
    """Per class, a seeded random order of that class's indices."""
    return {int(c): rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)}


def validation_split(y: np.ndarray, val_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Indices of a stratified validation split; every class keeps at least one training case."""
    val = []
    for c, order in stratified_permutation(y, rng).items():
        n_val = int(round(val_fraction * len(order)))
        n_val = min(max(n_val, 1), len(order) - 1)  # in val when it can be spared; >= 1 left to train on
        val.extend(order[:n_val])
    return np.sort(np.asarray(val, dtype=np.int64))


def fraction_ranks(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each case's position in a seeded random order of its class: the basis of every fraction subset."""
    rank = np.empty(len(y), dtype=np.int64)
    for order in stratified_permutation(y, rng).values():
        rank[order] = np.arange(len(order))
    return rank


def fraction_subset(y: np.ndarray, rank: np.ndarray, fraction: float, min_per_class: int, dataset: str,
                    classes) -> np.ndarray:
    """Indices of the stratified subset `fraction`: per class, the cases ranked below max(min_per_class, round(f·n)).

    One ranking serves every fraction, so the subsets are nested (0.25 inside 0.5) and any
    fraction can be asked for later without preparing the data again.
    """
    chosen = []
    for c in range(len(classes)):
        members = y == c
        n = int(members.sum())
        k = max(min_per_class, int(round(float(fraction) * n)))
        if k > n:
            raise PrepareError(
                f"{dataset}: fraction {fmt_frac(fraction)} cannot keep {min_per_class} case(s) of class "
                f"{str(classes[c])!r}: the training split has only {n} (prepare.min_per_class)"
            )
        chosen.append(np.flatnonzero(members & (rank < k)))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def _channel_means(cases: list[np.ndarray]) -> np.ndarray:
    """Per-channel mean of the known values of (time, channels) cases; 0 for a channel with none."""
    values = np.concatenate(cases, axis=0)
    known = ~np.isnan(values)
    sums = np.where(known, values, 0.0).sum(axis=0)
    counts = known.sum(axis=0)
    return np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)


def scaling(X_fit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and SD (float64) of (cases, time, channels) series; SD 1 for a constant channel."""
    mean, std = X_fit.mean(axis=(0, 1), dtype=np.float64), X_fit.std(axis=(0, 1), dtype=np.float64)
    std[std == 0] = 1.0  # a constant channel stays constant (zero) instead of dividing by zero
    return mean, std


def standardise(X: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return ((X - mean) / std).astype(np.float32)


def unstandardise(X: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return (X * std + mean).astype(np.float32)


def prepare(train_path: str | Path, test_path: str | Path, dataset: str, settings: dict,
            fractions: list = ()) -> tuple[dict, dict]:
    """Parse, harmonise, fill, encode, split, normalise: the arrays of prepared.npz and the meta.json dict.

    Fraction subsets come from `fraction_rank` (see fraction_subset); `fractions` adds
    their indices as fraction_index_{f} and checks now that each keeps every class.
    """
    train_cases, train_labels = read_ts(train_path)
    test_cases, test_labels = read_ts(test_path)
    n_channels = {case.shape[1] for case in train_cases + test_cases}
    if len(n_channels) != 1:
        raise PrepareError(f"{dataset}: cases have different channel counts {sorted(n_channels)}")
    classes = np.unique(train_labels)
    unknown = sorted(str(label) for label in set(test_labels) - set(classes))
    if unknown:
        raise PrepareError(f"{dataset}: {test_path} has labels absent from TRAIN: {unknown}")
    lengths = {"train": [len(c) for c in train_cases], "test": [len(c) for c in test_cases]}
    length = target_length(lengths["train"], settings["target_length"])
    n_missing = int(sum(np.isnan(c).sum() for c in train_cases + test_cases))
    y_all = np.searchsorted(classes, train_labels)
    y_test = np.searchsorted(classes, test_labels)

    rng = np.random.default_rng(settings["seed"])
    val_idx = validation_split(y_all, settings["val_fraction"], rng)
    train_idx = np.setdiff1d(np.arange(len(y_all)), val_idx)
    fill = _channel_means([train_cases[i] for i in train_idx]) if n_missing else None

    def transform(cases):
        return harmonise([fill_missing(c, settings["missing"], fill) for c in cases], length, settings["length"])

    X_all, X_test = transform(train_cases), transform(test_cases)
    X_train, y_train, X_val, y_val = X_all[train_idx], y_all[train_idx], X_all[val_idx], y_all[val_idx]

    mean, std = scaling(X_train)

    def scale(X):
        return standardise(X, mean, std)

    rank = fraction_ranks(y_train, rng)
    val_rank = fraction_ranks(y_val, rng)  # drawn after `rank`, which stays what it was before it existed
    subsets = {fmt_frac(f): fraction_subset(y_train, rank, f, settings["min_per_class"], dataset, classes)
               for f in sorted(fractions)}
    arrays = {
        "X_train": scale(X_train), "y_train": y_train.astype(np.int64),
        "X_val": scale(X_val), "y_val": y_val.astype(np.int64),
        "X_test": scale(X_test), "y_test": y_test.astype(np.int64),
        "classes": classes, "train_index": train_idx, "val_index": val_idx,
        "norm_mean": mean.astype(np.float32), "norm_std": std.astype(np.float32),
        "dataset": np.array(dataset), "fraction_rank": rank, "val_rank": val_rank,
        "min_per_class": np.array(settings["min_per_class"]),
        **{f"fraction_index_{f}": idx for f, idx in subsets.items()},
    }

    def counts(y):
        return {str(classes[c]): int((y == c).sum()) for c in range(len(classes))}

    meta = {
        "dataset": dataset,
        "n_train": int(len(y_train)), "n_val": int(len(y_val)), "n_test": int(len(y_test)),
        "n_train_total": int(len(y_all)),
        "n_channels": int(n_channels.pop()), "length": int(length),
        "original_min_length": int(min(lengths["train"] + lengths["test"])),
        "original_max_length": int(max(lengths["train"] + lengths["test"])),
        "equal_length": len(set(lengths["train"] + lengths["test"])) == 1,
        "n_classes": int(len(classes)), "classes": [str(c) for c in classes],
        "class_counts": {"train": counts(y_train), "val": counts(y_val), "test": counts(y_test)},
        **({"fraction_sizes": {f: int(len(idx)) for f, idx in subsets.items()}} if subsets else {}),
        "missing_values_filled": n_missing,
        "settings": settings,
    }
    return arrays, meta


def write_prepared(arrays: dict, meta: dict, npz_path: str | Path, meta_path: str | Path) -> None:
    """Write prepared.npz and meta.json, each through a temporary file renamed into place."""
    with written(npz_path) as tmp:
        np.savez_compressed(tmp, **arrays)
    with written(meta_path) as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n")


def prepare_files(train_path: str | Path, test_path: str | Path, record_path: str | Path, dataset: str,
                  settings: dict, npz_path: str | Path, meta_path: str | Path) -> dict:
    """The prepare step: prepare the two .ts files, add the download record to the meta, write both outputs."""
    # No fraction list: subsets are derived from fraction_rank when read, so adding a fraction
    # to the config does not prepare the data again (and retrain everything downstream).
    arrays, meta = prepare(train_path, test_path, dataset, dict(settings))
    meta["source"] = json.loads(Path(record_path).read_text())
    write_prepared(arrays, meta, npz_path, meta_path)
    log.info("%s: %s", dataset, {k: meta[k] for k in ("n_train", "n_val", "n_test", "length", "n_channels", "n_classes")})
    return meta


def load_split(npz_path: str | Path, split: str, fraction: float | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """X, y of one split ('train', 'val' or 'test'); with `fraction`, that nested subset of train.

    Only the arrays asked for are read from the file: a training step that loads 'train'
    and 'val' never reads X_test.
    """
    with np.load(npz_path, allow_pickle=False) as data:
        X, y = data[f"X_{split}"], data[f"y_{split}"]
        if fraction is not None:
            if split != "train":
                raise ValueError("fractions are subsets of the train split only")
            index = _fraction_index(data, fraction)
            X, y = X[index], y[index]
    return X, y


def _fraction_index(data, fraction: float | str) -> np.ndarray:
    return fraction_subset(data["y_train"], data["fraction_rank"], float(fraction), int(data["min_per_class"]),
                           str(data["dataset"]), data["classes"])


def fraction_index(npz_path: str | Path, fraction: float | str) -> np.ndarray:
    """Indices into the train split of the nested, stratified subset `fraction`."""
    with np.load(npz_path, allow_pickle=False) as data:
        return _fraction_index(data, fraction)


def load_classes(npz_path: str | Path) -> np.ndarray:
    """The original label names, in code order."""
    with np.load(npz_path, allow_pickle=False) as data:
        return data["classes"]
