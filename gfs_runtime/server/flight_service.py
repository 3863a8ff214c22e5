"""The one pyarrow FlightServerBase subclass: checks inputs, delegates to FlightServerMethods, types all errors."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final, TypeVar, cast

import pyarrow
import pyarrow.flight

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.errors.translate import flight_error_for
from gfs_runtime.server.call_admission import CallMiddlewareFactory
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.server.middleware import MIDDLEWARE_KEY, CallMiddleware
from gfs_runtime.telemetry.event_logger import get_logger

_GUARDED_READER_METHODS: Final = ("read_chunk", "read_all", "to_reader")
_T = TypeVar("_T")


def _returned(value: object, expected: type[_T], method: str) -> _T:
    """`value` if a method returned the type pyarrow needs; a TypeError naming the method otherwise."""
    if not isinstance(value, expected):
        raise TypeError(f"{method} returned {type(value).__name__}, not {expected.__name__}")
    return value


def _reference_count(value: object) -> int:
    """`sys.getrefcount` of `value` seen one call below the variable holding it (see `_lone_reference_count`)."""
    return sys.getrefcount(value)


def _lone_reference_count() -> int:
    """What `_reference_count` gives for an object that only its caller's local variable holds."""
    probe = object()
    return _reference_count(probe)


def _client_vanished() -> pyarrow.flight.FlightCancelledError:
    return ErrorInfo.for_reason(
        ErrorCode.COMMAND_CANCELLED, "The client went away before it finished sending its data."
    ).to_cancelled_error()


def _guard_reader(reader: pyarrow.flight.MetadataRecordBatchReader, context: pyarrow.flight.ServerCallContext) -> None:
    """Make a vanished client an error, not a clean end of data.

    pyarrow reports a client that died mid-upload as an ordinary end of stream; only the call's cancelled
    flag tells the two apart. The reader keeps its type: its methods are shadowed on the instance (its
    `__next__` and `read_pandas` go through them) and removed again by `_unguard_reader`.
    """
    cls = type(reader)

    def read_chunk() -> pyarrow.flight.FlightStreamChunk:
        try:
            return cls.read_chunk(reader)
        except StopIteration:
            if context.is_cancelled():
                raise _client_vanished() from None
            raise

    def read_all() -> pyarrow.Table:
        table = cls.read_all(reader)
        if context.is_cancelled():
            raise _client_vanished()
        return table

    def to_reader() -> pyarrow.RecordBatchReader:
        return pyarrow.RecordBatchReader.from_batches(reader.schema, _batches(read_chunk))

    reader.read_chunk = read_chunk  # type: ignore[method-assign]  # instance shadowing, see docstring
    reader.read_all = read_all  # type: ignore[method-assign]  # instance shadowing, see docstring
    reader.to_reader = to_reader  # type: ignore[method-assign]  # instance shadowing, see docstring


def _unguard_reader(reader: pyarrow.flight.MetadataRecordBatchReader) -> None:
    # the shadowing closures reference the reader: drop them so it is freed with the call, not by the gc
    for name in _GUARDED_READER_METHODS:
        vars(reader).pop(name, None)


def _batches(read_chunk: Any) -> Iterator[pyarrow.RecordBatch]:
    while True:
        try:
            chunk = read_chunk()
        except StopIteration:
            return
        if chunk.data is not None:
            yield chunk.data


def _too_large(what: str, limit: int) -> pyarrow.flight.FlightError:
    # the message names the limit only: it must not echo the client's input
    return ErrorInfo.bad_argument(f"The {what} is larger than the server's limit of {limit} bytes.")


