"""Fixtures for CLI tests: a tree snapshot to prove that refused commands write nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from gfs_runtime.config.loading import ENV_PREFIXES

TreeSnapshot = Callable[[], set[str]]


@pytest.fixture(autouse=True)
def clean_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop GFS_/GOODDATA_FLIGHT_ variables from the outside so each test sets its own."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture
def tree(tmp_path: Path) -> TreeSnapshot:
    """Every path under tmp_path (relative), files and directories, hidden ones included."""

    def snapshot() -> set[str]:
        return {str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*")}

    return snapshot
