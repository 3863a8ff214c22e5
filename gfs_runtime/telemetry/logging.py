"""Logging set-up: structlog over stdlib logging; JSON lines by default, a readable console with `dev_log`.

Two processors run on every line that passes the level filter (never on lines filtered out):

- `add_bound_fields` adds the fields of whatever is being served: the call a gRPC thread is serving (found
  through `THREAD_LOG_FIELDS`, which the call middleware fills) or, in a task, the call that submitted it
  (`CONTEXT_LOG_FIELDS`, set in the task's copy of its submitter's context). Nothing is computed per call.
- `redact_secrets` replaces values under secret-looking keys, PEM private keys and bearer tokens.
"""

from __future__ import annotations

import configparser
import logging
import logging.config
import os
import re
import sys
import threading
from contextvars import ContextVar
from typing import Any, Final, Protocol, TextIO

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from gfs_runtime.errors.exceptions import ConfigError

_HANDLER_NAME: Final = "gfs_stderr"
REDACTED: Final = "<redacted>"
"""What a secret is replaced with in log lines."""

# keys whose values are secrets, matched on the lower-case key's end (so `token_header_name` is not one)
_SECRET_KEY_ENDINGS: Final = (
    "token",
    "tokens",
    "authorization",
    "password",
    "passwd",
    "secret",
    "secrets",
    "private_key",
    "api_key",
    "apikey",
    "credentials",
    "cookie",
)
_PRIVATE_KEY_MARKER: Final = "PRIVATE KEY-----"
_BEARER: Final = re.compile(r"(?i)\b(bearer)\s+[^\s,;\"']+")
_MAX_REDACT_DEPTH: Final = 4


class LogFieldSource(Protocol):
    """Something that adds its fields (with `setdefault`) to the log lines emitted while it is current."""

    def add_log_fields(self, event_dict: EventDict) -> None:
        """Add this source's fields to `event_dict`, keeping keys the line already has."""


THREAD_LOG_FIELDS: Final[dict[int, LogFieldSource]] = {}
"""The field source of each thread that serves a call, by `threading.get_ident()`.

pyarrow enters Python with a fresh context for each middleware callback and for the handler, so a
ContextVar set in `start_call` is gone by the time the handler logs; the gRPC thread stays the same.
"""

CONTEXT_LOG_FIELDS: Final[ContextVar[LogFieldSource | None]] = ContextVar("gfs_log_fields", default=None)
"""The field source carried by a context (a task's, copied from its submitter); wins over the thread's."""


def add_bound_fields(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Add the fields of the call (or the submitting call of the task) this line is logged for."""
    source = CONTEXT_LOG_FIELDS.get()
    if source is None:
        source = THREAD_LOG_FIELDS.get(threading.get_ident())
    if source is not None:
        source.add_log_fields(event_dict)
    return event_dict


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.lower().endswith(_SECRET_KEY_ENDINGS)


def _is_redacted(value: object) -> bool:
    return isinstance(value, str) and value.startswith("<redacted")


def _redacted_text(text: str) -> str:
    if _PRIVATE_KEY_MARKER in text:
        return REDACTED
    if "earer" in text or "EARER" in text:
        return _BEARER.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
    return text


def _redacted(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return _redacted_text(value)
    if depth >= _MAX_REDACT_DEPTH:
        return value
    if isinstance(value, dict):
        return {
            key: REDACTED if _is_secret_key(key) and not _is_redacted(item) else _redacted(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redacted(item, depth + 1) for item in value)
    return value


def redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Replace secrets: values under secret-looking keys, PEM private keys and bearer tokens, also nested."""
    for key, value in event_dict.items():
        if _is_secret_key(key) and not _is_redacted(value):
            event_dict[key] = REDACTED
        elif isinstance(value, str | dict | list | tuple):
            event_dict[key] = _redacted(value, 0)
    return event_dict


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
        add_bound_fields,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    if dev_log:
        # the console renderer formats exceptions itself
        return [*shared, redact_secrets, structlog.dev.ConsoleRenderer()]
    tail: list[Processor] = [
        structlog.processors.format_exc_info,
        structlog.processors.UnicodeDecoder(),
        redact_secrets,
    ]
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
