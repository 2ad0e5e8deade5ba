# download -> prepare


rule download:
    output:
        train="resources/uea/{dataset}/{dataset}_TRAIN.ts",
        test="resources/uea/{dataset}/{dataset}_TEST.ts",
        record="resources/uea/{dataset}/source.json",
    log:
        "logs/download/{dataset}.log",
    localrule: True
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        downloads=1,
    params:
        source=get_source,
    script:
        "../scripts/download.py"


rule prepare:
    input:
        train=rules.download.output.train,
        test=rules.download.output.test,
        record=rules.download.output.record,
    output:
        npz="results/data/{dataset}/prepared.npz",
        meta="results/data/{dataset}/meta.json",
    log:
        "logs/prepare/{dataset}.log",
    benchmark:
        "results/benchmarks/prepare/{dataset}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        settings=config["prepare"],
    script:
        "../scripts/prepare.py"
