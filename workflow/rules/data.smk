# download -> prepare


rule download:
    output:
        train="resources/uea/{dataset}/{dataset}_TRAIN.ts",
        test="resources/uea/{dataset}/{dataset}_TEST.ts",
        record="resources/uea/{dataset}/source.json",
    params:
        source=get_source,
    log:
        "logs/download/{dataset}.log",
    localrule: True
    threads: 1
    resources:
        downloads=1,
    conda:
        "../../envs/data.yaml"
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
    params:
        settings=config["prepare"],
    log:
        "logs/prepare/{dataset}.log",
    benchmark:
        "results/benchmarks/prepare/{dataset}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/prepare.py"
