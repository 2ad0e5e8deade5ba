"""`snakemake --lint` and `snakefmt --check` find nothing to complain about in the repository's workflow."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, snakemake


@pytest.mark.workflow
def test_snakemake_lint_is_clean(tmp_path):
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config" / "config.yaml", tmp_path / "config" / "config.yaml")
    result = snakemake(tmp_path, "--lint", timeout=300, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Lints for" not in output, output
    assert "Congratulations, your workflow is in a good condition!" in output


def test_snakefmt_check_is_clean():
    # the catalogue's formatting check, with the repository's [tool.snakefmt] settings (pyproject.toml)
    snakefmt = Path(sys.executable).with_name("snakefmt")
    result = subprocess.run([str(snakefmt), "--check", "Snakefile", "workflow/"], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "would be left unchanged" in result.stderr + result.stdout


def test_catalogue_files_describe_the_config():
    import yaml

    catalog = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())
    assert catalog["usage"]["software-stack-deployment"]["conda"] is True
    assert catalog["usage"]["report"] is True
    readme = (REPO / "config" / "README.md").read_text()
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    missing = [key for key in config if f"`{key}`" not in readme]
    assert not missing, f"config/README.md does not describe {missing}"
