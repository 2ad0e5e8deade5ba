"""The config schema, its messages, the default experiment and the paper-scale one."""

from __future__ import annotations

import copy
import re
import shutil

import pytest
import yaml
from snakemake.utils import update_config

from conftest import REPO, snakemake
from synthtl.config import EMBEDDED, ConfigError, check

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
PAPER_DATASETS = ["ArticularyWordRecognition", "AtrialFibrillation", "BasicMotions", "Epilepsy", "ERing",
                  "Handwriting", "JapaneseVowels", "Libras", "LSST", "NATOPS", "PenDigits", "RacketSports",
                  "StandWalkJump", "UWaveGestureLibrary"]


def load(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text())


def paper_as_snakemake_sees_it() -> dict:
    """config.yaml with paper.yaml merged over it, as `--configfile config/paper.yaml` does."""
    config = load("config.yaml")
    update_config(config, load("paper.yaml"))
    return config


def schema_properties(schema: dict, path: str = ""):
    """Every (key path, property schema, required?) of the schema, depth first."""
    for name, prop in schema.get("properties", {}).items():
        yield f"{path}{name}", prop, name in schema.get("required", [])
        yield from schema_properties(prop, f"{path}{name}.")


def test_every_key_has_a_description_and_a_default():
    schema = yaml.safe_load(SCHEMA.read_text())
    keys = list(schema_properties(schema))
    assert len(keys) > 30
    for key, prop, required in keys:
        assert prop.get("description"), f"{key} has no description"
        assert required or "default" in prop, f"{key} has no default"


def test_the_default_experiment_is_valid_and_embedded():
    config = load("config.yaml")
    check(config, SCHEMA)
    assert config["source"]["kind"] == "embedded"
    assert set(config["datasets"]) <= set(EMBEDDED)


@pytest.mark.parametrize("config", [load("paper.yaml"), paper_as_snakemake_sees_it()], ids=["alone", "merged"])
def test_the_paper_experiment_is_valid(config):
    check(config, SCHEMA)


def test_the_paper_experiment_is_the_one_the_issue_asks_for():
    paper = paper_as_snakemake_sees_it()
    assert paper["datasets"] == PAPER_DATASETS
    assert paper["source"]["kind"] == "archive"
    assert paper["source"]["archive_url"] == "https://timeseriesclassification.com/aeon-toolkit/{dataset}.zip"
    assert paper["fractions"] == [0.1, 0.25, 0.5, 1.0]
    classifier = paper["classifier"]
    assert classifier["models"] == ["fcn", "resnet", "gru", "lstm"]
    assert classifier["grid"]["learning_rate"] == [1e-2, 1e-3, 1e-4]
    assert all(isinstance(lr, float) for lr in classifier["grid"]["learning_rate"])  # YAML reads "1e-2" as text
    assert classifier["grid"]["batch_size"] == [16, 32]
    assert min(classifier["grid"]["epochs"]) >= 200
    assert len(set(classifier["seeds"])) == 10
    assert paper["gan"]["generators"] == ["wgan", "timegan", "jitter"]
    laptop = load("config.yaml")
    for generator in ("wgan", "timegan"):  # GPU budgets, not the default experiment's merged in
        steps = paper["gan"][generator]["epochs"] * paper["gan"][generator]["steps_per_epoch"]
        assert steps >= 10 * laptop["gan"][generator]["epochs"] * laptop["gan"][generator]["steps_per_epoch"]
    # the published network sizes, not the laptop-sized ones of config.yaml merged in
    assert classifier["networks"]["fcn"] == {"filters": [128, 256, 128], "kernel_sizes": [8, 5, 3]}
    assert classifier["networks"]["resnet"]["filters"] == [64, 128, 128]
    for rnn in ("gru", "lstm"):
        assert classifier["networks"][rnn]["units"] > laptop["classifier"]["networks"][rnn]["units"]


def valid() -> dict:
    return load("config.yaml")


def mutate(change) -> dict:
    config = copy.deepcopy(valid())
    change(config)
    return config


