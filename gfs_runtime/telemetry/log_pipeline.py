"""Turns one log event (name, level, key-values) into the line that is written: JSON, or a console view.

The runtime renders its own lines here, with stdlib logging and orjson only, so that a server's start-up
pays for neither structlog (~80 ms, ~15 MiB) nor anything else that is not needed to serve. The same
pipeline is structlog's last processor for service code that logs with structlog, and the stderr
handler's formatter for plain stdlib records, so every line has one shape. `--dev-log` renders with
structlog's ConsoleRenderer, imported only then.
"""

from __future__ import annotations

import datetime
import sys
import traceback
from collections.abc import Callable
from typing import Any, Final

import orjson

from gfs_runtime.telemetry.log_fields import EventDict, add_bound_fields
from gfs_runtime.telemetry.redaction import redact_secrets

EVENT_KEY: Final = "event"
"""Where a line's event name is kept until it is renamed to `log_event_key_name`."""


def _json_default(value: object) -> Any:
    if isinstance(value, set | frozenset):
        return list(value)
    return repr(value)


def _exc_info_tuple(exc_info: object) -> tuple[Any, Any, Any] | None:
    if isinstance(exc_info, BaseException):
        return (type(exc_info), exc_info, exc_info.__traceback__)
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info if exc_info[0] is not None else None
    if exc_info:
        info = sys.exc_info()
        return info if info[0] is not None else None
    return None


def _render_exception(event_dict: EventDict) -> None:
    """Replace ``exc_info`` by ``exception`` (the formatted traceback) and ``stack_info`` by ``stack``."""
    exc_info = _exc_info_tuple(event_dict.pop("exc_info", None))
    stack_info = event_dict.pop("stack_info", False)
    if exc_info is None and not stack_info:
        return
    if exc_info is not None:
        event_dict["exception"] = "".join(traceback.format_exception(*exc_info)).rstrip("\n")
    if stack_info:
        event_dict["stack"] = "".join(traceback.format_stack()[:-3]).rstrip("\n")


def _decode_bytes(event_dict: EventDict) -> None:
    for key, value in event_dict.items():
        if isinstance(value, bytes):
            event_dict[key] = value.decode("utf-8", errors="replace")


def _merge_structlog_context(event_dict: EventDict) -> None:
    """Add what service code bound with structlog.contextvars, if it uses structlog at all."""
    contextvars = sys.modules.get("structlog.contextvars")
    if contextvars is not None:
        for key, value in contextvars.get_contextvars().items():
            event_dict.setdefault(key, value)


class LogPipeline:
    """Renders events as JSON lines (orjson) or, for development, as structlog's console view."""

    __slots__ = ("_console", "_event_key")

    def __init__(self, *, dev_log: bool = False, event_key: str = EVENT_KEY) -> None:
        """A JSON pipeline naming the event under `event_key`, or the console view with `dev_log`."""
        self._event_key = event_key
        self._console: Callable[[Any, str, EventDict], str] | None = None
        if dev_log:
            import structlog.dev  # noqa: PLC0415  # development only: start-up cost does not matter there

            # tracebacks without the frames' local variables: those may hold tokens or headers
            formatter: Any = structlog.dev.plain_traceback
            if getattr(structlog.dev, "rich", None) is not None:
                formatter = structlog.dev.RichTracebackFormatter(show_locals=False)
            self._console = structlog.dev.ConsoleRenderer(exception_formatter=formatter)

    def render(self, logger_name: str, level: str, event_dict: EventDict) -> str:
        """The line for one event: `event_dict` holds the event name and data and is consumed."""
        _merge_structlog_context(event_dict)
        add_bound_fields(event_dict)
        event_dict["logger"] = logger_name
        event_dict["level"] = level
        now = datetime.datetime.now(datetime.UTC)
        event_dict["timestamp"] = now.isoformat().replace("+00:00", "Z")
        if self._console is not None:
            # the console renderer pops the keys it shows: it gets a copy, the record keeps the data
            return self._console(None, level, redact_secrets(dict(event_dict)))
        _render_exception(event_dict)
        _decode_bytes(event_dict)
        redact_secrets(event_dict)
        if self._event_key != EVENT_KEY and EVENT_KEY in event_dict:
            event_dict[self._event_key] = event_dict.pop(EVENT_KEY)
        return orjson.dumps(event_dict, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()
