"""The per-call object handed to Flight methods: call info, end-of-call finalizers, caller identity.

One object plays the reference's three middleware roles (CallInfo, CallFinalizer, TokenAuthMiddleware).
On the plain path it is built only when something asks for it (a helper such as `call_info_middleware`,
a log line, a task submission): see `gfs_runtime.server.call_admission`, which admits and counts calls.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeAlias, cast

import pyarrow
import pyarrow.flight

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.server.call_logging import add_span_ids, peer_from_stack
from gfs_runtime.telemetry.event_logger import get_logger

if TYPE_CHECKING:
    from gfs_runtime.server.call_admission import CallMiddlewareFactory
    from gfs_runtime.telemetry.log_fields import EventDict

OnEndCallbackFn: TypeAlias = Callable[[pyarrow.ArrowException | None], Any]
"""A function run when a call ends; it gets None on success or the error the call ended with."""

Authenticator: TypeAlias = Callable[[pyarrow.flight.CallInfo, Mapping[str, Sequence[str]]], Any]
"""Verifies a call from its info and headers; returns the caller's identity or raises a FlightError."""

MIDDLEWARE_KEY: Final = "call_info"
"""The key the single middleware factory is registered under (the reference's ``CallInfo.MiddlewareName``)."""

SHUTTING_DOWN_INFO: Final = ErrorInfo.for_reason(ErrorCode.SHUTTING_DOWN, "The server is shutting down.")
_get_ident: Final = threading.get_ident

METHOD_LABELS: Final = {method: method.name.lower() for method in pyarrow.flight.FlightMethod}
"""pyarrow's FlightMethod to the snake_case name used in logs and metrics labels (``do_get``)."""

OTHER_METHOD: Final = "other"
"""The method label of a FlightMethod pyarrow added after this table was built."""

DEFAULT_TRACE_KEYS: Final = ("trace_id", "span_id", "parent_span_id")

CALLBACK_METHODS: Final = frozenset({pyarrow.flight.FlightMethod.DO_GET, pyarrow.flight.FlightMethod.DO_ACTION})
"""Methods whose call goes on after the handler returns (a stream, lazy action results): observed calls of
these are attached to pyarrow, whose ``call_completed`` reports how they ended."""


def shutting_down_error() -> pyarrow.flight.FlightUnavailableError:
    """The error calls get while, or because, the server shuts down."""
    return SHUTTING_DOWN_INFO.to_unavailable_error()


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

    started: float = 0.0
    """When the call arrived (``time.perf_counter``); set by the observing subclass, which reports durations."""

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
        *,
        thread_id: int,
    ) -> None:
        # the three roles' state is set here directly: one object, one __init__ per call
        self._info = info
        self._headers = headers
        self._on_end = None
        self._token_data = token_data
        self._tracker = tracker
        self._thread_id = thread_id  # the gRPC thread serving the call (not always the one building this)
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

    def end_detached(self, exception: BaseException | None) -> None:
        """End a call pyarrow does not know, as its ``call_completed`` would: finalizers, then not in flight."""
        if self.detached:
            self.detached = False
            # the Flight errors the handler wrapper passes are ArrowExceptions, as pyarrow's would be
            self.call_completed(cast(pyarrow.ArrowException | None, exception))

    def stream_released(self, reference: weakref.ref[Any]) -> None:
        """A weak reference's callback: pyarrow released this DoGet's stream, so the call is over."""
        self._tracker.forget_release(reference)
        self.end_detached(None)

    def unregister(self) -> None:
        """Stop being the call the thread serves (if it still is)."""
        self._tracker.forget_arrival(self._thread_id, self)
