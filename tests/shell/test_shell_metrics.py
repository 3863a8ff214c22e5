"""Prometheus metrics of a real FlightServer, scraped over real HTTP: calls, auth failures, tasks, user metrics."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pyarrow
import pyarrow.flight
import pytest

from gfs_runtime.config import read_config
from gfs_runtime.errors.exceptions import ServerStartError
from gfs_runtime.health.maintenance import MallocTrimmer
from gfs_runtime.health.monitor import ServerHealthMonitor
from gfs_runtime.server.context import ServerContext
from gfs_runtime.tasks.thread_executor import ThreadTaskExecutor
from tests.shell.service import ShellService, fetch
from tests.shell.support import ServerFactory, bearer, client_for, run_action, sample, scrape

pytestmark = pytest.mark.timeout(30)

METRICS = {"metrics_host": "127.0.0.1", "metrics_port": 0}
WAIT_SEC = 10.0


def test_calls_are_counted_by_method_and_outcome(make_server: ServerFactory) -> None:
    server = make_server(ShellService, **METRICS)
    with client_for(server) as client:
        run_action(client, "ok")
        run_action(client, "ok")
        with pytest.raises(pyarrow.flight.FlightServerError):
            run_action(client, "bad")
        client.list_actions()
        with pytest.raises(pyarrow.ArrowException, match="not implemented"):
            client.get_schema(pyarrow.flight.FlightDescriptor.for_command(b"x"))

    samples = scrape(server)

    assert sample(samples, "gfs_rpc_calls_total", method="do_action", outcome="ok") == 2
    assert sample(samples, "gfs_rpc_calls_total", method="do_action", outcome="client_error") == 1
    assert sample(samples, "gfs_rpc_calls_total", method="list_actions", outcome="ok") == 1
    assert sample(samples, "gfs_rpc_calls_total", method="get_schema", outcome="client_error") == 1
    assert sample(samples, "gfs_rpc_duration_seconds_count", method="do_action") == 3
    assert sample(samples, "gfs_rpc_duration_seconds_sum", method="do_action") > 0


def test_calls_whose_object_was_built_report_their_own_duration(make_server: ServerFactory) -> None:
    # GetFlightInfo submits a task, whose log fields need the call object: built mid-call from the arrival
    server = make_server(ShellService, **METRICS)
    with client_for(server) as client:
        assert fetch(client).num_rows > 0

    samples = scrape(server)

    assert sample(samples, "gfs_rpc_calls_total", method="get_flight_info", outcome="ok") == 1
    assert sample(samples, "gfs_rpc_calls_total", method="do_get", outcome="ok") == 1
    assert sample(samples, "gfs_rpc_duration_seconds_count", method="get_flight_info") == 1
    assert 0 < sample(samples, "gfs_rpc_duration_seconds_sum", method="get_flight_info") < WAIT_SEC


def test_in_flight_gauge_counts_a_running_call(make_server: ServerFactory) -> None:
    methods = ShellService()
    server = make_server(methods, **METRICS)
    with client_for(server) as client:
        caller = threading.Thread(target=run_action, args=(client, "slow"))
        caller.start()
        try:
            assert methods.entered.wait(WAIT_SEC)
            during = scrape(server)
        finally:
            methods.release.set()
            caller.join(WAIT_SEC)
    after = scrape(server)

    assert sample(during, "gfs_rpc_in_flight") == 1
    assert sample(after, "gfs_rpc_in_flight") == 0


def test_auth_failures_are_counted_by_reason(make_server: ServerFactory, strategy_module: str) -> None:
    server = make_server(ShellService, authentication_method="token", token_verification=strategy_module, **METRICS)
    no_token = pyarrow.flight.FlightCallOptions(timeout=10)
    malformed = pyarrow.flight.FlightCallOptions(headers=[(b"authorization", b"Basic YTpi")], timeout=10)
    refused = [(no_token, 1), (bearer("mallory-token"), 1), (malformed, 1), (bearer("forbidden-token"), 1)]
    with client_for(server) as client:
        for options, _ in refused:
            with pytest.raises(pyarrow.flight.FlightError):
                run_action(client, "ok", options)
        with pytest.raises(pyarrow.flight.FlightInternalError):
            run_action(client, "ok", bearer("boom-token"))
        run_action(client, "ok", bearer("alice-token"))

    samples = scrape(server)

    assert sample(samples, "gfs_auth_failures_total", reason="missing_token") == 1
    assert sample(samples, "gfs_auth_failures_total", reason="invalid_token") == 2
    assert sample(samples, "gfs_auth_failures_total", reason="unauthorized") == 1
    assert sample(samples, "gfs_auth_failures_total", reason="verifier_error") == 1
    assert sample(samples, "gfs_rpc_calls_total", method="do_action", outcome="unauthenticated") == 3
    assert sample(samples, "gfs_rpc_calls_total", method="do_action", outcome="unauthorized") == 1
    assert sample(samples, "gfs_rpc_calls_total", method="do_action", outcome="ok") == 1


def test_tasks_report_to_the_task_metrics(make_server: ServerFactory) -> None:
    server = make_server(ShellService, **METRICS)
    with client_for(server) as client:
        assert fetch(client).num_rows == 3
        with pytest.raises(pyarrow.flight.FlightServerError):
            fetch(client, b"fail")

    samples = scrape(server)

    assert sample(samples, "gfs_task_finished_total", outcome="ok") == 1
    assert sample(samples, "gfs_task_finished_total", outcome="failed") == 1
    assert sample(samples, "gfs_task_wait_seconds_count") == 2
    assert sample(samples, "gfs_task_queued") == 0


def test_service_adds_its_own_metrics_through_the_context(make_server: ServerFactory) -> None:
    server = make_server(ShellService, **METRICS)
    with client_for(server) as client:
        run_action(client, "count")
        run_action(client, "count")

    assert sample(scrape(server), "shell_orders_total", kind="retail") == 2
    assert server.metrics is not None


def test_without_metrics_host_the_context_has_no_metrics_and_no_port(make_server: ServerFactory) -> None:
    seen: list[ServerContext] = []

    def factory(ctx: ServerContext) -> ShellService:
        seen.append(ctx)
        return ShellService(ctx)

    server = make_server(factory)

    assert seen[0].metrics is None
    assert (server.metrics, server.metrics_port) == (None, None)


def test_server_context_still_builds_from_the_five_reference_fields() -> None:
    settings, config = read_config((), {"server": {"task_threads": 1}})
    executor = ThreadTaskExecutor(task_threads=1, task_close_threads=1, task_queue_size=1, result_ttl_sec=1)
    location = pyarrow.flight.Location("grpc://127.0.0.1:1")

    ctx = ServerContext(settings, config, location, ServerHealthMonitor(), executor)

    assert ctx.metrics is None
    assert ctx.task_executor is executor


@pytest.mark.skipif(not MallocTrimmer(1).is_supported, reason="this libc has no malloc_trim")
def test_malloc_trim_runs_and_is_counted(make_server: ServerFactory) -> None:
    server = make_server(ShellService, malloc_trim_interval_sec=1, **METRICS)
    deadline = time.monotonic() + WAIT_SEC
    # the trimmer runs on a 1 s timer: asking the endpoint again is the only way to see its first trim
    while not sample(scrape(server), "gfs_malloc_trim_duration_seconds_count"):
        assert time.monotonic() < deadline, "no malloc_trim was reported"
        time.sleep(0.05)


def test_metrics_port_in_use_fails_start_up_cleanly(make_server: ServerFactory) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = make_server(ShellService, start=False, metrics_host="127.0.0.1", metrics_port=port)
        server.start(handle_signals=False)
        with pytest.raises(ServerStartError, match=f"cannot serve metrics on host '127.0.0.1' port {port}"):
            server.wait_for_start(WAIT_SEC)


def test_metrics_endpoint_stops_with_the_server(make_server: ServerFactory) -> None:
    server = make_server(ShellService, **METRICS)
    port = server.metrics_port
    server.stop()
    assert server.wait_for_stop(WAIT_SEC)
    with pytest.raises(urllib.error.URLError, match="refused"):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)


_PLAIN_SERVER_RUN = """
import sys
import pyarrow.flight
from gfs_runtime.testing import serve, connect
from tests.shell.service import ShellService, fetch

with serve(ShellService) as server, connect(server) as client:
    assert fetch(client).num_rows == 3
heavy = [name for name in sys.modules if name.startswith(("prometheus_client", "opentelemetry.sdk"))]
print("HEAVY", heavy)
"""


@pytest.mark.timeout(60)
def test_without_metrics_and_tracing_neither_prometheus_nor_the_otel_sdk_is_imported() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PLAIN_SERVER_RUN], capture_output=True, text=True, timeout=50, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "HEAVY []" in result.stdout
