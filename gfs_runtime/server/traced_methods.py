"""With tracing on, the service's methods run with their call's span current (for their spans, logs and tasks)."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from typing import Any

import pyarrow.flight

from gfs_runtime.server.call_admission import call_of_context
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.telemetry.tracing import Tracing


class TracedMethods(FlightServerMethods):
    """Delegates every RPC to the service's methods inside `Tracing.use_call_span` of the call's span.

    Put in front of the service's methods only when tracing is on: the plain path has no extra frame.
    Results produced lazily (DoAction generators) are pulled with the span current too.
    """

    def __init__(self, methods: FlightServerMethods, tracing: Tracing) -> None:
        self._methods = methods
        self._tracing = tracing

    def _in_span(self, context: pyarrow.flight.ServerCallContext) -> Any:
        call = call_of_context(context)
        span = None if call is None else call.span
        # pyarrow tells the peer only to the handler, so the span started at admission gets it here
        self._tracing.set_call_peer(span, context.peer())
        return self._tracing.use_call_span(span)

    def _pulled_in_span(self, span_scope: Any, results: Iterable[Any]) -> Iterator[Any]:
        iterator = iter(results)
        while True:
            with span_scope:
                try:
                    item = next(iterator)
                except StopIteration:
                    return
            yield item

    def list_flights(
        self, context: pyarrow.flight.ServerCallContext, criteria: bytes
    ) -> Generator[pyarrow.flight.FlightInfo, None, None]:
        """ListFlights, listed with the span current."""
        with self._in_span(context):
            flights = list(self._methods.list_flights(context, criteria))
        yield from flights

    def get_flight_info(
        self, context: pyarrow.flight.ServerCallContext, descriptor: pyarrow.flight.FlightDescriptor
    ) -> pyarrow.flight.FlightInfo:
        """GetFlightInfo."""
        with self._in_span(context):
            return self._methods.get_flight_info(context, descriptor)

    def get_schema(
        self, context: pyarrow.flight.ServerCallContext, descriptor: pyarrow.flight.FlightDescriptor
    ) -> pyarrow.flight.SchemaResult:
        """GetSchema."""
        with self._in_span(context):
            return self._methods.get_schema(context, descriptor)

    def do_put(
        self,
        context: pyarrow.flight.ServerCallContext,
        descriptor: pyarrow.flight.FlightDescriptor,
        reader: pyarrow.flight.MetadataRecordBatchReader,
        writer: pyarrow.flight.FlightMetadataWriter,
    ) -> None:
        """DoPut."""
        with self._in_span(context):
            self._methods.do_put(context, descriptor, reader, writer)

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        """DoGet (a stream the method returns is sent after the span stops being current)."""
        with self._in_span(context):
            return self._methods.do_get(context, ticket)

    def do_exchange(
        self,
        context: pyarrow.flight.ServerCallContext,
        descriptor: pyarrow.flight.FlightDescriptor,
        reader: pyarrow.flight.MetadataRecordBatchReader,
        writer: pyarrow.flight.MetadataRecordBatchWriter,
    ) -> None:
        """DoExchange."""
        with self._in_span(context):
            self._methods.do_exchange(context, descriptor, reader, writer)

    def list_actions(self, context: pyarrow.flight.ServerCallContext) -> list[tuple[str, str]]:
        """ListActions."""
        with self._in_span(context):
            return list(self._methods.list_actions(context))

    def do_action(self, context: pyarrow.flight.ServerCallContext, action: pyarrow.flight.Action) -> Any:
        """DoAction; results produced lazily are pulled with the span current."""
        span_scope = self._in_span(context)
        with span_scope:
            results = self._methods.do_action(context, action)
        if results is None or isinstance(results, list | tuple):
            return results
        return self._pulled_in_span(span_scope, results)
