"""`gfs run` finds its repo by walking up to a pyproject.toml with a [tool.gfs] table."""

from __future__ import annotations

from pathlib import Path

import pytest

from gfs_cli.errors import NotAServiceRepoError
from gfs_cli.project import find_project
from gfs_runtime.errors.exceptions import ConfigError

pytestmark = pytest.mark.timeout(10)

TOOL_TABLE = '[tool.gfs]\nmethods-provider = "svc.service"\nconfig = ["config/server.toml", "config/svc.toml"]\n'


def write_repo(root: Path, pyproject: str = TOOL_TABLE) -> Path:
    (root / "src" / "svc").mkdir(parents=True)
    (root / "config").mkdir()
    (root / "pyproject.toml").write_text(pyproject)
    return root


def test_project_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    root = write_repo(tmp_path)

    project = find_project(root / "src" / "svc")

    assert project.root == root
    assert project.methods_provider == "svc.service"
    assert project.config_files == (root / "config" / "server.toml", root / "config" / "svc.toml")
    assert project.source_dir == root / "src"


def test_reload_watches_the_sources_and_the_config_directory(tmp_path: Path) -> None:
    root = write_repo(tmp_path)

    assert find_project(root).watch_dirs == (root / "src", root / "config")


def test_pyproject_without_tool_gfs_is_skipped_for_one_above(tmp_path: Path) -> None:
    root = write_repo(tmp_path)
    nested = root / "vendor" / "other"
    nested.mkdir(parents=True)
    (nested / "pyproject.toml").write_text('[project]\nname = "other"\n')

    assert find_project(nested).root == root


def test_no_tool_gfs_anywhere_is_not_a_service_repo(tmp_path: Path) -> None:
    with pytest.raises(NotAServiceRepoError, match=r"\[tool\.gfs\]"):
        find_project(tmp_path)


def test_missing_methods_provider_names_the_key(tmp_path: Path) -> None:
    write_repo(tmp_path, "[tool.gfs]\nconfig = []\n")

    with pytest.raises(ConfigError, match=r"tool\.gfs\.methods-provider"):
        find_project(tmp_path)


def test_config_that_is_not_a_list_of_paths_names_the_key(tmp_path: Path) -> None:
    write_repo(tmp_path, '[tool.gfs]\nmethods-provider = "svc.service"\nconfig = "config/server.toml"\n')

    with pytest.raises(ConfigError, match=r"tool\.gfs\.config"):
        find_project(tmp_path)


def test_malformed_pyproject_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.gfs\n")

    with pytest.raises(ConfigError, match=r"pyproject\.toml"):
        find_project(tmp_path)
