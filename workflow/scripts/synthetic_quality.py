"""Snakemake entry: quality scores and figures of one synthetic set against real TRAIN and VAL (see synthtl.quality).

The GAN fraction comes from the path's {fraction} wildcard: it says which TRAIN cases the
generator saw, so that TSTR and the discriminative score use the cases it did not.
"""
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
    fraction=snakemake.wildcards.fraction,
)
