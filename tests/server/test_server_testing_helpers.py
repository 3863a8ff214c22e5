"""gfs_runtime.testing: serve a service in-process, connect to it, decode its errors; and the seed example."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow
import pyarrow.flight
import pytest

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.exceptions import ServerStartError
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.server.lifecycle import ServerState
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.server.server import FlightServer
from gfs_runtime.testing import connect, error_info_of, serve, server_fixture

SEED_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed_service.py"


class RowsMethods(FlightServerMethods):
    """DoGet answers three rows."""

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        return pyarrow.flight.RecordBatchStream(pyarrow.table({"n": [1, 2, 3]}))


def test_serve_runs_the_service_on_a_free_loopback_port_until_the_block_ends() -> None:
    with serve(RowsMethods(), overrides={"server": {"task_threads": 1}}) as server:
        assert server.state is ServerState.READY
        assert server.location.uri.decode().startswith("grpc://127.0.0.1:")
        with connect(server) as client:
            assert client.do_get(pyarrow.flight.Ticket(b"x")).read_all().num_rows == 3
    assert server.state is ServerState.STOPPED


def test_serve_reraises_start_up_failures() -> None:
    def factory(ctx: object) -> FlightServerMethods:
        raise RuntimeError("cannot build")

    with pytest.raises(ServerStartError, match="methods factory failed"), serve(factory):
        pytest.fail("the block must not run")


@pytest.fixture
def rows_server() -> Iterator[FlightServer]:
    yield from server_fixture(RowsMethods(), overrides={"server": {"task_threads": 1}})


def test_server_fixture_gives_a_running_server(rows_server: FlightServer) -> None:
    with connect(rows_server) as client:
        assert client.do_get(pyarrow.flight.Ticket(b"x")).read_all().num_rows == 3


def test_error_info_of_decodes_a_flight_error() -> None:
    error = ErrorInfo.for_reason(ErrorCode.BAD_ARGUMENT, "no such column").to_user_error()
    info = error_info_of(error)
    assert (info.code, info.msg) == (ErrorCode.BAD_ARGUMENT, "no such column")


@pytest.mark.parametrize("error", [ValueError("plain"), pyarrow.flight.FlightServerError("no info")])
def test_error_info_of_refuses_errors_without_error_info(error: BaseException) -> None:
    with pytest.raises(ValueError, match="carries no ErrorInfo"):
        error_info_of(error)


def test_seed_readme_example_serves_col1() -> None:
    spec = importlib.util.spec_from_file_location("gfs_seed_service_example", SEED_EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        with serve(module.my_service, overrides={"server": {"task_threads": 1}}) as server, connect(server) as client:
            table = client.do_get(pyarrow.flight.Ticket(b"anything")).read_all()
    finally:
        sys.modules.pop(spec.name, None)
    assert table.column("col1").to_pylist() == [1, 2, 3]
