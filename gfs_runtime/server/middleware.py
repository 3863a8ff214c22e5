"""The one per-call Flight middleware: call info, end-of-call finalizers, caller identity, in-flight tracking.

pyarrow runs three Python callbacks per RPC for it (``start_call``, ``sending_headers``, ``call_completed``),
so everything here is kept cheap: no logging on the success path, no copies, a counter for call ids.
Later concerns (metrics, tracing) attach to this same object, never as a second middleware.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeAlias, cast

import pyarrow
import pyarrow.flight
import structlog

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.errors.translate import flight_error_for

OnEndCallbackFn: TypeAlias = Callable[[pyarrow.ArrowException | None], Any]
"""A function run when a call ends; it gets None on success or the error the call ended with."""

Authenticator: TypeAlias = Callable[[pyarrow.flight.CallInfo, Mapping[str, Sequence[str]]], Any]
"""Verifies a call from its info and headers; returns the caller's identity or raises a FlightError."""

MIDDLEWARE_KEY: Final = "call_info"
"""The key the single middleware factory is registered under (the reference's ``CallInfo.MiddlewareName``)."""

_NOT_READY: Final = ErrorInfo.for_reason(ErrorCode.NOT_READY, "The server is starting; try again later.")
_SHUTTING_DOWN: Final = ErrorInfo.for_reason(ErrorCode.SHUTTING_DOWN, "The server is shutting down.")


def shutting_down_error() -> pyarrow.flight.FlightUnavailableError:
    """The error calls get while, or because, the server shuts down."""
    return _SHUTTING_DOWN.to_unavailable_error()


class CallInfo(pyarrow.flight.ServerMiddleware):
    """What is known about the current call: pyarrow's CallInfo and the headers the caller sent."""

    MiddlewareName = MIDDLEWARE_KEY

    def __init__(self, info: pyarrow.flight.CallInfo, headers: dict[str, list[str]]) -> None:
        super().__init__()
        self._info = info
        self._headers = headers

    @property
    def info(self) -> pyarrow.flight.CallInfo:
        """pyarrow's CallInfo of the current call (its method)."""
        return self._info

    @property
    def headers(self) -> dict[str, list[str]]:
        """Headers sent by the caller, lower-case names to lists of values."""
        return self._headers


class CallFinalizer(pyarrow.flight.ServerMiddleware):
    """Runs registered functions once the whole call ends, e.g. to release data a DoGet stream read."""

    MiddlewareName = "call_finalizer"

    def __init__(self) -> None:
        super().__init__()
        self._on_end: list[OnEndCallbackFn] | None = None

    def register_on_end(self, fun: OnEndCallbackFn) -> None:
        """Run ``fun(error_or_None)`` when the call ends; keep it quick, it runs on a gRPC thread."""
        if self._on_end is None:
            self._on_end = [fun]
        else:
            self._on_end.append(fun)

    def call_completed(self, exception: pyarrow.ArrowException | None) -> None:
        """Run the registered functions (see `run_finalizers`)."""
        self.run_finalizers(exception)

    def run_finalizers(self, exception: pyarrow.ArrowException | None) -> None:
        """Run every registered function once, in order; one that raises is logged and the rest still run."""
        callbacks, self._on_end = self._on_end, None
        if callbacks is None:
            return
        for fun in callbacks:
            try:
                fun(exception)
            except BaseException:  # a finalizer must never break the call's completion or the others
                structlog.get_logger("gfs_runtime.server").error("call_finalizer_failed", exc_info=True)


class TokenAuthMiddleware(pyarrow.flight.ServerMiddleware):
    """The identity of the caller, as returned by the token verification (None without authentication)."""

    MiddlewareName = "auth_token"

    def __init__(self, token: str | None = None, token_data: Any = None) -> None:
        # the token itself is not kept: secrets stay out of objects that may be logged or inspected
        super().__init__()
        self._token_data = token_data

    @property
    def token_data(self) -> Any:
        """What the token verification returned for this call's token."""
        return self._token_data


