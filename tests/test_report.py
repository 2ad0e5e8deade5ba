"""The paper-shaped smoke experiment through the real workflow, then `snakemake --report`: a self-contained HTML
report holding every analysis figure, the synthetic-vs-real figures and the main tables, each captioned."""

from __future__ import annotations

import base64
import json
import re
from itertools import product

import pandas as pd
import pytest



FIGURES = ["boxplots", "heatmap", "cd_diagram", "factor_effects", "gain_vs_quality", "learning_curves"]
TABLES = ["cells", "aggregations", "headline", "friedman", "ranks", "factor_coefficients", "factor_anova"]
PNG = b"\x89PNG\r\n\x1a\n"


def report_entries(html: str) -> dict[str, dict]:
    """The report's embedded file records (path -> record with caption and data_uri)."""
    decoder = json.JSONDecoder()
    entries = {}
    for match in re.finditer(r'"(results/[^"]+)": \{"name": ', html):
        record, _ = decoder.raw_decode(html, match.end() - len('{"name": '))
        entries[match.group(1)] = record
    return entries


@pytest.fixture(scope="module")
def tiny_run(paper_smoke):
    """The paper-shaped smoke run's last part (three seeds, so the per-cell tests run) and its report."""
    return paper_smoke["workdir"], paper_smoke["configs"]["depth"]


@pytest.mark.workflow
def test_report_holds_every_figure_and_main_table_with_a_caption(tiny_run):
    workdir, config = tiny_run
    html = (workdir / "results" / "report.html").read_text()
    assert not re.search(r'(src|href)="https?://', html), "the report loads something from the network"
    entries = report_entries(html)
    expected = [f"results/figures/{name}.png" for name in FIGURES]
    expected += [f"results/figures/synthetic/{d}/{g}/frac{f:g}/gseed0/{kind}.png" for d, g, f, kind in
                 product(config["datasets"], config["gan"]["generators"], config["fractions"], ["samples", "embedding"])]
    for path in expected:
        assert path in entries, f"{path} missing from the report"
        record = entries[path]
        data = base64.b64decode(record["data_uri"].split("base64,", 1)[1])
        assert data.startswith(PNG) and data == (workdir / path).read_bytes(), path
        assert len(re.sub("<[^>]+>", "", record["caption"]).strip()) > 40, f"{path}: no caption"
    for table in TABLES:
        path = f"results/stats/{table}.tsv"
        assert path in entries and entries[path]["caption"].strip(), path
    assert (workdir / "results" / "figures" / "boxplots.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.workflow
def test_tiny_run_tables_are_complete(tiny_run):
    workdir, config = tiny_run
    runs = pd.read_csv(workdir / "results" / "tables" / "runs.tsv", sep="\t")
    models = config["classifier"]["models"]
    n_runs = len(models) * (1 + 2 * len(config["gan"]["generators"]) * len(config["fractions"]))
    assert len(runs) == n_runs * 3 and runs["seed"].nunique() == 3
    assert runs[["length", "n_channels", "n_classes", "n_train"]].notna().all().all()
    assert runs.loc[runs["arm"] != "baseline", "tstr_accuracy"].notna().all()
    cells = pd.read_csv(workdir / "results" / "stats" / "cells.tsv", sep="\t", dtype={"reason": "string"})
    assert len(cells) == 2 * len(models) * len(config["fractions"]) * len(config["gan"]["generators"])  # two metrics
    ran = cells[cells["test"] != "not run"]
    assert set(ran["test"]) <= {"Student t", "Welch t", "Mann–Whitney U", "cannot reach alpha"}
    assert ran["chosen_by"].str.contains("Shapiro–Wilk").all()
    unreachable = cells[cells["test"] == "cannot reach alpha"]
    assert unreachable["reason"].str.contains(r"cannot reach 0\.05 with \d+ vs \d+ .*: min p", regex=True).all()
    assert unreachable["p_value"].isna().all()
    assert cells.loc[cells["test"] == "not run", "reason"].str.len().gt(0).all()
    friedman = pd.read_csv(workdir / "results" / "stats" / "friedman.tsv", sep="\t")
    assert friedman["test"].eq("not run").all() and friedman["reason"].str.contains("1 datasets < ").all()
    headline = pd.read_csv(workdir / "results" / "stats" / "headline.tsv", sep="\t")
    statements = headline.set_index("kind")["statement"]
    assert statements["overall"].startswith("on average") and statements["largest"].startswith("largest of ")
    assert list((workdir / "results" / "benchmarks").glob("*/**/*.tsv"))
