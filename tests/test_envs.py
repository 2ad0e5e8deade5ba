"""Conda environments and profiles: every rule names an env that pins what the tests install
and holds every package its script imports; every rule is sized in the SLURM profile."""

from __future__ import annotations

import ast
import importlib.metadata as md
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import REPO, tiny_config

ENVS = REPO / "envs"
SCRIPTS = REPO / "workflow" / "scripts"
SLURM_PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"
DEFAULT_PROFILE = REPO / "workflow" / "profiles" / "default" / "config.yaml"
TENSORFLOW_ENV = ENVS / "tensorflow.yaml"
# Loads the workflow with Snakemake's API in a fresh process and prints its rules as JSON.
LOAD_RULES = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings
repo, workdir = Path(sys.argv[1]), Path(sys.argv[2])
with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
    wf = api.workflow(resource_settings=ResourceSettings(), snakefile=repo / "Snakefile", workdir=workdir,
                      config_settings=ConfigSettings(configfiles=[workdir / "config" / "config.yaml"]))._workflow
    rules = []
    for rule in wf.rules:
        if rule.norun:
            continue
        here = Path(rule.snakefile).parent
        rules.append({
            "name": rule.name,
            "file": str(rule.snakefile),
            "local": rule.name in wf._localrules,
            "conda": None if rule.conda_env is None else str((here / rule.conda_env).resolve()),
            "script": None if rule.script is None else str((here / rule.script).resolve()),
            "resources": sorted(rule.resources.keys()),
            "sized_by_job": sorted(k for k, v in rule.resources.items() if k == "mem_mb" and v.is_evaluable()),
        })
