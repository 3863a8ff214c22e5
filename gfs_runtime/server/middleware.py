"""The one per-call Flight middleware: call info, end-of-call finalizers, caller identity, in-flight tracking.

pyarrow runs up to three Python callbacks per RPC for a Python middleware (``start_call``,
``sending_headers``, ``call_completed``), each costly, so the plain factory hands pyarrow no call object at
all: the Flight service's handler wrapper begins and ends each call itself. Calls that outlive their handler
end later: a DoGet when pyarrow releases its stream (a weak reference's callback, run in pyarrow's own
release of the stream), a lazily produced DoAction when its results are exhausted or dropped. Each call
registers itself under its gRPC thread (two dict operations), where the handler wrapper and the log
processors find it; log fields are computed only when a line is logged. Metrics and tracing subclass these
classes (`gfs_runtime.server.observing`), never add a second middleware; they attach DoGet and DoAction
calls to pyarrow, whose ``call_completed`` tells how a stream ended.
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeAlias, cast

import pyarrow
import pyarrow.flight

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.errors.translate import flight_error_for
from gfs_runtime.server.call_logging import add_span_ids, peer_from_stack
from gfs_runtime.telemetry.event_logger import get_logger
from gfs_runtime.telemetry.log_fields import THREAD_LOG_FIELDS

if TYPE_CHECKING:
    from gfs_runtime.telemetry.log_fields import EventDict

OnEndCallbackFn: TypeAlias = Callable[[pyarrow.ArrowException | None], Any]
"""A function run when a call ends; it gets None on success or the error the call ended with."""

Authenticator: TypeAlias = Callable[[pyarrow.flight.CallInfo, Mapping[str, Sequence[str]]], Any]
"""Verifies a call from its info and headers; returns the caller's identity or raises a FlightError."""

MIDDLEWARE_KEY: Final = "call_info"
"""The key the single middleware factory is registered under (the reference's ``CallInfo.MiddlewareName``)."""

_NOT_READY: Final = ErrorInfo.for_reason(ErrorCode.NOT_READY, "The server is starting; try again later.")
_SHUTTING_DOWN: Final = ErrorInfo.for_reason(ErrorCode.SHUTTING_DOWN, "The server is shutting down.")
_get_ident: Final = threading.get_ident

METHOD_LABELS: Final = {method: method.name.lower() for method in pyarrow.flight.FlightMethod}
"""pyarrow's FlightMethod to the snake_case name used in logs and metrics labels (``do_get``)."""

OTHER_METHOD: Final = "other"
"""The method label of a FlightMethod pyarrow added after this table was built."""

_IDLE_POLL_SEC: Final = 0.05

DEFAULT_TRACE_KEYS: Final = ("trace_id", "span_id", "parent_span_id")

CALLBACK_METHODS: Final = frozenset({pyarrow.flight.FlightMethod.DO_GET, pyarrow.flight.FlightMethod.DO_ACTION})
"""Methods whose call goes on after the handler returns (a stream, lazy action results): observed calls of
these are attached to pyarrow, whose ``call_completed`` reports how they ended."""


def current_call() -> CallMiddleware | None:
    """The call the current gRPC thread is serving, as registered by `start_call`; None elsewhere."""
    source = THREAD_LOG_FIELDS.get(_get_ident())
    return source if isinstance(source, CallMiddleware) else None


def shutting_down_error() -> pyarrow.flight.FlightUnavailableError:
    """The error calls get while, or because, the server shuts down."""
    return _SHUTTING_DOWN.to_unavailable_error()


