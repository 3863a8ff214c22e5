"""Logging set-up: stdlib logging carries every line; JSON lines by default, a console view with `dev_log`.

The runtime logs through `event_logger` and renders with `log_pipeline` (no structlog on the start-up
path). Service code may log with structlog: when it has imported structlog, `configure_logging` routes
structlog's events through the same pipeline, so they get the same shape, call fields and redaction.
Records from plain stdlib loggers are rendered by the stderr handler the same way.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Final, TextIO

from gfs_runtime.errors.exceptions import ConfigError
from gfs_runtime.telemetry.event_logger import RECORD_EVENT_ATTR, active_pipeline, use_pipeline
from gfs_runtime.telemetry.log_fields import EventDict
from gfs_runtime.telemetry.log_pipeline import EVENT_KEY, LogPipeline

_HANDLER_NAME: Final = "gfs_stderr"
_STRUCTLOG_LEVELS: Final = {"warn": "warning", "exception": "error", "fatal": "critical"}


class _PipelineFormatter(logging.Formatter):
    """Writes rendered lines as they are and renders plain stdlib records with the active pipeline."""

    def format(self, record: logging.LogRecord) -> str:
        """The record's line."""
        if hasattr(record, RECORD_EVENT_ATTR):
            return record.getMessage()
        event_dict: EventDict = {EVENT_KEY: record.getMessage()}
        if record.exc_info:
            event_dict["exc_info"] = record.exc_info
        return active_pipeline().render(record.name, record.levelname.lower(), event_dict)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes each record to the current ``sys.stderr``, so replacing it (tests, daemons) never breaks logging."""

    def __init__(self) -> None:
        super().__init__()
        self.set_name(_HANDLER_NAME)
        self.setFormatter(_PipelineFormatter())

    @property
    def stream(self) -> TextIO:
        """The current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        """Ignore: the handler always writes to the current standard error."""


def _install_stderr_handler() -> None:
    root = logging.getLogger()
    if not any(handler.get_name() == _HANDLER_NAME for handler in root.handlers):
        root.addHandler(_StderrHandler())
    root.setLevel(logging.INFO)


def _load_logging_ini(path: str) -> None:
    if not os.path.isfile(path):
        raise ConfigError("the logging config file does not exist", file=path)
    import configparser  # noqa: PLC0415  # an ini is rare: keep logging.config off the start-up path
    import logging.config  # noqa: PLC0415

    try:
        logging.config.fileConfig(path, disable_existing_loggers=False)
    except (configparser.Error, KeyError, ValueError, TypeError, ImportError, AttributeError) as e:
        raise ConfigError(f"the logging config is not valid: {type(e).__name__}: {e}", file=path) from None


def _render_structlog_event(logger: Any, method_name: str, event_dict: EventDict) -> tuple[tuple[str], dict[str, Any]]:
    """structlog's last processor: render with the active pipeline, then log the line through stdlib."""
    level = _STRUCTLOG_LEVELS.get(method_name, method_name)
    line = active_pipeline().render(getattr(logger, "name", "structlog"), level, event_dict)
    return (line,), {"extra": {RECORD_EVENT_ATTR: event_dict}}


def route_structlog() -> None:
    """Send structlog's events (from service code) through stdlib logging and the active pipeline."""
    import structlog  # noqa: PLC0415  # only when service code uses structlog

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            _render_structlog_event,
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


def configure_logging(*, dev_log: bool, logging_config: str | None, event_key: str = EVENT_KEY) -> None:
    """Log JSON lines (or a console view) to stderr, or to a logging ini's handlers; route structlog if used.

    Calling it again replaces the previous set-up; it never adds a second stderr handler. Service code
    that imports structlog only after this call gets the same routing from `route_structlog()`.
    """
    if logging_config:
        _load_logging_ini(logging_config)
    else:
        _install_stderr_handler()
    use_pipeline(LogPipeline(dev_log=dev_log, event_key=event_key))
    if "structlog" in sys.modules:
        route_structlog()
