# synthtl: does pretraining on synthetic series help multivariate time-series
# classification? This file is the table of contents; see README.md and
# ../shared/DESIGN.md for the DAG.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/gan.smk"
include: "workflow/rules/classify.smk"
include: "workflow/rules/transfer.smk"


rule all:
    default_target: True
    input:
        all_targets(),