class CallInfo(pyarrow.flight.ServerMiddleware):
    """What is known about the current call: pyarrow's CallInfo and the headers the caller sent."""

    MiddlewareName = MIDDLEWARE_KEY
    _token_data: Any = None

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

    @property
    def token_data(self) -> Any:
        """The caller identity the token verification returned (None without authentication)."""
        return self._token_data


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
                get_logger("gfs_runtime.server").error("call_finalizer_failed", exc_info=True)


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

    span: Any = None
    """The call's tracing span (set by the observing subclass when tracing is on)."""

    detached: bool = True
    """True while pyarrow does not know this object: the handler wrapper begins and ends the call."""

    _peer: str | None = None

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
        self._thread_id = _get_ident()
        self.call_id = call_id

    @property
    def peer(self) -> str | None:
        """The caller's address as gRPC reports it (``ipv4:127.0.0.1:50123``); None when not known."""
        # pyarrow tells it only to the handler: it is read from the handler's frame on first use (on the
        # call's own thread only) and remembered
        peer = self._peer
        if peer is None and _get_ident() == self._thread_id:
            peer = self._peer = peer_from_stack()
        return peer

    def add_log_fields(self, event_dict: EventDict) -> None:
        """Add request id, RPC method, peer, caller identity and (when traced) the span's ids to a log line."""
        event_dict.setdefault("request_id", self.call_id)
        event_dict.setdefault("rpc_method", METHOD_LABELS.get(self._info.method, OTHER_METHOD))
        peer = self.peer
        if peer is not None:
            event_dict.setdefault("peer", peer)
        if self._token_data is not None:
            event_dict.setdefault("caller", self._token_data)
        if self.span is not None:
            add_span_ids(event_dict, self.span, self._tracker.trace_keys)

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
        """Run the finalizers, then end the call (see `finished`)."""
        try:
            if self._on_end is not None:
                self.run_finalizers(exception)
        finally:
            self.finished(exception)

    def finished(self, exception: pyarrow.ArrowException | None) -> None:
        """Stop being the thread's call and count the call as no longer in flight."""
        self.unregister()
        self._tracker.call_ended()

    def begin_detached(self) -> None:
        """Count a detached call as in flight while its handler runs (called by the handler wrapper)."""
        self._tracker.call_started()

    def end_detached(self, exception: BaseException | None) -> None:
        """End a detached call as pyarrow's ``call_completed`` would: finalizers, then not in flight."""
        if self.detached:
            self.detached = False
            # the Flight errors the handler wrapper passes are ArrowExceptions, as pyarrow's would be
            self.call_completed(cast(pyarrow.ArrowException | None, exception))

    def end_when_released(self, stream: pyarrow.flight.FlightDataStream) -> None:
        """End a detached DoGet once pyarrow releases `stream`, i.e. once the stream was sent or abandoned.

        pyarrow drops its reference to the returned stream when the call is over; the weak reference's
        callback then runs the finalizers (with None: pyarrow does not tell how the stream ended) and stops
        counting the call. The thread stays registered to the call until the next call replaces it.
        """
        if self.detached:
            try:
                self._tracker.watch_release(stream, self._stream_released)
            except TypeError:  # a stream type without weak references: the call ends with its handler
                self.end_detached(None)

    def _stream_released(self, reference: weakref.ref[Any]) -> None:
        self._tracker.forget_release(reference)
        self.end_detached(None)

    def unregister(self) -> None:
        """Stop being the log field source of the call's thread."""
        if THREAD_LOG_FIELDS.get(self._thread_id) is self:
            del THREAD_LOG_FIELDS[self._thread_id]


