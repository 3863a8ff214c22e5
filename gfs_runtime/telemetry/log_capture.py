"""Collects logged events as dicts, for tests that assert what a service logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gfs_runtime.telemetry.event_logger import RECORD_EVENT_ATTR


class _EventCollector(logging.Handler):
    """Keeps each record's event data: the runtime's and structlog's as logged, plain records as their message."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.events: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Collect the record's data."""
        data = getattr(record, RECORD_EVENT_ATTR, None)
        if isinstance(data, dict):
            self.events.append(dict(data))
        else:
            level = record.levelname.lower()
            self.events.append({"event": record.getMessage(), "logger": record.name, "level": level})


@contextmanager
def capture_log_events(min_level: int = logging.DEBUG) -> Iterator[list[dict[str, Any]]]:
    """Within the block, collect every event logged at `min_level` or above (lowering the root level to it)."""
    collector = _EventCollector()
    collector.setLevel(min_level)
    root = logging.getLogger()
    previous_level = root.level
    root.setLevel(min(previous_level, min_level) if previous_level else min_level)
    root.addHandler(collector)
    try:
        yield collector.events
    finally:
        root.removeHandler(collector)
        root.setLevel(previous_level)