class FlightService(pyarrow.flight.FlightServerBase):
    """Binds the Flight port at construction; serves calls through the methods given to `serve_methods`.

    Private to `gfs_runtime.server`: services never see it, they implement FlightServerMethods.
    """

    def __init__(
        self,
        *,
        location: str,
        middleware: CallMiddlewareFactory,
        max_command_bytes: int,
        error_tracebacks: bool,
        tls_certificates: list[tuple[bytes, bytes]] | None = None,
        verify_client: bool = False,
        root_certificates: bytes | None = None,
    ) -> None:
        super().__init__(
            location=location,
            # the stubs say str; pyarrow takes the PEM bytes the config holds
            tls_certificates=cast(list[tuple[str, str]] | None, tls_certificates),
            verify_client=verify_client,
            root_certificates=cast(str | None, root_certificates),
            middleware={MIDDLEWARE_KEY: middleware},
        )
        self._methods = FlightServerMethods()
        self._calls = middleware
        self._max_command_bytes = max_command_bytes
        self._error_tracebacks = error_tracebacks
        self._lone_references = _lone_reference_count()

    def serve_methods(self, methods: FlightServerMethods) -> None:
        """Delegate calls to `methods` from now on."""
        self._methods = methods

    def _failed(self, exc: BaseException, rpc: str) -> pyarrow.flight.FlightError:
        if not isinstance(exc, pyarrow.flight.FlightError | NotImplementedError):
            get_logger("gfs_runtime.server").error("call_failed", rpc=rpc, exc_info=exc)
        # a passed-through error drops the frames it was raised through: nothing of them reaches pyarrow
        return flight_error_for(exc, include_traceback=self._error_tracebacks).with_traceback(None)

    def _check_size(self, value: bytes | None, what: str) -> None:
        if value is not None and len(value) > self._max_command_bytes:
            raise _too_large(what, self._max_command_bytes)

    def _check_descriptor(self, descriptor: pyarrow.flight.FlightDescriptor) -> None:
        # `command` is None for path descriptors (and reading it avoids building a DescriptorType enum)
        command = descriptor.command
        if command is not None:
            self._check_size(command, "descriptor command")
        elif sum(len(part) for part in descriptor.path or ()) > self._max_command_bytes:
            raise _too_large("descriptor path", self._max_command_bytes)

    def _translated(self, results: Iterable[Any], rpc: str, call: CallMiddleware | None) -> Iterator[Any]:
        """Yield `results`, typing any error; the call (if pyarrow does not end it) ends once they are done."""
        error: pyarrow.flight.FlightError | None = None
        try:
            yield from results
        except GeneratorExit:
            raise
        except BaseException as exc:
            error = self._failed(exc, rpc)
            raise error from None
        finally:
            if call is not None:
                call.end_detached(error)

    def _unary(self, rpc: str, answer: Callable[[], _T]) -> _T:
        """Count the call, run `answer`, type any error it raises and end the call: RPCs over with their handler."""
        calls = self._calls
        begun = calls.begin_call()
        try:
            result = answer()
        except BaseException as exc:
            raise calls.end_call(begun, self._failed(exc, rpc)) from None
        calls.end_call(begun, None)
        return result

    def list_flights(  # type: ignore[override]  # pyarrow passes criteria as bytes; the stubs say str
        self, context: pyarrow.flight.ServerCallContext, criteria: bytes
    ) -> Iterator[pyarrow.flight.FlightInfo]:
        """ListFlights, materialized here so errors raised while listing are typed too."""

        def answer() -> list[pyarrow.flight.FlightInfo]:
            self._check_size(criteria, "criteria")
            return list(self._methods.list_flights(context, criteria))

        return iter(self._unary("ListFlights", answer))

    def get_flight_info(
        self, context: pyarrow.flight.ServerCallContext, descriptor: pyarrow.flight.FlightDescriptor
    ) -> pyarrow.flight.FlightInfo:
        """GetFlightInfo."""

        def answer() -> pyarrow.flight.FlightInfo:
            self._check_descriptor(descriptor)
            return _returned(
                self._methods.get_flight_info(context, descriptor), pyarrow.flight.FlightInfo, "get_flight_info"
            )

        return self._unary("GetFlightInfo", answer)

    def get_schema(  # type: ignore[override]  # pyarrow expects a SchemaResult; the stubs say Schema
        self, context: pyarrow.flight.ServerCallContext, descriptor: pyarrow.flight.FlightDescriptor
    ) -> pyarrow.flight.SchemaResult:
        """GetSchema."""

        def answer() -> pyarrow.flight.SchemaResult:
            self._check_descriptor(descriptor)
            return _returned(self._methods.get_schema(context, descriptor), pyarrow.flight.SchemaResult, "get_schema")

        return self._unary("GetSchema", answer)

    def do_put(
        self,
        context: pyarrow.flight.ServerCallContext,
        descriptor: pyarrow.flight.FlightDescriptor,
        reader: pyarrow.flight.MetadataRecordBatchReader,
        writer: pyarrow.flight.FlightMetadataWriter,
    ) -> None:
        """DoPut; a client that vanishes mid-upload reaches the method as an error."""
        self._unary("DoPut", lambda: self._receive(self._methods.do_put, context, descriptor, reader, writer))

    def do_exchange(
        self,
        context: pyarrow.flight.ServerCallContext,
        descriptor: pyarrow.flight.FlightDescriptor,
        reader: pyarrow.flight.MetadataRecordBatchReader,
        writer: pyarrow.flight.MetadataRecordBatchWriter,
    ) -> None:
        """DoExchange; like DoPut, a vanished client is an error for the method."""
        self._unary("DoExchange", lambda: self._receive(self._methods.do_exchange, context, descriptor, reader, writer))

    def _receive(self, handler: Callable[..., None], context: Any, descriptor: Any, reader: Any, writer: Any) -> None:
        """Run an uploading RPC's handler with its reader guarded (see `_guard_reader`)."""
        self._check_descriptor(descriptor)
        _guard_reader(reader, context)
        try:
            handler(context, descriptor, reader, writer)
        finally:
            _unguard_reader(reader)

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        """DoGet; the stream is returned as is, so C++ streams stay off the GIL; the call ends when it is released."""
        calls = self._calls
        begun = calls.begin_call()
        try:
            self._check_size(ticket.ticket, "ticket")
            stream = _returned(self._methods.do_get(context, ticket), pyarrow.flight.FlightDataStream, "do_get")
        except BaseException as exc:
            raise calls.end_call(begun, self._failed(exc, "DoGet")) from None
        if begun is not None:  # else pyarrow's callbacks end the call
            # more references than this local's: the service keeps the stream, so its release cannot end the call
            kept_elsewhere = _reference_count(stream) > self._lone_references
            calls.end_call_when_released(begun, stream, kept_elsewhere=kept_elsewhere)
        return stream

    def list_actions(self, context: pyarrow.flight.ServerCallContext) -> list[Any]:
        """ListActions, materialized here so errors raised while listing are typed too."""
        return self._unary("ListActions", lambda: list(self._methods.list_actions(context)))

    def do_action(self, context: pyarrow.flight.ServerCallContext, action: pyarrow.flight.Action) -> Iterable[Any]:
        """DoAction; results produced lazily are typed on error as they are pulled, and end the call when done."""
        calls = self._calls
        begun = calls.begin_call()
        try:
            body = action.body
            if body is not None and body.size > self._max_command_bytes:
                raise _too_large("action body", self._max_command_bytes)
            results = self._methods.do_action(context, action)
        except BaseException as exc:
            raise calls.end_call(begun, self._failed(exc, "DoAction")) from None
        if results is None or isinstance(results, list | tuple):
            calls.end_call(begun, None)
            return [] if results is None else list(results)
        # a generator's body runs as pyarrow pulls results, on this thread: the call stays its thread's call
        return self._translated(results, "DoAction", None if begun is None else calls.served_call())
