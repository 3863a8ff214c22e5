"""The one middleware factory: admits calls, remembers each until its handler runs, counts calls in flight.

pyarrow runs up to three Python callbacks per RPC for a Python middleware (``start_call``,
``sending_headers``, ``call_completed``), each costly. On the plain path ``start_call`` hands pyarrow no
object: it checks that the server serves, authenticates, and leaves ``(info, headers, identity)`` for the
handler under the gRPC thread's id (one tuple, two dict stores). The Flight service's handler wrapper
counts the call in flight (`begin_call`) and ends it (`end_call`); the per-call object (`CallMiddleware`)
is built only if something asks for it (`served_call`). A DoGet stays in flight until pyarrow has sent
and released its stream (see `end_call_when_released`), a lazy DoAction until its results are done.
Metrics and tracing subclass this factory (`gfs_runtime.server.observing`): they build the object at
``start_call`` and hand DoGet/DoAction ones to pyarrow, whose ``call_completed`` tells how a stream ended.
"""

from __future__ import annotations

import collections
import itertools
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import pyarrow.flight

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.errors.translate import flight_error_for
from gfs_runtime.server.call_logging import context_on_stack
from gfs_runtime.server.middleware import (
    DEFAULT_TRACE_KEYS,
    MIDDLEWARE_KEY,
    SHUTTING_DOWN_INFO,
    Authenticator,
    CallMiddleware,
)
from gfs_runtime.telemetry.log_fields import THREAD_LOG_FIELDS

if TYPE_CHECKING:
    from gfs_runtime.telemetry.log_fields import EventDict

Arrival: TypeAlias = "tuple[pyarrow.flight.CallInfo, dict[str, list[str]], Any, float | None] | CallMiddleware"
"""What `start_call` leaves for the handler: info, headers, identity and (when observed) start time; or the object."""

_NOT_READY: Final = ErrorInfo.for_reason(ErrorCode.NOT_READY, "The server is starting; try again later.")
_IDLE_POLL_SEC: Final = 0.05
_get_ident: Final = threading.get_ident


class _ServedCallFields:
    """The log field source registered for every thread this factory serves: the thread's current call."""

    __slots__ = ("_factory",)

    def __init__(self, factory: CallMiddlewareFactory) -> None:
        self._factory = factory

    def add_log_fields(self, event_dict: EventDict) -> None:
        """Add the fields of the call the current thread serves, if any."""
        call = self._factory.served_call()
        if call is not None:
            call.add_log_fields(event_dict)

    def served_call(self, thread_id: int | None = None) -> CallMiddleware | None:
        """The call the current thread (or `thread_id`) serves."""
        return self._factory.served_call(thread_id)


def current_call() -> CallMiddleware | None:
    """The call the current gRPC thread serves (built on first use); None outside a call's handler."""
    source = THREAD_LOG_FIELDS.get(_get_ident())
    return source.served_call() if isinstance(source, _ServedCallFields) else None


def call_of_context(context: pyarrow.flight.ServerCallContext) -> CallMiddleware | None:
    """The call `context` belongs to, also from another thread while that call's handler runs.

    A call handed to pyarrow is in `context`; any other is found by the current thread's id. From another
    thread (a worker the handler hands `context` to), the serving thread is the one with a frame whose
    ``context`` local is this object: a search over every thread's stack, paid only by such lookups.
    """
    handed = context.get_middleware(MIDDLEWARE_KEY)
    call = handed if isinstance(handed, CallMiddleware) else current_call()
    if call is not None:
        return call
    this_thread = _get_ident()
    for thread_id, frame in sys._current_frames().items():
        # this thread's own frames hold `context` too (the helpers' arguments): it is not the serving thread
        if thread_id == this_thread:
            continue
        source = THREAD_LOG_FIELDS.get(thread_id)
        if isinstance(source, _ServedCallFields) and context_on_stack(frame) is context:
            call = source.served_call(thread_id)
            if call is not None:
                return call
    return None


