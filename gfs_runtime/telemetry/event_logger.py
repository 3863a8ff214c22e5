"""The runtime's loggers: snake_case events with key-value data, rendered by the active LogPipeline.

Lines go out through stdlib logging (levels, handlers and a logging ini work as usual); each record's
message is the rendered line and its ``gfs_event`` attribute the event's data, for handlers that want it.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from gfs_runtime.telemetry.log_fields import EventDict
from gfs_runtime.telemetry.log_pipeline import EVENT_KEY, LogPipeline

RECORD_EVENT_ATTR: Final = "gfs_event"
"""The LogRecord attribute holding a rendered line's data; records without it come from plain stdlib loggers."""

_ACTIVE: Final[dict[str, LogPipeline]] = {}
_ACTIVE_KEY: Final = "pipeline"
_LEVEL_NAMES: Final = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "critical",
}


def use_pipeline(pipeline: LogPipeline) -> None:
    """Make `pipeline` render every line from now on."""
    _ACTIVE[_ACTIVE_KEY] = pipeline


def active_pipeline() -> LogPipeline:
    """The pipeline lines are rendered with: the configured one, or plain JSON lines until then."""
    pipeline = _ACTIVE.get(_ACTIVE_KEY)
    if pipeline is None:
        pipeline = _ACTIVE.setdefault(_ACTIVE_KEY, LogPipeline())
    return pipeline


def emit(logger: logging.Logger, level: int, event_dict: EventDict) -> None:
    """Render `event_dict` (which holds the event name) and hand the line to `logger` at `level`."""
    level_name = _LEVEL_NAMES.get(level) or logging.getLevelName(level).lower()
    line = active_pipeline().render(logger.name, level_name, event_dict)
    logger.log(level, line, extra={RECORD_EVENT_ATTR: event_dict})


class EventLogger:
    """Logs events (``logger.info("server_started", location=...)``); does nothing for disabled levels."""

    __slots__ = ("_logger",)

    def __init__(self, name: str) -> None:
        """A logger named `name` in stdlib logging's hierarchy."""
        self._logger = logging.getLogger(name)

    @property
    def name(self) -> str:
        """The logger's name."""
        return self._logger.name

    def debug(self, event: str, **fields: Any) -> None:
        """Log `event` at DEBUG."""
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        """Log `event` at INFO."""
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        """Log `event` at WARNING."""
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        """Log `event` at ERROR; ``exc_info=True`` (or an exception) adds its traceback."""
        self._log(logging.ERROR, event, fields)

    def exception(self, event: str, **fields: Any) -> None:
        """Log `event` at ERROR with the exception being handled."""
        fields.setdefault("exc_info", True)
        self._log(logging.ERROR, event, fields)

    def critical(self, event: str, **fields: Any) -> None:
        """Log `event` at CRITICAL."""
        self._log(logging.CRITICAL, event, fields)

    def _log(self, level: int, event: str, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            fields[EVENT_KEY] = event
            emit(self._logger, level, fields)


def get_logger(name: str) -> EventLogger:
    """The event logger named `name` (e.g. ``gfs_runtime.server``)."""
    return EventLogger(name)
