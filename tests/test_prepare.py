"""The prepare step on real UEA files: sizes against the published metadata, and the split invariants.

The oracle is a plain-text reading of the .ts files written here (not aeon's parser, which
prepare uses), so a parsing or bookkeeping slip in prepare shows up as a mismatch.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from synthtl.data import PrepareError, fraction_index, harmonise, load_classes, load_split, prepare, write_prepared
from synthtl.fetch import embedded_dir

SHARED = ["ArticularyWordRecognition", "AtrialFibrillation", "BasicMotions", "Epilepsy", "ERing",
          "JapaneseVowels", "NATOPS", "RacketSports"]
EMBEDDED = ["BasicMotions", "JapaneseVowels"]
CASES = [f"mirror:{name}" for name in SHARED] + [f"embedded:{name}" for name in EMBEDDED]
SETTINGS = {"length": "resample", "target_length": "max", "missing": "interpolate", "val_fraction": 0.2,
            "min_per_class": 1, "seed": 0}
FRACTIONS = [0.1, 0.25, 0.5, 1.0]


def parse_ts_text(path: Path) -> tuple[list[np.ndarray], list[str]]:
    """Independent oracle: (time, channels) arrays and labels read as plain text ('?' = missing)."""
    cases, labels, in_data = [], [], False
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if in_data:
            *dims, label = line.split(":")
            cases.append(np.array([[np.nan if v == "?" else float(v) for v in d.split(",")] for d in dims]).T)
            labels.append(label.strip())
        elif line.lower().startswith("@data"):
            in_data = True
    return cases, labels


def rewrite_ts(source: Path, target: Path, change) -> None:
    """Copy a .ts file, passing each data line's list of value lists through `change`."""
    out, in_data = [], False
    for line in source.read_text().splitlines():
        if in_data and line.strip():
            *dims, label = line.split(":")
            values = change([d.split(",") for d in dims])
            line = ":".join([",".join(v) for v in values] + [label])
        elif line.strip().lower().startswith("@data"):
            in_data = True
        out.append(line)
    target.write_text("\n".join(out) + "\n")