class CallMiddleware(CallInfo, CallFinalizer, TokenAuthMiddleware):
    """The single per-call object; it is the CallInfo, the CallFinalizer and the TokenAuthMiddleware at once."""

    def __init__(
        self,
        tracker: CallMiddlewareFactory,
        info: pyarrow.flight.CallInfo,
        headers: dict[str, list[str]],
        token_data: Any,
        call_id: int,
    ) -> None:
        # the three roles' state is set here directly: one object, one __init__ per call
        self._info = info
        self._headers = headers
        self._on_end = None
        self._token_data = token_data
        self._tracker = tracker
        self.call_id = call_id

    @property
    def streams_cut(self) -> bool:
        """True once the server gave up draining: streams it controls should end with SHUTTING_DOWN."""
        return self._tracker.streams_cut

    @property
    def task_wait_timeout_sec(self) -> float | None:
        """The server's bound on how long a call may wait for a task's result."""
        return self._tracker.task_wait_timeout_sec

    @property
    def error_tracebacks(self) -> bool:
        """Whether errors sent to clients may carry a traceback."""
        return self._tracker.error_tracebacks

    def call_completed(self, exception: pyarrow.ArrowException | None) -> None:
        """Run the finalizers, then count the call as no longer in flight."""
        try:
            if self._on_end is not None:
                self.run_finalizers(exception)
        finally:
            self._tracker.call_ended()


class CallMiddlewareFactory(pyarrow.flight.ServerMiddlewareFactory):
    """Creates the per-call object, rejects calls while not serving, and counts calls in flight for draining."""

    def __init__(
        self,
        authenticator: Authenticator | None = None,
        *,
        task_wait_timeout_sec: float | None = None,
        error_tracebacks: bool = False,
    ) -> None:
        super().__init__()
        self.authenticator = authenticator
        self.task_wait_timeout_sec = task_wait_timeout_sec
        self.error_tracebacks = error_tracebacks
        # the per-call paths take the bare lock (cheaper than entering the Condition); drains wait on it
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._in_flight = 0
        self._rejection: ErrorInfo | None = _NOT_READY
        self._streams_cut = False
        self._ids = itertools.count(1)

    @property
    def in_flight(self) -> int:
        """Calls started and not yet completed."""
        return self._in_flight

    @property
    def streams_cut(self) -> bool:
        """True once draining was given up (timeout or abort)."""
        return self._streams_cut

    def start_call(self, info: pyarrow.flight.CallInfo, headers: dict[str, list[str] | list[bytes]]) -> CallMiddleware:
        """Admit the call (or raise UNAVAILABLE), authenticate it when configured, and count it."""
        with self._lock:
            rejection = self._rejection
            if rejection is not None:
                raise rejection.to_unavailable_error()
            self._in_flight += 1
        # text headers are str, "-bin" ones bytes; CallInfo keeps the reference's simpler annotation
        call_headers = cast(dict[str, list[str]], headers)
        token_data = None
        authenticator = self.authenticator
        if authenticator is not None:
            try:
                token_data = authenticator(info, call_headers)
            except BaseException as exc:  # nothing is dispatched for a call that failed authentication
                self.call_ended()
                raise flight_error_for(exc) from None
        return CallMiddleware(self, info, call_headers, token_data, next(self._ids))

    def call_ended(self) -> None:
        """Count one call as completed; wakes a drain waiting for the last one."""
        with self._lock:
            self._in_flight -= 1
            # only a server that refuses calls can be draining: skip the notify on the serving path
            if self._in_flight == 0 and self._rejection is not None:
                self._cond.notify_all()

    def accept_calls(self) -> None:
        """Let new calls in."""
        with self._cond:
            self._rejection = None

    def reject_new_calls(self) -> None:
        """Answer every new call with UNAVAILABLE + SHUTTING_DOWN; calls in flight go on."""
        with self._cond:
            self._rejection = _SHUTTING_DOWN

    def cut_streams(self) -> None:
        """Give up draining: controlled streams end with SHUTTING_DOWN and `wait_until_idle` returns."""
        with self._cond:
            self._streams_cut = True
            self._cond.notify_all()

    def wait_until_idle(self, timeout: float | None) -> bool:
        """Wait until no call is in flight; False when `timeout` passed or streams were cut first."""
        with self._cond:
            self._cond.wait_for(lambda: self._in_flight == 0 or self._streams_cut, timeout)
            return self._in_flight == 0
