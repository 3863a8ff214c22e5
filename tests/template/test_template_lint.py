"""Generated code is clean under its own ruff and mypy --strict settings; its Makefile parses."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from template_matrix import MATRIX, Render

pytestmark = pytest.mark.timeout(120)

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    if found is None:
        pytest.fail(f"{name} is not installed in {BIN}")
    return found


def run_tool(*command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=110, check=False, cwd=cwd)


def test_ruff_check_passes_on_every_render(renders: dict[str, Render]) -> None:
    repos = [str(render.repo) for render in renders.values()]

    result = run_tool(tool("ruff"), "check", "--no-cache", *repos)

    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_leaves_every_render_unchanged(renders: dict[str, Render]) -> None:
    repos = [str(render.repo) for render in renders.values()]

    result = run_tool(tool("ruff"), "format", "--check", "--no-cache", *repos)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("label", ["default", "longest"])
def test_mypy_strict_passes(renders: dict[str, Render], label: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    cache = tmp_path_factory.getbasetemp() / "mypy-cache"  # shared by both renders: the second run is quick

    result = run_tool(tool("mypy"), "--cache-dir", str(cache), cwd=renders[label].repo)

    assert result.returncode == 0, result.stdout + result.stderr


def test_makefile_targets_parse(default_render: Render) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.fail("make is not installed")

    result = run_tool(
        make, "-n", "install", "test", "run", "lint", "format", "image", "deploy", "clean", cwd=default_render.repo
    )

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("label", sorted(MATRIX))
def test_generated_python_compiles(renders: dict[str, Render], label: str) -> None:
    for path in renders[label].repo.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