print("RULES=" + json.dumps(rules))
"""


@pytest.fixture(scope="module")
def rules(tmp_path_factory) -> list[dict]:
    """Every rule with an action, as Snakemake itself resolves it (env and script paths)."""
    workdir = tmp_path_factory.mktemp("rules")
    (workdir / "config").mkdir()
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(tiny_config()))
    result = subprocess.run([sys.executable, "-c", LOAD_RULES, str(REPO), str(workdir)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(l for l in result.stdout.splitlines() if l.startswith("RULES="))
    found = json.loads(line.removeprefix("RULES="))
    assert found, "the workflow has no rules"
    return found


def env_spec(path: Path) -> dict:
    spec = yaml.safe_load(path.read_text())
    assert isinstance(spec, dict), f"{path.name}: not a mapping"
    return spec


def pip_pins(path: Path) -> dict[str, str]:
    """The pip section of an env file as {canonical name: version}; every entry must be name==version."""
    pins = {}
    for item in env_spec(path)["dependencies"]:
        if isinstance(item, dict):
            for line in item["pip"]:
                match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[a-z0-9_,\-]+\])?==([0-9][0-9A-Za-z.+\-]*)", line)
                assert match, f"{path.name}: pip entry {line!r} is not pinned as name==version"
                pins[canonicalize_name(match[1])] = match[3]
    return pins


def requirement_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements.txt: {line!r} is not pinned"
            pins[canonicalize_name(name)] = version
    return pins


def rule_keys(path: Path) -> dict[str, set[str]]:
    """The directive names written in each rule block of a .smk file (e.g. {'download': {'output', ...}})."""
    blocks: dict[str, set[str]] = {}
    current = None
    for line in path.read_text().splitlines():
        head = re.match(r"(?:rule|checkpoint)\s+(\w+)\s*:", line)
        if head:
            current = blocks.setdefault(head[1], set())
        elif line and not line[0].isspace() and not line.startswith("#"):
            current = None
        elif current is not None and (key := re.match(r"    (\w+)\s*:", line)):
            current.add(key[1])
    return blocks


def imported_packages(script: Path) -> set[str]:
    """Top-level third-party modules a script imports, following `synthtl` modules transitively.

    Imports inside functions count (lazy imports of TensorFlow are real), as do module names
    written as strings ("synthtl.gan:WGANGenerator", for importlib): an env may hold more than
    one script needs, never less.
    """
    todo, seen, found = [script], set(), set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):  # "synthtl.gan:WGANGenerator"
                names = re.findall(r"^(synthtl\.\w+)(?::\w+)?$", node.value)
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "synthtl":
                    parts = name.split(".")
                    todo.append(SCRIPTS / "synthtl" / "__init__.py")
                    if len(parts) > 1 and (SCRIPTS / "synthtl" / f"{parts[1]}.py").is_file():
                        todo.append(SCRIPTS / "synthtl" / f"{parts[1]}.py")
                elif top not in sys.stdlib_module_names and top not in ("snakemake", "__future__"):
                    found.add(top)
    return found


def closure(names: set[str]) -> set[str]:
    """The distributions `names` install, their dependencies included (as pip resolves them here)."""
    out, todo = set(), list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in out:
            continue
        out.add(name)
        for line in md.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return out


def test_env_files_are_conda_specs():
    files = sorted(ENVS.glob("*.yaml"))
    assert {f.name for f in files} >= {"data.yaml", "tensorflow.yaml", "analysis.yaml"}
    python = re.search(r'requires-python = ">=(3\.\d+)', (REPO / "pyproject.toml").read_text())[1]
    for path in files:
        spec = env_spec(path)
        assert set(spec) <= {"name", "channels", "dependencies"}, f"{path.name}: unknown keys {set(spec)}"
        assert spec["channels"] == ["conda-forge", "nodefaults"], f"{path.name}: channels {spec['channels']}"
        conda = [d for d in spec["dependencies"] if isinstance(d, str)]
        pip = [d for d in spec["dependencies"] if isinstance(d, dict)]
        assert f"python={python}" in conda, f"{path.name}: needs python={python} like pyproject.toml"
        assert "pip" in conda, f"{path.name}: a pip section needs pip itself"
        for dep in conda:
            assert re.fullmatch(r"[a-z0-9_.\-]+(=[0-9][0-9.*]*)?", dep), f"{path.name}: bad conda spec {dep!r}"
        assert len(pip) == 1 and list(pip[0]) == ["pip"], f"{path.name}: one `- pip: [...]` list expected"
        assert pip_pins(path), f"{path.name}: empty pip section"


def test_env_pins_agree_with_requirements():
    required = requirement_pins()
    for path in sorted(ENVS.glob("*.yaml")):
        for name, version in pip_pins(path).items():
            assert name in required, f"{path.name}: {name} is not in requirements.txt, so no test installs it"
            assert version == required[name], (
                f"{path.name} pins {name}=={version} but requirements.txt pins {name}=={required[name]}")


def test_every_rule_names_an_existing_env(rules):
    for rule in rules:
        assert rule["conda"], f"rule {rule['name']} ({rule['file']}) has no conda: directive"
        env = Path(rule["conda"])
        assert env.is_file() and env.parent == ENVS, f"rule {rule['name']}: conda env {env} is not a file in envs/"


def test_each_env_holds_every_package_its_rules_import(rules):
    """A rule's script (and the synthtl modules it uses) imports only what its conda env installs."""
    providers = md.packages_distributions()
    for rule in rules:
        if not rule["script"] or not rule["conda"]:
            continue
        installs = closure(set(pip_pins(Path(rule["conda"]))))
        for module in sorted(imported_packages(Path(rule["script"]))):
            dists = {canonicalize_name(d) for d in providers.get(module, [module])}
            assert dists & installs, (
                f"rule {rule['name']}: {Path(rule['script']).name} imports {module} (from {sorted(dists)}), "
                f"which {Path(rule['conda']).name} does not install")


def test_every_rule_declares_threads_resources_and_conda(rules):
    written: dict[str, set[str]] = {}
    for path in [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]:
        written.update(rule_keys(path))
    for rule in rules:
        missing = {"conda", "threads", "resources"} - written[rule["name"]]
        assert not missing, f"rule {rule['name']} ({Path(rule['file']).name}) lacks {sorted(missing)}"


