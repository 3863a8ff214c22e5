"""A fresh repo made by `gfs new` for each extras test."""

from __future__ import annotations

from pathlib import Path

import pytest

from gfs_cli.scaffold import ServiceAnswers, render_service


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A service repository rendered from the template (`sales-data`), as `gfs new` makes it."""
    return render_service(ServiceAnswers.create("sales-data"), tmp_path)
