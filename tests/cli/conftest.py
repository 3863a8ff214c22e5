"""Fixtures for CLI tests: a tree snapshot to prove that refused commands write nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

TreeSnapshot = Callable[[], set[str]]


@pytest.fixture
def tree(tmp_path: Path) -> TreeSnapshot:
    """Every path under tmp_path (relative), files and directories, hidden ones included."""

    def snapshot() -> set[str]:
        return {str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*")}

    return snapshot
