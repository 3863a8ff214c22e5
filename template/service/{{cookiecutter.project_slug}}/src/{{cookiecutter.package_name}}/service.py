"""Flight RPC methods: ListFlights lists the datasets, GetFlightInfo submits a read task, DoGet streams its result."""

from __future__ import annotations

from collections.abc import Generator

import gfs_runtime as gf
import pyarrow.flight

from {{ cookiecutter.package_name }}.catalog import Catalog, Dataset
from {{ cookiecutter.package_name }}.settings import ServiceSettings


class ReadDatasetTask(gf.Task):
    """Produces one dataset's rows on the server's task executor, so a slow source never blocks a Flight call."""

    def __init__(self, dataset: Dataset, row_limit: int) -> None:
        super().__init__(cmd=dataset.name.encode())
        self._dataset = dataset
        self._row_limit = row_limit

    def run(self) -> gf.TaskResult | gf.TaskError:
        """Cut the table to the row limit; a real service would query its source here, checking for cancel."""
        self.check_cancelled()
        table = self._dataset.table.slice(0, self._row_limit)
        return gf.FlightDataTaskResult.for_table(table)


class ServiceMethods(gf.FlightServerMethods):
    """The recommended flow: plan in GetFlightInfo (submit a Task), stream in DoGet (`do_get_task_result`)."""

    def __init__(self, ctx: gf.ServerContext, catalog: Catalog, settings: ServiceSettings) -> None:
        self._ctx = ctx
        self._catalog = catalog
        self._settings = settings

    def list_flights(
        self, context: pyarrow.flight.ServerCallContext, criteria: bytes
    ) -> Generator[pyarrow.flight.FlightInfo, None, None]:
        """One FlightInfo per dataset, with its schema and row count and no endpoints (call GetFlightInfo)."""
        for dataset in self._catalog:
            yield pyarrow.flight.FlightInfo(dataset.table.schema, dataset.descriptor, [], dataset.table.num_rows, -1)

    def get_flight_info(
        self, context: pyarrow.flight.ServerCallContext, descriptor: pyarrow.flight.FlightDescriptor
    ) -> pyarrow.flight.FlightInfo:
        """Submit a task reading the dataset; its id is the ticket of the one endpoint returned."""
        dataset = self._catalog.find(descriptor)
        task = ReadDatasetTask(dataset, self._settings.row_limit)
        self._ctx.task_executor.submit(task)
        endpoint = pyarrow.flight.FlightEndpoint(task.task_id.encode(), [self._ctx.location])
        return pyarrow.flight.FlightInfo(dataset.table.schema, descriptor, [endpoint], -1, -1)

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        """Stream the result of the task the ticket names; unknown or expired tickets get INVALID_TICKET."""
        task_id = ticket.ticket.decode("utf-8", errors="replace")
        return self.do_get_task_result(context, self._ctx.task_executor, task_id)


@gf.flight_server_methods
def create_methods(ctx: gf.ServerContext) -> gf.FlightServerMethods:
    """Factory the server calls once at start-up: read the settings, load the datasets, build the methods."""
    settings = ServiceSettings.from_settings(ctx.settings)
    return ServiceMethods(ctx, Catalog.load(settings.data_dir), settings)
