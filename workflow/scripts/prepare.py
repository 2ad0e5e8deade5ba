"""Snakemake entry: parse, harmonise, split and normalise one dataset (see synthtl.data)."""
import json
from pathlib import Path

from synthtl.data import prepare, write_prepared
from synthtl.logs import log_to

log = log_to(snakemake.log[0])
dataset = snakemake.wildcards.dataset
arrays, meta = prepare(
    snakemake.input.train, snakemake.input.test, dataset, dict(snakemake.params.settings), [float(f) for f in snakemake.params.fractions]
)
record = json.loads(Path(snakemake.input.record).read_text())
meta["source"] = record
write_prepared(arrays, meta, snakemake.output.npz, snakemake.output.meta)
log.info("%s: %s", dataset, {k: meta[k] for k in ("n_train", "n_val", "n_test", "length", "n_channels", "n_classes")})
