"""Snakemake entry: effects (tuned first), per-cell tests, aggregations, headline, Friedman, factors -> results/stats/."""
from synthtl.logs import log_to
from synthtl.stats import write_stats

log = log_to(snakemake.log[0])
params = snakemake.params
tables = write_stats(snakemake.input.runs, dict(snakemake.output.items()), params.metric, list(params.metrics), params.alpha,
                     params.min_seeds, params.min_datasets, params.bootstrap, params.seed, list(params.contrasts),
                     list(params.search))
for line in tables["headline"]["statement"]:
    log.info("%s", line)
