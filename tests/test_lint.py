"""`snakemake --lint` finds nothing to complain about in the repository's workflow."""

from __future__ import annotations

import shutil

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
