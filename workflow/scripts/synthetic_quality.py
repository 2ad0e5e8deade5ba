"""Snakemake entry: quality scores and figures of one synthetic set against real TRAIN (see synthtl.quality)."""
from synthtl.logs import log_to
from synthtl.quality import write_quality

log_to(snakemake.log[0])
write_quality(
    snakemake.input.npz,
    snakemake.input.synthetic,
    out_json=snakemake.output.quality,
    samples_png=snakemake.output.samples,
    embedding_png=snakemake.output.embedding,
    embedding_vector=snakemake.output.embedding_svg,
    seed=snakemake.params.seed,
    title=snakemake.params.title,
)
