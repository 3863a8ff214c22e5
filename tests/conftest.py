"""Every test starts without GFS_/GOODDATA_FLIGHT_ settings from outside, and leaves logging as it found it."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from gfs_runtime.config.loading import ENV_PREFIXES
from gfs_runtime.telemetry.event_logger import active_pipeline, use_pipeline


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Put the root logger, the runtime's log pipeline and structlog's configuration back after the test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    pipeline = active_pipeline()
    config: dict[str, Any] = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    use_pipeline(pipeline)
    structlog.configure(**config)


@pytest.fixture(autouse=True)
def clean_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop GFS_/GOODDATA_FLIGHT_ variables inherited from the outside, so each test sets its own."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            monkeypatch.delenv(name)