def uses_tensorflow(rule: dict) -> bool:
    """Whether the rule's script (or a synthtl module it uses) imports TensorFlow or Keras."""
    return bool(rule["script"]) and bool(imported_packages(Path(rule["script"])) & {"tensorflow", "keras"})


def test_tensorflow_rules_hold_a_gpu(rules):
    """Locally `--resources gpu=1` keeps two trainings off one GPU: exactly the TensorFlow rules hold `gpu`."""
    assert any(uses_tensorflow(r) for r in rules) == any(r["conda"] == str(TENSORFLOW_ENV) for r in rules)
    for rule in rules:
        if uses_tensorflow(rule):
            assert rule["conda"] == str(TENSORFLOW_ENV), f"rule {rule['name']} uses TensorFlow outside tensorflow.yaml"
        problem = "uses TensorFlow but declares no gpu" if uses_tensorflow(rule) else "declares gpu without TensorFlow"
        assert ("gpu" in rule["resources"]) == uses_tensorflow(rule), f"rule {rule['name']}: {problem}"


def _grows(expression, attempt: int) -> float:
    return eval(str(expression), {"__builtins__": {}}, {"attempt": attempt})  # noqa: S307


def test_slurm_profile_sizes_every_cluster_rule(rules):
    profile = yaml.safe_load(SLURM_PROFILE.read_text())
    assert profile["executor"] == "slurm"
    assert profile["retries"] >= 1
    assert profile["slurm-status-command"] == "squeue"
    for key in ("mem_mb", "runtime"):
        assert _grows(profile["default-resources"][key], 2) > _grows(profile["default-resources"][key], 1)
    cluster = {r["name"]: r for r in rules if not r["local"]}
    local = {r["name"] for r in rules if r["local"]}
    assert "download" in local, "downloads must stay local rules (compute nodes may have no network)"
    sized = profile["set-resources"]
    assert "mem_mb" in cluster["train_gan"]["sized_by_job"], "train_gan's memory should follow its data"
    assert set(sized) == set(cluster), (
        f"set-resources of the SLURM profile: missing {sorted(set(cluster) - set(sized))}, "
        f"unknown {sorted(set(sized) - set(cluster))}")
    assert set(profile.get("set-threads", {})) <= set(cluster)
    for name, resources in sized.items():
        for key in ("mem_mb", "runtime"):
            if key in cluster[name]["sized_by_job"]:  # the rule sizes it from the job's data (and the attempt)
                assert key not in resources, f"{name}: the profile's {key} would override the rule's own sizing"
                continue
            assert _grows(resources[key], 2) > _grows(resources[key], 1), f"{name}: {key} does not grow with attempt"
        uses_tf = uses_tensorflow(cluster[name])
        assert resources.get("gpu", 0) == (1 if uses_tf else 0), f"{name}: gpu should be {int(uses_tf)}"


def _dry_run(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    (workdir / "config").mkdir(exist_ok=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(tiny_config()))
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), "-n", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=workdir)


def test_default_profile_is_picked_up_by_itself(tmp_path):
    """`snakemake` from any folder reads workflow/profiles/default (through profiles/default)."""
    assert (REPO / "profiles" / "default").resolve() == DEFAULT_PROFILE.parent
    result = _dry_run(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"workflow specific profile {REPO / 'profiles' / 'default'}" in result.stderr
    assert yaml.safe_load(DEFAULT_PROFILE.read_text())["resources"]["downloads"] == 2


@pytest.mark.skipif(shutil.which("conda") is None, reason="conda is not installed here (conda channels unreachable)")
def test_use_conda_dry_run_accepts_every_env(tmp_path):
    result = _dry_run(tmp_path, "--use-conda")
    assert result.returncode == 0, result.stderr[-3000:]
