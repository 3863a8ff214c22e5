"""Fields that log lines get while a call is served, and in the tasks that call submitted.

Everything here runs only when a line is actually logged (or a task is submitted), never per call.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Protocol

import pyarrow.flight

from gfs_runtime.telemetry.log_fields import CONTEXT_LOG_FIELDS, THREAD_LOG_FIELDS, LogFieldSource

if TYPE_CHECKING:
    from types import FrameType

    from gfs_runtime.tasks.task import Task
    from gfs_runtime.telemetry.log_fields import EventDict

TraceIds = Callable[[], "tuple[str, str] | None"]
"""Returns the (trace_id, span_id) of the current span, or None."""

_MAX_FRAMES: Final = 200


class ServedCall(LogFieldSource, Protocol):
    """What task log fields need of the call that submitted the task."""

    @property
    def peer(self) -> str | None:
        """The caller's address, when known."""

    @property
    def span(self) -> Any:
        """The call's tracing span, or None."""


def context_on_stack(frame: FrameType | None) -> pyarrow.flight.ServerCallContext | None:
    """The ``context`` argument of the nearest handler frame, from `frame` outwards; None if there is none."""
    for _ in range(_MAX_FRAMES):
        if frame is None:
            return None
        if "context" in frame.f_code.co_varnames:
            context = frame.f_locals.get("context")
            if isinstance(context, pyarrow.flight.ServerCallContext):
                return context
        frame = frame.f_back
    return None


def peer_from_stack() -> str | None:
    """The peer of the call whose handler is on this thread's stack (its ``context`` argument), else None."""
    context = context_on_stack(sys._getframe(1))
    if context is None:
        return None
    peer: str | bytes = context.peer()
    return peer.decode(errors="replace") if isinstance(peer, bytes) else peer


def _span_id(span_context: Any) -> str:
    return format(span_context.span_id, "016x")


def add_span_ids(event_dict: EventDict, span: Any, keys: tuple[str, str, str]) -> None:
    """Add the trace id, span id and parent span id of an OpenTelemetry span under `keys`."""
    span_context = span.get_span_context()
    event_dict.setdefault(keys[0], format(span_context.trace_id, "032x"))
    event_dict.setdefault(keys[1], _span_id(span_context))
    parent = getattr(span, "parent", None)
    if parent is not None:
        event_dict.setdefault(keys[2], _span_id(parent))


class TaskLogFields:
    """Log fields of a task: its id, its span's ids when traced, and the fields of the call that submitted it."""

    __slots__ = ("_call", "_keys", "_task_id", "_trace_ids")

    def __init__(
        self, call: ServedCall | None, task_id: str, trace_ids: TraceIds | None, keys: tuple[str, str, str]
    ) -> None:
        self._call = call
        self._task_id = task_id
        self._trace_ids = trace_ids
        self._keys = keys

    @property
    def call(self) -> ServedCall | None:
        """The call that submitted the task (or the task that submitted it), if any."""
        return self._call

    def add_log_fields(self, event_dict: EventDict) -> None:
        """Add the task id and trace ids, then the submitting call's fields."""
        event_dict.setdefault("task_id", self._task_id)
        ids = None if self._trace_ids is None else self._trace_ids()
        call = self._call
        if ids is not None:
            event_dict.setdefault(self._keys[0], ids[0])
            event_dict.setdefault(self._keys[1], ids[1])
            if call is not None and call.span is not None:
                event_dict.setdefault(self._keys[2], _span_id(call.span.get_span_context()))
        if call is not None:
            call.add_log_fields(event_dict)


def task_log_binder(trace_ids: TraceIds | None, keys: tuple[str, str, str]) -> Callable[[Task], None]:
    """The executor's submit hook: binds the submitting call's fields to the task (run in the task's context)."""

    def bind(task: Task) -> None:
        source: Any = THREAD_LOG_FIELDS.get(threading.get_ident())
        served_call = getattr(source, "served_call", None)
        call: Any = served_call() if served_call is not None else None
        if call is None:
            outer = CONTEXT_LOG_FIELDS.get()
            call = outer.call if isinstance(outer, TaskLogFields) else None
        if call is not None:
            _ = call.peer  # resolved now, while the submitting handler's frame is on the stack
        CONTEXT_LOG_FIELDS.set(TaskLogFields(call, task.task_id, trace_ids, keys))

    return bind