@pytest.fixture(scope="module")
def files(shared_uea, tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """case -> (TRAIN, TEST) paths: the shared zips unpacked, and aeon's shipped files."""
    root = tmp_path_factory.mktemp("uea")
    out = {}
    for name in SHARED:
        with zipfile.ZipFile(shared_uea / f"{name}.zip") as archive:
            archive.extractall(root / name)
        out[f"mirror:{name}"] = (root / name / f"{name}_TRAIN.ts", root / name / f"{name}_TEST.ts")
    for name in EMBEDDED:
        folder = embedded_dir(name)
        out[f"embedded:{name}"] = (folder / f"{name}_TRAIN.ts", folder / f"{name}_TEST.ts")
    return out


@pytest.fixture(scope="module")
def metadata(shared_uea) -> dict[str, dict[str, int]]:
    with open(shared_uea / "metadata.csv") as handle:
        return {row["Dataset"]: {k: int(v) for k, v in row.items() if k != "Dataset"} for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def prepared(files):
    """prepare() with the default settings, once per case."""
    cache = {}

    def get(case: str):
        if case not in cache:
            train, test = files[case]
            cache[case] = prepare(train, test, case.split(":")[1], dict(SETTINGS), FRACTIONS)
        return cache[case]

    return get


@pytest.fixture(scope="module")
def oracle(files):
    cache = {}

    def get(case: str):
        if case not in cache:
            cache[case] = tuple(parse_ts_text(path) for path in files[case])
        return cache[case]

    return get


@pytest.mark.parametrize("case", CASES)
def test_sizes_and_classes_match_the_published_metadata(case, prepared, oracle, metadata):
    name = case.split(":")[1]
    arrays, meta = prepared(case)
    published = metadata[name]
    (train_cases, train_labels), (test_cases, test_labels) = oracle(case)

    assert meta["n_train"] + meta["n_val"] == published["TrainSize"] == len(train_labels)
    assert meta["n_test"] == published["TestSize"]
    assert meta["n_classes"] == published["NumberClasses"] == len(arrays["classes"])
    assert meta["n_channels"] == published["Channels"]
    length = meta["length"]
    for split in ("train", "val", "test"):
        X, y = arrays[f"X_{split}"], arrays[f"y_{split}"]
        assert X.shape == (meta[f"n_{split}"], length, published["Channels"]) and X.dtype == np.float32
        assert y.shape == (meta[f"n_{split}"],) and y.dtype == np.int64
        assert np.isfinite(X).all()
    if published["Length"]:
        assert length == meta["original_min_length"] == meta["original_max_length"] == published["Length"]
        assert meta["equal_length"] is True
    else:  # unequal length: harmonised to the longest TRAIN series, the original range recorded
        train_lengths = [len(c) for c in train_cases]
        all_lengths = train_lengths + [len(c) for c in test_cases]
        assert meta["equal_length"] is False
        assert (meta["original_min_length"], meta["original_max_length"]) == (min(all_lengths), max(all_lengths))
        assert meta["original_min_length"] < meta["original_max_length"]
        assert length == max(train_lengths)

    classes = list(arrays["classes"])
    assert classes == sorted(set(train_labels)) == meta["classes"]
    counts = meta["class_counts"]
    assert Counter(train_labels) == Counter(counts["train"]) + Counter(counts["val"])
    assert Counter(test_labels) == Counter({k: v for k, v in counts["test"].items() if v})
    # labels decode to the file's labels, case by case
    assert [classes[i] for i in arrays["y_test"]] == test_labels
    assert [classes[i] for i in arrays["y_train"]] == [train_labels[i] for i in arrays["train_index"]]
    assert [classes[i] for i in arrays["y_val"]] == [train_labels[i] for i in arrays["val_index"]]


@pytest.mark.parametrize("case", CASES)
def test_splits_come_from_train_and_statistics_from_the_training_split(case, prepared, oracle):
    arrays, meta = prepared(case)
    (train_cases, _), (test_cases, _) = oracle(case)
    train_index, val_index = arrays["train_index"], arrays["val_index"]
    # train and validation partition TRAIN
    assert len(np.intersect1d(train_index, val_index)) == 0
    assert np.array_equal(np.sort(np.concatenate([train_index, val_index])), np.arange(len(train_cases)))
    for f in FRACTIONS:
        index = arrays[f"fraction_index_{f:g}"]
        assert index.min() >= 0 and index.max() < meta["n_train"] and len(np.unique(index)) == len(index)

    raw_train = harmonise(train_cases, meta["length"], "resample")  # a no-op for equal-length sets
    raw_test = harmonise(test_cases, meta["length"], "resample")
    fitted = raw_train[train_index]
    np.testing.assert_allclose(arrays["norm_mean"], fitted.mean(axis=(0, 1)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arrays["norm_std"], fitted.std(axis=(0, 1)), rtol=1e-5, atol=1e-6)

    def raw(X):
        return X.astype(np.float64) * arrays["norm_std"] + arrays["norm_mean"]

    # every validation case is the TRAIN case its index names (so no TEST case is in it)
    scale = np.abs(fitted).max()
    np.testing.assert_allclose(raw(arrays["X_train"]), fitted, atol=1e-5 * scale)
    np.testing.assert_allclose(raw(arrays["X_val"]), raw_train[val_index], atol=1e-5 * scale)
    np.testing.assert_allclose(raw(arrays["X_test"]), raw_test, atol=1e-5 * scale)


@pytest.mark.parametrize("case", CASES)
def test_fractions_are_nested_and_stratified(case, prepared):
    arrays, meta = prepared(case)
    y = arrays["y_train"]
    previous = np.array([], dtype=np.int64)
    for f in FRACTIONS:
        index = arrays[f"fraction_index_{f:g}"]
        assert np.isin(previous, index).all(), f"fraction {f} does not contain the smaller one"
        assert meta["fraction_sizes"][f"{f:g}"] == len(index)
        for c in range(meta["n_classes"]):
            n_class, kept = int((y == c).sum()), int((y[index] == c).sum())
            assert kept >= 1
            assert kept == 1 or abs(kept - f * n_class) <= 0.5, (f, c, kept, n_class)
        previous = index
    assert np.array_equal(arrays["fraction_index_1"], np.arange(meta["n_train"]))


def test_validation_split_is_stratified(prepared):
    arrays, meta = prepared("mirror:ERing")
    for c in range(meta["n_classes"]):
        n_class = int((arrays["y_train"] == c).sum() + (arrays["y_val"] == c).sum())
        assert abs((arrays["y_val"] == c).sum() - 0.2 * n_class) <= 0.5


def test_the_seed_decides_the_splits(files, prepared):
    train, test = files["mirror:Epilepsy"]
    first, _ = prepared("mirror:Epilepsy")
    again, _ = prepare(train, test, "Epilepsy", dict(SETTINGS), FRACTIONS)
    other, _ = prepare(train, test, "Epilepsy", {**SETTINGS, "seed": 1}, FRACTIONS)
    for key in first:
        assert np.array_equal(first[key], again[key]), key
    assert not np.array_equal(first["val_index"], other["val_index"])
    assert not np.array_equal(first["fraction_index_0.5"], other["fraction_index_0.5"])
    assert not np.array_equal(first["norm_mean"], other["norm_mean"])


def test_min_per_class_is_kept(files):
    train, test = files["mirror:ERing"]  # 4 training cases per class after the validation split
    arrays, meta = prepare(train, test, "ERing", {**SETTINGS, "min_per_class": 3}, FRACTIONS)
    y = arrays["y_train"]
    for f in FRACTIONS:
        kept = np.bincount(y[arrays[f"fraction_index_{f:g}"]], minlength=meta["n_classes"])
        assert kept.min() >= 3, (f, kept)
    assert np.bincount(y[arrays["fraction_index_0.1"]]).tolist() == [3] * meta["n_classes"]


def test_min_per_class_that_cannot_be_met_names_dataset_fraction_and_class(files):
    train, test = files["mirror:AtrialFibrillation"]  # 4 training cases per class
    with pytest.raises(PrepareError) as error:
        prepare(train, test, "AtrialFibrillation", {**SETTINGS, "min_per_class": 5}, FRACTIONS)
    message = str(error.value)
    assert re.search(r"^AtrialFibrillation: fraction 0\.1 cannot keep 5 case\(s\) of class '(n|s|t)'", message), message
    assert "min_per_class" in message


def test_a_fraction_read_later_that_cannot_keep_a_class_names_it(files, tmp_path):
    train, test = files["mirror:AtrialFibrillation"]  # the workflow prepares without a fraction list
    arrays, meta = prepare(train, test, "AtrialFibrillation", {**SETTINGS, "min_per_class": 5})
    write_prepared(arrays, meta, tmp_path / "prepared.npz", tmp_path / "meta.json")
    with pytest.raises(PrepareError, match=r"^AtrialFibrillation: fraction 0\.5 cannot keep 5 case\(s\) of class"):
        load_split(tmp_path / "prepared.npz", "train", 0.5)


@pytest.mark.parametrize("name", ["BasicMotions", "JapaneseVowels"])
def test_test_values_do_not_reach_train_val_or_statistics(files, prepared, tmp_path, name):
    train, test = files[f"embedded:{name}"]
    changed = tmp_path / f"{name}_TEST.ts"
    rewrite_ts(test, changed, lambda dims: [[f"{float(v) * 100 + 3:.6f}" for v in d] for d in dims])
    before, meta_before = prepared(f"embedded:{name}")
    after, meta_after = prepare(train, changed, name, dict(SETTINGS), FRACTIONS)
    for key in before:
        if key != "X_test":
            assert np.array_equal(before[key], after[key]), key
    assert not np.allclose(before["X_test"], after["X_test"])
    assert meta_before["length"] == meta_after["length"]


def test_target_length_comes_from_train_only(files, prepared, tmp_path):
    train, test = files["embedded:JapaneseVowels"]
    longer = tmp_path / "JapaneseVowels_TEST.ts"

    def stretch(dims, counter=iter(range(10**6))):  # the first five TEST series three times as long
        return [d * 3 for d in dims] if next(counter) < 5 else dims

    rewrite_ts(test, longer, stretch)
    before, meta = prepared("embedded:JapaneseVowels")
    after, meta_after = prepare(train, longer, "JapaneseVowels", dict(SETTINGS), FRACTIONS)
    longest = max(len(case) for case in parse_ts_text(longer)[0])
    assert meta_after["original_max_length"] == longest > meta["original_max_length"]
    assert meta_after["length"] == meta["length"]
    assert after["X_test"].shape[1] == meta["length"]


@pytest.mark.parametrize("length", [26, 7, 40])
def test_resampling_equals_tslearns(oracle, length):
    from tslearn.preprocessing import TimeSeriesResampler

    (cases, _), _ = oracle("embedded:JapaneseVowels")
    cases = cases[::5]  # every length the set has, at a fifth of the cost
    expected = np.stack([TimeSeriesResampler(sz=length).fit_transform(case[None])[0] for case in cases])
    np.testing.assert_allclose(harmonise(cases, length, "resample"), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["pad", "truncate"])
def test_pad_and_truncate(files, oracle, method):
    train, test = files["embedded:JapaneseVowels"]
    target = "max" if method == "pad" else "min"
    arrays, meta = prepare(train, test, "JapaneseVowels", {**SETTINGS, "length": method, "target_length": target},
                           [1.0])
    (train_cases, _), _ = oracle("embedded:JapaneseVowels")
    lengths = [len(train_cases[i]) for i in arrays["train_index"]]
    assert meta["length"] == (max if method == "pad" else min)(len(c) for c in train_cases)
    X = arrays["X_train"].astype(np.float64) * arrays["norm_std"] + arrays["norm_mean"]
    for row, i in enumerate(arrays["train_index"][:50]):
        case, n = train_cases[i], lengths[row]
        if method == "pad":
            np.testing.assert_allclose(X[row, :n], case, atol=1e-4)
            np.testing.assert_allclose(X[row, n:], np.repeat(case[-1:], meta["length"] - n, axis=0), atol=1e-4)
        else:
            np.testing.assert_allclose(X[row], case[: meta["length"]], atol=1e-4)


@pytest.mark.parametrize("method", ["interpolate", "zero"])
def test_missing_values_are_filled(files, tmp_path, method):
    train, test = files["embedded:BasicMotions"]
    holes = tmp_path / "BasicMotions_TRAIN.ts"
    gaps = {0: (10, 13), 5: (40, 41)}  # case -> missing time steps [start, stop) in channel 0

    def punch(dims, counter=iter(range(10**6))):
        i = next(counter)
        if i in gaps:
            start, stop = gaps[i]
            dims[0][start:stop] = ["?"] * (stop - start)
        return dims

    rewrite_ts(train, holes, punch)
    arrays, meta = prepare(holes, test, "BasicMotions", {**SETTINGS, "missing": method}, [1.0])
    assert meta["missing_values_filled"] == 4
    cases, _ = parse_ts_text(train)
    split = {int(i): ("train", row) for row, i in enumerate(arrays["train_index"])}
    split.update({int(i): ("val", row) for row, i in enumerate(arrays["val_index"])})
    for i, (start, stop) in gaps.items():
        name, row = split[i]
        filled = arrays[f"X_{name}"][row, start:stop, 0].astype(np.float64)
        if method == "zero":  # the channel's TRAIN mean, i.e. 0 after normalisation
            np.testing.assert_allclose(filled, 0.0, atol=1e-5)
        else:
            left, right = cases[i][start - 1, 0], cases[i][stop, 0]
            expected = np.interp(np.arange(start, stop), [start - 1, stop], [left, right])
            raw = filled * arrays["norm_std"][0] + arrays["norm_mean"][0]
            np.testing.assert_allclose(raw, expected, atol=1e-4)


def test_a_test_label_unknown_to_train_is_an_error(files, tmp_path):
    train, test = files["embedded:BasicMotions"]
    odd = tmp_path / "BasicMotions_TEST.ts"
    odd.write_text(test.read_text().replace(":Standing\n", ":Swimming\n", 1))
    with pytest.raises(PrepareError, match=r"^BasicMotions: .*BasicMotions_TEST\.ts has labels absent from TRAIN: \['Swimming'\]$"):
        prepare(train, odd, "BasicMotions", dict(SETTINGS), FRACTIONS)


def test_written_files_load_back(prepared, tmp_path):
    arrays, meta = prepared("mirror:RacketSports")
    npz, meta_path = tmp_path / "prepared.npz", tmp_path / "meta.json"
    write_prepared(arrays, meta, npz, meta_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meta.json", "prepared.npz"]
    X, y = load_split(npz, "train", 0.25)
    index = arrays["fraction_index_0.25"]
    assert np.array_equal(X, arrays["X_train"][index]) and np.array_equal(y, arrays["y_train"][index])
    X_test, y_test = load_split(npz, "test")
    assert np.array_equal(X_test, arrays["X_test"]) and np.array_equal(y_test, arrays["y_test"])
    assert list(load_classes(npz)) == meta["classes"]
    with pytest.raises(ValueError, match="train split only"):
        load_split(npz, "val", 0.25)
    # any fraction can be read, not only those listed when preparing: nested between its neighbours
    X3, y3 = load_split(npz, "train", 0.3)
    index3 = fraction_index(npz, 0.3)
    assert set(arrays["fraction_index_0.25"]) <= set(index3) <= set(arrays["fraction_index_0.5"])
    assert np.array_equal(X3, arrays["X_train"][index3]) and np.array_equal(y3, arrays["y_train"][index3])
    for f in FRACTIONS:
        assert np.array_equal(fraction_index(npz, f), arrays[f"fraction_index_{f:g}"])
