"""The per-call middleware with metrics and/or tracing on: the same single middleware, observing each call.

Used only when the server has metrics or tracing, so the plain path pays nothing for either. Per call it adds
one perf_counter pair, one dict lookup for the method label and the metric observations; with tracing on, a
SERVER span from admission to the call's end (pyarrow's `call_completed`, or the handler wrapper's end).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import pyarrow
import pyarrow.flight

from gfs_runtime.server.call_admission import CallMiddlewareFactory
from gfs_runtime.server.middleware import (
    CALLBACK_METHODS,
    METHOD_LABELS,
    OTHER_METHOD,
    CallMiddleware,
)
from gfs_runtime.telemetry.event_logger import get_logger
from gfs_runtime.telemetry.metrics import call_outcome

if TYPE_CHECKING:
    from gfs_runtime.telemetry.metrics import ServerMetrics
    from gfs_runtime.telemetry.tracing import Tracing

_perf_counter = time.perf_counter


class ObservedCallMiddleware(CallMiddleware):
    """A call that reports its duration and outcome, and ends its span, when it completes."""

    def finished(self, exception: pyarrow.ArrowException | None) -> None:
        """Report the call's duration, outcome and span, then end it as any call ends."""
        tracker: ObservedCallMiddlewareFactory = self._tracker  # type: ignore[assignment]  # set by that factory
        # reported before the call stops counting: a drain waiting for it may flush spans at once
        tracker.call_observed(self._info.method, exception, self.started, self.span)
        super().finished(exception)


class ObservedCallMiddlewareFactory(CallMiddlewareFactory):
    """The call middleware factory feeding per-call metrics and tracing spans."""

    _call_class = ObservedCallMiddleware

    def __init__(
        self,
        *,
        metrics: ServerMetrics | None,
        tracing: Tracing | None,
        task_wait_timeout_sec: float | None = None,
        error_tracebacks: bool = False,
    ) -> None:
        super().__init__(task_wait_timeout_sec=task_wait_timeout_sec, error_tracebacks=error_tracebacks)
        self._metrics = metrics
        self._tracing = tracing if tracing is not None and tracing.enabled else None
        if metrics is not None:
            metrics.track_in_flight(lambda: self.in_flight)

    def start_call(
        self, info: pyarrow.flight.CallInfo, headers: dict[str, list[str] | list[bytes]]
    ) -> ObservedCallMiddleware | None:
        """Time every call; hand pyarrow the objects of DoGet and DoAction, build others' only when traced.

        Without tracing, a call that ends with its handler is left as a tuple with its start time, and
        reported by `arrival_ended` (or by its object, if something asked for one).
        """
        method = info.method
        if method in CALLBACK_METHODS:
            call = self.admit(info, headers, in_flight=True)
            call.detached = False
            return call
        if self._tracing is not None:
            self.admit(info, headers, in_flight=False)
            return None
        started = _perf_counter()
        try:
            self._arrive(info, headers, started)
        except pyarrow.flight.FlightError as exc:
            self.call_observed(method, exc, started, None)
            raise
        return None

    def arrival_ended(self, arrival: Any, error: BaseException | None) -> None:
        """Report a call that ended without its object being built."""
        self.call_observed(arrival[0].method, error, arrival[3], None)

    def admit(
        self, info: pyarrow.flight.CallInfo, headers: dict[str, list[str] | list[bytes]], *, in_flight: bool
    ) -> ObservedCallMiddleware:
        """Start timing (and the call's span), then admit and authenticate the call as the plain factory does."""
        started = _perf_counter()
        tracing = self._tracing
        span = None
        if tracing is not None:
            span = tracing.start_call_span(info.method.name, cast(Mapping[str, Sequence[str]], headers))
        try:
            call: ObservedCallMiddleware = super().admit(info, headers, in_flight=in_flight)  # type: ignore[assignment]  # _call_class
        except pyarrow.flight.FlightError as exc:
            # refused calls (not serving, failed auth) are counted and traced too
            self.call_observed(info.method, exc, started, span)
            raise
        call.started = started
        call.span = span
        return call

    def call_observed(
        self, method: pyarrow.flight.FlightMethod, exception: BaseException | None, started: float, span: Any
    ) -> None:
        """Record an ended call's duration and outcome and end its span; never raises."""
        try:
            metrics = self._metrics
            if metrics is not None:
                label = METHOD_LABELS.get(method, OTHER_METHOD)
                metrics.observe_call(label, call_outcome(exception), _perf_counter() - started)
            if span is not None and self._tracing is not None:
                self._tracing.end_call_span(span, exception)
        except Exception:  # observing a call must never break its completion
            get_logger("gfs_runtime.server").error("call_observation_failed", exc_info=True)
