"""FlightServerMethods: the base class services subclass, one overridable method per Flight RPC."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator

import pyarrow
import pyarrow.flight

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.errors.translate import flight_error_for
from gfs_runtime.server.call_admission import call_of_context
from gfs_runtime.server.middleware import (
    CallFinalizer,
    CallInfo,
    CallMiddleware,
    OnEndCallbackFn,
    shutting_down_error,
)
from gfs_runtime.tasks.executor import TaskExecutor
from gfs_runtime.tasks.results import ArrowData, DataLease, FlightDataTaskResult, TaskExecutionResult
from gfs_runtime.telemetry.event_logger import get_logger


def _not_implemented(rpc: str) -> pyarrow.flight.FlightServerError:
    return ErrorInfo.for_reason(
        ErrorCode.NOT_IMPLEMENTED, f"{rpc} is not implemented by this service."
    ).to_server_error()


def _call_of(context: pyarrow.flight.ServerCallContext) -> CallMiddleware:
    call = call_of_context(context)
    if call is None:
        raise RuntimeError(
            "no gfs call found for this context: ask while the call's handler runs, on its thread or a thread"
            " it waits for, and from a gfs FlightServer"
        )
    return call


def _release_on_end(lease: DataLease, result: FlightDataTaskResult) -> OnEndCallbackFn:
    def on_end(_: pyarrow.ArrowException | None) -> None:
        lease.release()
        if result.single_use_data:
            result.close()

    return on_end


def _guarded_items(items: Iterable[ArrowData], call: CallMiddleware) -> Iterator[ArrowData]:
    """Yield `items`, ending with SHUTTING_DOWN once draining is given up; errors become typed FlightErrors."""
    try:
        for item in items:
            if call.streams_cut:
                raise shutting_down_error()
            yield item
    except GeneratorExit:
        raise
    except BaseException as exc:  # pyarrow would send a plain exception's text to the client
        if not isinstance(exc, pyarrow.flight.FlightError):
            get_logger("gfs_runtime.server").error("task_data_stream_failed", exc_info=True)
        raise flight_error_for(exc, include_traceback=call.error_tracebacks) from None


def _stream_for(
    result: FlightDataTaskResult, data: Iterable[ArrowData] | ArrowData, call: CallMiddleware
) -> pyarrow.flight.FlightDataStream:
    if isinstance(data, pyarrow.Table | pyarrow.RecordBatchReader):
        # streamed by C++ without the GIL: the fast path
        return pyarrow.flight.RecordBatchStream(data)
    if isinstance(data, pyarrow.RecordBatch):
        return pyarrow.flight.RecordBatchStream(pyarrow.Table.from_batches([data]))
    return pyarrow.flight.GeneratorStream(result.get_schema(), _guarded_items(data, call))


def _data_result_of(outcome: TaskExecutionResult | None, task_id: str) -> FlightDataTaskResult:
    if outcome is None:
        # unknown and expired ids get the same answer: the client cannot probe which ids exist
        raise ErrorInfo.for_reason(
            ErrorCode.INVALID_TICKET, "The ticket is not valid: its task is unknown or its result expired."
        ).to_user_error()
    if outcome.error is not None:
        raise outcome.error.as_flight_error()
    if outcome.cancelled:
        raise ErrorInfo.for_reason(
            ErrorCode.COMMAND_CANCELLED, f"The task '{task_id}' was cancelled."
        ).to_server_error()
    if not isinstance(outcome.result, FlightDataTaskResult):
        raise ErrorInfo.for_reason(
            ErrorCode.INTERNAL_ERROR,
            f"The task '{task_id}' produced {type(outcome.result).__name__}, not Flight data.",
        ).to_internal_error()
    return outcome.result


class FlightServerMethods:
    """Implementations of the Flight RPCs; override the ones the service offers, the rest answer NOT_IMPLEMENTED."""

    @staticmethod
    def call_info_middleware(context: pyarrow.flight.ServerCallContext) -> CallInfo:
        """The current call's CallInfo: pyarrow's CallInfo and the caller's headers."""
        return _call_of(context)

    @staticmethod
    def call_finalizer_middleware(context: pyarrow.flight.ServerCallContext) -> CallFinalizer:
        """The current call's CallFinalizer, to run functions once the whole call (stream included) ends."""
        return _call_of(context)

    @staticmethod
    def do_get_task_result(
        context: pyarrow.flight.ServerCallContext, task_executor: TaskExecutor, task_id: str
    ) -> pyarrow.flight.FlightDataStream:
        """Stream a task's result for DoGet: waits (bounded, until the client goes) and releases data at the end."""
        call = _call_of(context)
        outcome = task_executor.wait_for_result(task_id, call.task_wait_timeout_sec, should_stop=context.is_cancelled)
        result = _data_result_of(outcome, task_id)
        lease, data = result.acquire_data()
        call.register_on_end(_release_on_end(lease, result))
        return _stream_for(result, data, call)

    def list_flights(
        self, context: pyarrow.flight.ServerCallContext, criteria: bytes
    ) -> Generator[pyarrow.flight.FlightInfo, None, None]:
        """ListFlights: the flights matching `criteria`."""
        raise _not_implemented("ListFlights")

    def get_flight_info(
        self, context: pyarrow.flight.ServerCallContext, descriptor: pyarrow.flight.FlightDescriptor
    ) -> pyarrow.flight.FlightInfo:
        """GetFlightInfo: where and how to get the data `descriptor` names."""
        raise _not_implemented("GetFlightInfo")

    def get_schema(
        self, context: pyarrow.flight.ServerCallContext, descriptor: pyarrow.flight.FlightDescriptor
    ) -> pyarrow.flight.SchemaResult:
        """GetSchema: the schema of the data `descriptor` names."""
        raise _not_implemented("GetSchema")

    def do_put(
        self,
        context: pyarrow.flight.ServerCallContext,
        descriptor: pyarrow.flight.FlightDescriptor,
        reader: pyarrow.flight.MetadataRecordBatchReader,
        writer: pyarrow.flight.FlightMetadataWriter,
    ) -> None:
        """DoPut: receive data uploaded by the client."""
        raise _not_implemented("DoPut")

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        """DoGet: the data stream for `ticket`."""
        raise _not_implemented("DoGet")

    def do_exchange(
        self,
        context: pyarrow.flight.ServerCallContext,
        descriptor: pyarrow.flight.FlightDescriptor,
        reader: pyarrow.flight.MetadataRecordBatchReader,
        writer: pyarrow.flight.MetadataRecordBatchWriter,
    ) -> None:
        """DoExchange: a bidirectional data stream."""
        raise _not_implemented("DoExchange")

    def list_actions(self, context: pyarrow.flight.ServerCallContext) -> list[tuple[str, str]]:
        """ListActions: (type, description) of each custom action."""
        raise _not_implemented("ListActions")

    def do_action(
        self, context: pyarrow.flight.ServerCallContext, action: pyarrow.flight.Action
    ) -> Generator[pyarrow.flight.Result, None, None]:
        """DoAction: run a custom action and yield its results."""
        raise _not_implemented("DoAction")
