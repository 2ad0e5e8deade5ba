"""Snakemake entry: the analysis figures (PNG + SVG) from the runs table, the statistics and the histories."""
from synthtl.logs import log_to
from synthtl.plots import make_figures

log = log_to(snakemake.log[0])
make_figures(dict(snakemake.input.items()), list(snakemake.input.histories), dict(snakemake.output.items()),
             snakemake.params.metric, snakemake.params.alpha)
log.info("figures written: %s", ", ".join(snakemake.output))
