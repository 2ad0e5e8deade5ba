# synthtl: does pretraining on synthetic series help multivariate time-series
# classification? This file is the table of contents; see README.md and
# ../shared/DESIGN.md for the DAG.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"


rule all:
    input:
        all_targets(),
    default_target: True