BAD = {
    "unknown dataset": (lambda c: (c["datasets"].append("BasicMotion"), c["source"].update(kind="archive")),
                        [r"config key datasets\[2\]", "'BasicMotion' is not a UEA multivariate dataset",
                         "ArticularyWordRecognition", "UWaveGestureLibrary", "StandWalkJump",
                         "source.kind=mirror"]),
    "dataset name a path cannot hold": (
        lambda c: (c["datasets"].append("my_data/x"), c["source"].update(kind="mirror", mirror="/data")),
        [r"config key datasets\[2\]", "'my_data/x' does not match"]),
    "bad source kind": (lambda c: c["source"].update(kind="ftp"),
                        ["config key source.kind", "'ftp'", "allowed values: embedded, archive, mirror"]),
    "bad length method": (lambda c: c["prepare"].update(length="stretch"),
                          ["config key prepare.length", "allowed values: resample, pad, truncate"]),
    "bad target length": (lambda c: c["prepare"].update(target_length="mean"),
                          ["config key prepare.target_length", "'mean'", "max, min", "an integer >= 2"]),
    "unknown top-level key": (lambda c: c.update(fraction=[0.5]),
                              ["config key fraction: unknown key", "known keys: datasets, source, prepare, fractions"]),
    "unknown nested key": (lambda c: c["prepare"].update(val_split=0.1),
                           ["config key prepare.val_split: unknown key", "known keys of prepare:", "val_fraction"]),
    "bad model": (lambda c: c["classifier"].update(models=["fcn", "cnn"]),
                  [r"config key classifier.models\[1\]", "allowed values: fcn, resnet, gru, lstm"]),
    "fraction out of range": (lambda c: c.update(fractions=[0.5, 1.5]),
                              [r"config key fractions\[1\]", "1.5 is greater than the maximum of 1"]),
    "bad checksum": (lambda c: c["source"].update(sha256={"BasicMotions": "abc"}),
                     ["config key source.sha256.BasicMotions", "does not match"]),
    "embedded source, archive-only dataset": (
        lambda c: c.update(datasets=["BasicMotions", "ERing"]),
        ["config key datasets", "'ERing' is not shipped with aeon", "BasicMotions, JapaneseVowels",
         "source.kind to archive or mirror"]),
    "mirror without a location": (lambda c: c["source"].update(kind="mirror", mirror=None),
                                  ["config key source.mirror", "needs a folder or base URL"]),
    "the replaced gan.seed": (lambda c: c["gan"].update(seed=0),
                              ["config key gan.seed", r"gan.seed was replaced by gan.seeds, a list"]),
    "gan.seeds not a list": (lambda c: c["gan"].update(seeds=0), [r"config key gan.seeds: 0 is not of type 'array'"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_config_names_the_key_and_the_allowed_values(case):
    change, expected = BAD[case]
    with pytest.raises(ConfigError) as error:
        check(mutate(change), SCHEMA)
    message = str(error.value)
    for pattern in expected:
        assert re.search(pattern, message), f"{pattern!r} not in:\n{message}"


def test_a_mirror_may_hold_datasets_of_ones_own_and_the_archive_only_uea_ones():
    own = mutate(lambda c: (c.update(datasets=["BasicMotions", "LabGait-2"]),
                            c["source"].update(kind="mirror", mirror="/data/uea")))
    check(own, SCHEMA)
    own["source"]["kind"] = "archive"
    with pytest.raises(ConfigError, match=r"datasets\[1\]: 'LabGait-2' is not a UEA multivariate dataset"):
        check(own, SCHEMA)


def test_the_replaced_gan_seed_is_said_once():
    with pytest.raises(ConfigError) as error:
        check(mutate(lambda c: c["gan"].update(seed=3)), SCHEMA)
    problems = str(error.value).splitlines()[1:]
    assert len(problems) == 1 and "unknown key" not in problems[0], problems


def test_gan_seeds_one_in_the_default_run_three_in_the_paper():
    assert valid()["gan"]["seeds"] == [0]
    assert "seed" not in valid()["gan"] and "seed" not in paper_as_snakemake_sees_it()["gan"]
    assert paper_as_snakemake_sees_it()["gan"]["seeds"] == [0, 1, 2]
    assert yaml.safe_load(SCHEMA.read_text())["properties"]["gan"]["properties"]["seeds"]["default"] == [0]


def test_gan_seed_for_takes_the_gan_seeds_in_turn():
    from synthtl.naming import gan_seed_for  # noqa: PLC0415

    assert [gan_seed_for(s, [0, 1]) for s in range(5)] == [0, 1, 0, 1, 0]
    assert [gan_seed_for(s, [7]) for s in (0, 1, 2)] == [7, 7, 7]
    assert [gan_seed_for(s, [0, 1, 2]) for s in (3, 4, 5, 9)] == [0, 1, 2, 0]
    with pytest.raises(ValueError, match="gan.seeds"):
        gan_seed_for(0, [])


def test_every_problem_is_listed():
    config = mutate(lambda c: (c["source"].update(kind="ftp"), c["prepare"].update(missing="drop")))
    with pytest.raises(ConfigError) as error:
        check(config, SCHEMA)
    assert "source.kind" in str(error.value) and "prepare.missing" in str(error.value)


@pytest.mark.workflow
def test_paper_experiment_dry_run_plans_every_dataset_and_downloads_nothing(tmp_path):
    """The paper config parses, validates and plans its data stage without touching the network.

    Its data targets only: the whole paper DAG (11,624 jobs: 9,944 with one GAN seed, plus the
    generator jobs of two more) takes Snakemake ~100 s of CPU to plan, beyond this suite's budget.
    """
    (tmp_path / "config").mkdir()
    for name in ("config.yaml", "paper.yaml"):
        shutil.copy(REPO / "config" / name, tmp_path / "config" / name)
    paper = tmp_path / "config" / "paper.yaml"  # (--configfile is read relative to the caller, not -d)
    targets = [f"results/data/{name}/prepared.npz" for name in PAPER_DATASETS]
    result = snakemake(tmp_path, "-n", *targets, "--quiet", "rules", "--configfile", str(paper), timeout=300)
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", result.stdout, re.MULTILINE))
    assert int(counts["download"]) == len(PAPER_DATASETS)
    assert int(counts["prepare"]) == len(PAPER_DATASETS)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["config"]
