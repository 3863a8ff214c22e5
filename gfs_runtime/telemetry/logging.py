"""Logging set-up: structlog over stdlib logging; JSON lines by default, a readable console with `dev_log`."""

from __future__ import annotations

import configparser
import logging
import logging.config
import os
import sys
from typing import Any, Final, TextIO

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from gfs_runtime.errors.exceptions import ConfigError

_HANDLER_NAME: Final = "gfs_stderr"


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes each record to the current ``sys.stderr``, so replacing it (tests, daemons) never breaks logging."""

    def __init__(self) -> None:
        super().__init__()
        self.set_name(_HANDLER_NAME)
        self.setFormatter(logging.Formatter("%(message)s"))

    @property
    def stream(self) -> TextIO:
        """The current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        """Ignore: the handler always writes to the current standard error."""


def _json_default(value: object) -> Any:
    if isinstance(value, set | frozenset):
        return list(value)
    return repr(value)


def _render_json(_: WrappedLogger, __: str, event_dict: EventDict) -> str:
    return orjson.dumps(event_dict, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()


def _processors(*, dev_log: bool, event_key: str) -> list[Processor]:
    shared: list[Processor] = [
        structlog.stdlib.filter_by_level,
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    if dev_log:
        # the console renderer formats exceptions itself
        return [*shared, structlog.dev.ConsoleRenderer()]
    tail: list[Processor] = [structlog.processors.format_exc_info, structlog.processors.UnicodeDecoder()]
    if event_key != "event":
        tail.append(structlog.processors.EventRenamer(event_key))
    return [*shared, *tail, _render_json]


def _install_stderr_handler() -> None:
    root = logging.getLogger()
    if not any(handler.get_name() == _HANDLER_NAME for handler in root.handlers):
        root.addHandler(_StderrHandler())
    root.setLevel(logging.INFO)


def _load_logging_ini(path: str) -> None:
    if not os.path.isfile(path):
        raise ConfigError("the logging config file does not exist", file=path)
    try:
        logging.config.fileConfig(path, disable_existing_loggers=False)
    except (configparser.Error, KeyError, ValueError, TypeError, ImportError, AttributeError) as e:
        raise ConfigError(f"the logging config is not valid: {type(e).__name__}: {e}", file=path) from None


def configure_logging(*, dev_log: bool, logging_config: str | None, event_key: str = "event") -> None:
    """Route structlog through stdlib logging: JSON lines (or a console view) on stderr, or an ini's handlers.

    Calling it again replaces the previous set-up; it never adds a second stderr handler.
    """
    if logging_config:
        _load_logging_ini(logging_config)
    else:
        _install_stderr_handler()
    structlog.configure(
        processors=_processors(dev_log=dev_log, event_key=event_key),
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
