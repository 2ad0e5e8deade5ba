# Config checks, wildcard constraints, target lists and input functions.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from snakemake.utils import validate

from synthtl import config as synthtl_config
from synthtl.naming import fmt_frac, hp_id

SCHEMA = str(Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")
synthtl_config.check(config, SCHEMA)  # clear messages, before any job
validate(config, schema=SCHEMA, set_default=True)  # fills in the defaults

DATASETS = config["datasets"]
# 1.0 is always prepared: the full regime's baseline and fine-tuning use all of TRAIN.
FRACTIONS = sorted({fmt_frac(f) for f in config["fractions"]} | {"1"}, key=float)
GAN_FRACTIONS = sorted({fmt_frac(f) for f in config["fractions"]}, key=float)


wildcard_constraints:
    dataset="|".join(DATASETS),
    fraction=r"[0-9.]+",


def get_source(wildcards):
    """The download settings of one dataset (only what that source uses, so other edits rerun nothing)."""
    source = config["source"]
    settings = {"kind": source["kind"]}
    if source["kind"] != "embedded":
        settings.update(
            url=source["archive_url"] if source["kind"] == "archive" else source["mirror"],
            sha256=source["sha256"].get(wildcards.dataset),
            timeout_s=source["timeout_s"],
            retries=source["retries"],
            max_mb=source["max_mb"],
        )
    return settings


def data_targets():
    return expand("results/data/{dataset}/prepared.npz", dataset=DATASETS)


def all_targets():
    """What `rule all` builds: the furthest stage that exists for every configured cell."""
    return data_targets()
