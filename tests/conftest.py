"""Every test leaves process-wide logging as it found it: root handlers and level, the pipeline, structlog."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

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