class CallMiddlewareFactory(pyarrow.flight.ServerMiddlewareFactory):
    """Admits calls (or refuses them while not serving), authenticates them and counts calls in flight."""

    _call_class: type[CallMiddleware] = CallMiddleware

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
        self._arrivals: dict[int, Arrival] = {}
        self._fields = _ServedCallFields(self)
        # weak references to the streams of DoGet calls with an object; each one's callback ends its call
        self._released: set[weakref.ref[Any]] = set()
        # per gRPC thread, the stream of a plain DoGet not yet counted as ended (see end_call_when_released)
        self._open_streams: dict[int, weakref.ref[Any]] = {}

    @property
    def in_flight(self) -> int:
        """Calls started and not yet completed."""
        flights = len(self._flights)
        return flights - self._released_streams() if self._open_streams else flights

    @property
    def streams_cut(self) -> bool:
        """True once draining was given up (timeout or abort)."""
        return self._streams_cut

    def start_call(
        self, info: pyarrow.flight.CallInfo, headers: dict[str, list[str] | list[bytes]]
    ) -> CallMiddleware | None:
        """Admit the call (or raise UNAVAILABLE) and authenticate it; hand pyarrow no object (see the module)."""
        self._arrive(info, headers, None)
        return None

    def _arrive(
        self, info: pyarrow.flight.CallInfo, headers: dict[str, list[str] | list[bytes]], started: float | None
    ) -> None:
        """Admit and authenticate a call; leave ``(info, headers, identity, started)`` for its handler."""
        thread_id = _get_ident()
        open_streams = self._open_streams
        if open_streams and open_streams.pop(thread_id, None) is not None:
            # this thread sent a DoGet stream before: gRPC runs a call on one thread to its end, so it is over
            self.call_ended()
        rejection = self._rejection
        if rejection is not None:
            raise rejection.to_unavailable_error()
        token_data = None
        authenticator = self.authenticator
        if authenticator is not None:
            try:
                token_data = authenticator(info, headers)  # type: ignore[arg-type]  # "-bin" values are bytes
            except BaseException as exc:  # nothing is dispatched for a call that failed authentication
                raise flight_error_for(exc) from None
        self._arrivals[thread_id] = (info, headers, token_data, started)  # type: ignore[assignment]  # as above
        THREAD_LOG_FIELDS[thread_id] = self._fields

    def admit(
        self, info: pyarrow.flight.CallInfo, headers: dict[str, list[str] | list[bytes]], *, in_flight: bool
    ) -> CallMiddleware:
        """Like `_arrive`, building the call object at once (and counting it in flight if asked)."""
        self._arrive(info, headers, None)
        if in_flight:
            self._flights.append(None)
            rejection = self._rejection
            if rejection is not None:  # a drain began meanwhile and may have seen no call: refuse this one
                self._arrivals.pop(_get_ident(), None)
                self.call_ended()
                raise rejection.to_unavailable_error()
        call = self.served_call()
        assert call is not None  # just arrived on this thread
        return call

    def served_call(self, thread_id: int | None = None) -> CallMiddleware | None:
        """The current thread's (or `thread_id`'s) call object, built from its arrival on first use; else None."""
        if thread_id is None:
            thread_id = _get_ident()
        arrival = self._arrivals.get(thread_id)
        if arrival is None or isinstance(arrival, CallMiddleware):
            return arrival
        info, headers, token_data, started = arrival
        call = self._call_class(self, info, headers, token_data, next(self._ids), thread_id=thread_id)
        if started is not None:
            call.started = started
        self._arrivals[thread_id] = call
        return call

    def begin_call(self) -> Arrival | None:
        """From the handler wrapper: count the thread's call in flight; None if pyarrow's callbacks do."""
        arrival = self._arrivals.get(_get_ident())
        if arrival is None or (isinstance(arrival, CallMiddleware) and not arrival.detached):
            return None
        self._flights.append(None)
        return arrival

    def end_call(self, begun: Arrival | None, error: pyarrow.flight.FlightError | None) -> Any:
        """From the handler wrapper: end the call `begin_call` began (finalizers, then not in flight).

        Returns `error`, for raising. The thread stops serving the call.
        """
        if begun is not None:
            taken = self._arrivals.pop(_get_ident(), None)
            if isinstance(taken, CallMiddleware):
                taken.end_detached(error)
            else:
                if taken is not None and taken[3] is not None:
                    self.arrival_ended(taken, error)
                self.call_ended()
        return error

    def arrival_ended(self, arrival: Any, error: BaseException | None) -> None:
        """An observed call ended without its object being built; the observing factory reports it."""

    def end_call_when_released(
        self, begun: Arrival, stream: pyarrow.flight.FlightDataStream, *, kept_elsewhere: bool = False
    ) -> None:
        """From DoGet's handler wrapper: the call `begun` stays in flight until pyarrow is done with `stream`.

        The thread stops serving the call now; pyarrow sends (or abandons) the stream after the handler returns,
        on this same thread, and then releases it. A call with an object (finalizers, info asked for) ends
        from a weak reference's callback at that release. A plain call is not given a callback (it would
        run Python in pyarrow's release): its thread counts it ended when it starts its next call, and until
        then `in_flight` (which drains poll) leaves it out once its stream is released.

        A stream the service keeps (`kept_elsewhere`, e.g. one RecordBatchStream over a table returned by
        every call) outlives each call, so its release says nothing: such a call ends with its handler.
        """
        thread_id = _get_ident()
        taken = self._arrivals.pop(thread_id, None)
        if not kept_elsewhere:
            try:
                if isinstance(taken, CallMiddleware):
                    self._released.add(weakref.ref(stream, taken.stream_released))
                else:
                    # only this thread writes or removes its entry (its next `_arrive` removes it): no lock
                    self._open_streams[thread_id] = weakref.ref(stream)
                return
            except TypeError:  # a stream type without weak references: the call ends with its handler
                pass
        if isinstance(taken, CallMiddleware):
            taken.end_detached(None)
        else:
            self.call_ended()

    def _released_streams(self) -> int:
        """Plain DoGet calls whose stream pyarrow released but whose thread has not counted them ended yet."""
        return sum(1 for stream_ref in list(self._open_streams.values()) if stream_ref() is None)

    def forget_release(self, reference: weakref.ref[Any]) -> None:
        """Drop a released stream's weak reference."""
        self._released.discard(reference)

    def forget_threads(self) -> None:
        """Once no call can come any more: drop what this factory keeps per thread, and its log field entries.

        Thread ids are reused: an entry left behind would make a later thread with the same id look like
        one serving a call of this stopped server.
        """
        for thread_id in [tid for tid, source in list(THREAD_LOG_FIELDS.items()) if source is self._fields]:
            if THREAD_LOG_FIELDS.get(thread_id) is self._fields:
                THREAD_LOG_FIELDS.pop(thread_id, None)
        self._arrivals.clear()
        while self._open_streams:  # sent DoGet streams whose threads never started another call
            self._open_streams.popitem()
            self.call_ended()

    def forget_arrival(self, thread_id: int, call: CallMiddleware) -> None:
        """Stop remembering `call` as the call of `thread_id`, unless another call replaced it."""
        if self._arrivals.get(thread_id) is call:
            del self._arrivals[thread_id]

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
            self._rejection = SHUTTING_DOWN_INFO

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
            while self.in_flight and not self._streams_cut:
                left = _IDLE_POLL_SEC if deadline is None else min(_IDLE_POLL_SEC, deadline - time.monotonic())
                if left <= 0:
                    break
                self._cond.wait(left)
            return not self.in_flight
