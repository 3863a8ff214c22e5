"""Where log lines find the fields of the call (or of the task's submitting call) they are logged for.

Nothing is computed per call: the call middleware registers a field source for its thread, and a
task's context carries its submitter's source; the sources add their fields only when a line is logged.
"""

from __future__ import annotations

import threading
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any, Final, Protocol

EventDict = MutableMapping[str, Any]
"""A log line's data before it is rendered: the event name and its key-values."""


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


def add_bound_fields(event_dict: EventDict) -> None:
    """Add the fields of the call (or the submitting call of the task) this line is logged for."""
    source = CONTEXT_LOG_FIELDS.get()
    if source is None:
        source = THREAD_LOG_FIELDS.get(threading.get_ident())
    if source is not None:
        source.add_log_fields(event_dict)