class CallMiddlewareFactory(pyarrow.flight.ServerMiddlewareFactory):
    """Creates the per-call object, rejects calls while not serving, and counts calls in flight for draining."""

    _call_class: type[CallMiddleware] = CallMiddleware

    attached_methods: ClassVar[frozenset[pyarrow.flight.FlightMethod]] = frozenset()
    """Methods whose call object is handed to pyarrow (its callbacks end them); none on the plain path."""

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
        self.trace_keys: tuple[str, str, str] = DEFAULT_TRACE_KEYS
        # One entry per call in flight. deque.append/pop are atomic under the GIL, so the per-call paths
        # take no lock: measured, a lock in pyarrow's callbacks costs several percent of a small call.
        # Only a drain (rejecting calls) takes the Condition, to be woken by the last call.
        self._flights: collections.deque[None] = collections.deque()
        self._cond = threading.Condition(threading.Lock())
        self._rejection: ErrorInfo | None = _NOT_READY
        self._streams_cut = False
        self._ids = itertools.count(1)
        # weak references to DoGet streams in flight; each one's callback ends its call
        self._released: set[weakref.ref[Any]] = set()

    @property
    def in_flight(self) -> int:
        """Calls started and not yet completed."""
        return len(self._flights)

    @property
    def streams_cut(self) -> bool:
        """True once draining was given up (timeout or abort)."""
        return self._streams_cut

    def start_call(
        self, info: pyarrow.flight.CallInfo, headers: dict[str, list[str] | list[bytes]]
    ) -> CallMiddleware | None:
        """Admit the call (or raise UNAVAILABLE) and authenticate it; hand pyarrow the call object only if attached.

        Returning None spares pyarrow's two further Python callbacks (``sending_headers``, ``call_completed``):
        such calls are counted and ended by the Flight service's handler wrapper (see
        `CallMiddleware.begin_detached`, `CallMiddleware.end_when_released`), and found through `current_call`.
        """
        attached_methods = self.attached_methods
        if attached_methods and info.method in attached_methods:
            call = self.admit(info, headers, in_flight=True)
            call.detached = False
            return call
        self.admit(info, headers, in_flight=False)
        return None

    def admit(
        self, info: pyarrow.flight.CallInfo, headers: dict[str, list[str] | list[bytes]], *, in_flight: bool
    ) -> CallMiddleware:
        """Refuse the call while not serving, authenticate it, create its call object and register it."""
        rejection = self._rejection  # checked again once an attached call is counted
        if rejection is not None:
            raise rejection.to_unavailable_error()
        # text headers are str, "-bin" ones bytes; CallInfo keeps the reference's simpler annotation
        call_headers = cast(dict[str, list[str]], headers)
        token_data = None
        authenticator = self.authenticator
        if authenticator is not None:
            try:
                token_data = authenticator(info, call_headers)
            except BaseException as exc:  # nothing is dispatched for a call that failed authentication
                raise flight_error_for(exc) from None
        if in_flight:
            self._flights.append(None)
            rejection = self._rejection
            if rejection is not None:  # a drain began meanwhile and may have seen no call: refuse this one
                self.call_ended()
                raise rejection.to_unavailable_error()
        call = self._call_class(self, info, call_headers, token_data, next(self._ids))
        THREAD_LOG_FIELDS[call._thread_id] = call
        return call

    def watch_release(self, stream: object, on_release: Callable[[weakref.ref[Any]], None]) -> None:
        """Call `on_release` once `stream` is garbage (TypeError if it cannot be weakly referenced)."""
        self._released.add(weakref.ref(stream, on_release))

    def forget_release(self, reference: weakref.ref[Any]) -> None:
        """Drop a released stream's weak reference."""
        self._released.discard(reference)

    def call_started(self) -> None:
        """Count one call as in flight."""
        self._flights.append(None)

    def call_ended(self) -> None:
        """Count one call as completed; wakes a drain waiting for the last one."""
        flights = self._flights
        flights.pop()
        # only a server that refuses calls can be draining: the serving path skips the Condition
        if not flights and self._rejection is not None:
            with self._cond:
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
            # the short wait bounds a lost wake-up (a call ending between the check and the wait)
            deadline = None if timeout is None else time.monotonic() + timeout
            while self._flights and not self._streams_cut:
                left = _IDLE_POLL_SEC if deadline is None else min(_IDLE_POLL_SEC, deadline - time.monotonic())
                if left <= 0:
                    break
                self._cond.wait(left)
            return not self._flights
