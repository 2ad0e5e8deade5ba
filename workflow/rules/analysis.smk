# aggregate -> stats -> figures, and the synthetic-vs-real figures of each generator, all into the report.


rule aggregate:
    input:
        metrics=get_metrics_files,
        meta=get_meta_files,
        quality=get_quality_files,
    output:
        runs="results/tables/runs.tsv",
    log:
        "logs/aggregate.log",
    benchmark:
        "results/benchmarks/aggregate/all.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/aggregate.py"


rule stats:
    input:
        runs=rules.aggregate.output.runs,
    output:
        cells=report(
            "results/stats/cells.tsv",
            caption="../report/cells.rst",
            category="Tables",
            labels={"table": "per-cell tests"},
        ),
        effects=report(
            "results/stats/effects.tsv",
            caption="../report/effects.rst",
            category="Tables",
            labels={"table": "effects (tuned first)"},
        ),
        tuned_epochs="results/stats/tuned_epochs.tsv",
        pairs="results/stats/pairs.tsv",
        aggregations=report(
            "results/stats/aggregations.tsv",
            caption="../report/aggregations.rst",
            category="Tables",
            labels={"table": "aggregations"},
        ),
        headline=report(
            "results/stats/headline.tsv",
            caption="../report/headline.rst",
            category="Tables",
            labels={"table": "headline"},
        ),
        friedman=report(
            "results/stats/friedman.tsv",
            caption="../report/friedman.rst",
            category="Tables",
            labels={"table": "Friedman"},
        ),
        posthoc="results/stats/posthoc.tsv",
        ranks=report(
            "results/stats/ranks.tsv",
            caption="../report/ranks.rst",
            category="Tables",
            labels={"table": "ranks and post-hoc"},
        ),
        factor_coefficients=report(
            "results/stats/factor_coefficients.tsv",
            caption="../report/factor_coefficients.rst",
            category="Tables",
            labels={"table": "factor coefficients"},
        ),
        factor_anova=report(
            "results/stats/factor_anova.tsv",
            caption="../report/factor_anova.rst",
            category="Tables",
            labels={"table": "factor ANOVA"},
        ),
    log:
        "logs/stats.log",
    benchmark:
        "results/benchmarks/stats/all.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        metric=ANALYSIS["metric"],
        metrics=ANALYSIS["metrics"],
        alpha=ANALYSIS["alpha"],
        min_seeds=ANALYSIS["min_seeds"],
        min_datasets=ANALYSIS["min_datasets"],
        bootstrap=ANALYSIS["bootstrap"],
        seed=ANALYSIS["seed"],
        contrasts=ANALYSIS["contrasts"],
        search=ANALYSIS["search"],
    script:
        "../scripts/stats.py"


rule figures:
    input:
        runs=rules.aggregate.output.runs,
        pairs=rules.stats.output.pairs,
        ranks=rules.stats.output.ranks,
        posthoc=rules.stats.output.posthoc,
        friedman=rules.stats.output.friedman,
        factor_coefficients=rules.stats.output.factor_coefficients,
        factor_anova=rules.stats.output.factor_anova,
        histories=get_histories,
    output:
        boxplots=report(
            "results/figures/boxplots.png",
            caption="../report/boxplots.rst",
            category="Figures",
            labels={"figure": "box plots"},
        ),
        heatmap=report(
            "results/figures/heatmap.png",
            caption="../report/heatmap.rst",
            category="Figures",
            labels={"figure": "gain heatmap"},
        ),
        cd_diagram=report(
            "results/figures/cd_diagram.png",
            caption="../report/cd_diagram.rst",
            category="Figures",
            labels={"figure": "critical-difference diagram"},
        ),
        factor_effects=report(
            "results/figures/factor_effects.png",
            caption="../report/factor_effects.rst",
            category="Figures",
            labels={"figure": "factor effects"},
        ),
        gain_vs_quality=report(
            "results/figures/gain_vs_quality.png",
            caption="../report/gain_vs_quality.rst",
            category="Figures",
            labels={"figure": "gain vs synthetic quality"},
        ),
        learning_curves=report(
            "results/figures/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="Figures",
            labels={"figure": "learning curves"},
        ),
        vectors=expand("results/figures/{name}.svg", name=FIGURES),
    log:
        "logs/figures.log",
    benchmark:
        "results/benchmarks/figures/all.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        metric=ANALYSIS["metric"],
        alpha=ANALYSIS["alpha"],
    script:
        "../scripts/figures.py"


rule synthetic_figure:
    input:
        "results/synthetic/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}/{figure}.png",
    output:
        report(
            "results/figures/synthetic/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}/{figure}.png",
            caption="../report/synthetic.rst",
            category="Synthetic vs real",
            subcategory="{dataset}",
            labels={
                "generator": "{generator}",
                "GAN fraction": "{fraction}",
                "GAN seed": "{gan_seed}",
                "figure": "{figure}",
            },
        ),
    log:
        "logs/synthetic_figure/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}/{figure}.log",
    benchmark:
        "results/benchmarks/synthetic_figure/{dataset}/{generator}/frac{fraction}/gseed{gan_seed}/{figure}.tsv"
    wildcard_constraints:
        figure="|".join(SYNTHETIC_FIGURES),
    localrule: True
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=200,
    shell:
        "cp {input} {output} 2> {log}"
