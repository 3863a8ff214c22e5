"""A fresh repo with the jwt extra applied: its own tests (the verifier's among them) pass, its code is lint-clean."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from extras_support import GENERATED_FILES, PACKAGE

from gfs_cli.extras import add_extra
from gfs_cli.scaffold import ServiceAnswers, render_service
from gfs_cli.scratch_venv import create_layered_venv, install_editable

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    if found is None:
        pytest.fail(f"{name} is not installed in {BIN}")
    return found


def clean_env() -> dict[str, str]:
    """This environment without gfs settings and without the outer pytest's variables."""
    return {
        key: value for key, value in os.environ.items() if not key.startswith(("GFS_", "GOODDATA_FLIGHT_", "PYTEST_"))
    }


def run_in(repo: Path, *command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=repo, env=clean_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


LONGEST_SLUG = ("sales-" * 11)[:62] + "x"
LINT_MATRIX = {
    "shortest": ServiceAnswers.create("a"),
    "yaml-word": ServiceAnswers.create("no", package="null"),
    "longest": ServiceAnswers.create(LONGEST_SLUG, package="p" * 63),
}


def applied_to(answers: ServiceAnswers, parent: Path) -> Path:
    """`gfs new` with these answers, then `gfs add-verifier jwt`."""
    repo = render_service(answers, parent)
    add_extra(repo, "jwt", echo=lambda line: None)
    return repo


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`gfs new sales-data` then `gfs add-verifier jwt`."""
    return applied_to(ServiceAnswers.create("sales-data"), tmp_path_factory.mktemp("applied"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("label", sorted(LINT_MATRIX))
def test_generated_code_passes_ruff_whatever_the_names(label: str, tmp_path: Path) -> None:
    repo = applied_to(LINT_MATRIX[label], tmp_path)
    package = LINT_MATRIX[label].package
    files = [path.replace(PACKAGE, package) for path in GENERATED_FILES]

    check = run_in(repo, tool("ruff"), "check", "--no-cache", *files)
    formatted = run_in(repo, tool("ruff"), "format", "--check", "--no-cache", *files)

    assert check.returncode == 0, check.stdout + check.stderr
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_repo_with_the_extra_installs_its_tests_pass_and_mypy_strict_is_clean(applied: Path, tmp_path: Path) -> None:
    python = create_layered_venv(tmp_path / "venv")
    install_editable(python, applied)

    tests = run_in(applied, str(python), "-m", "pytest", "-v", "-p", "no:cacheprovider")
    mypy = run_in(applied, tool("mypy"), "--cache-dir", str(tmp_path / "mypy-cache"), timeout=90)

    assert tests.returncode == 0, tests.stdout + tests.stderr
    passed_files = {
        line.split("::")[0] for line in tests.stdout.splitlines() if line.endswith("%]") and "PASSED" in line
    }
    assert {path for path in GENERATED_FILES if path.startswith("tests/test_")} <= passed_files
    assert "tests/test_service.py" in passed_files
    assert " skipped" not in tests.stdout
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
