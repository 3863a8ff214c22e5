"""ServerMetrics: what each recording method does to the scraped exposition, and registry isolation."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import prometheus_client
import pyarrow.flight
import pytest

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.telemetry.metrics import RPC_METHODS, RPC_OUTCOMES, ServerMetrics, call_outcome
from gfs_runtime.telemetry.metrics_server import MetricsServer
from tests.telemetry.conftest import Samples, scrape, value

pytestmark = pytest.mark.timeout(20)


def test_observe_call_counts_by_method_and_outcome(metrics: ServerMetrics, scraped: Callable[[], Samples]) -> None:
    metrics.observe_call("do_get", "ok", 0.002)
    metrics.observe_call("do_get", "ok", 0.003)
    metrics.observe_call("do_get", "client_error", 0.5)
    metrics.observe_call("do_action", "ok", 0.001)

    samples = scraped()

    assert value(samples, "gfs_rpc_calls_total", method="do_get", outcome="ok") == 2
    assert value(samples, "gfs_rpc_calls_total", method="do_get", outcome="client_error") == 1
    assert value(samples, "gfs_rpc_calls_total", method="do_action", outcome="ok") == 1
    assert value(samples, "gfs_rpc_calls_total", method="do_action", outcome="client_error") is None


def test_observe_call_records_durations_in_the_method_histogram(
    metrics: ServerMetrics, scraped: Callable[[], Samples]
) -> None:
    metrics.observe_call("do_get", "ok", 0.0004)
    metrics.observe_call("do_get", "server_error", 0.002)
    metrics.observe_call("do_get", "ok", 90.0)

    samples = scraped()

    assert value(samples, "gfs_rpc_duration_seconds_count", method="do_get") == 3
    assert value(samples, "gfs_rpc_duration_seconds_sum", method="do_get") == pytest.approx(90.0024)
    assert value(samples, "gfs_rpc_duration_seconds_bucket", method="do_get", le="0.0005") == 1
    assert value(samples, "gfs_rpc_duration_seconds_bucket", method="do_get", le="0.0025") == 2
    assert value(samples, "gfs_rpc_duration_seconds_bucket", method="do_get", le="60.0") == 2
    assert value(samples, "gfs_rpc_duration_seconds_bucket", method="do_get", le="120.0") == 3


def test_unknown_method_and_outcome_are_counted_as_other(
    metrics: ServerMetrics, scraped: Callable[[], Samples]
) -> None:
    metrics.observe_call("task-42-do_get", "ok", 0.1)
    metrics.observe_call("do_get", "weird-outcome-7", 0.1)
    metrics.observe_call("task-43-do_get", "weird-outcome-8", 0.1)

    samples = scraped()

    assert value(samples, "gfs_rpc_calls_total", method="other", outcome="ok") == 1
    assert value(samples, "gfs_rpc_calls_total", method="do_get", outcome="other") == 1
    assert value(samples, "gfs_rpc_calls_total", method="other", outcome="other") == 1
    label_values = {v for (_, labels) in samples for (_, v) in labels}
    assert not {"task-42-do_get", "task-43-do_get", "weird-outcome-7", "weird-outcome-8"} & label_values


def test_every_known_method_and_outcome_is_its_own_series(metrics: ServerMetrics) -> None:
    for method in RPC_METHODS:
        for outcome in RPC_OUTCOMES:
            metrics.observe_call(method, outcome, 0.01)

    for method in RPC_METHODS:
        for outcome in RPC_OUTCOMES:
            got = metrics.registry.get_sample_value("gfs_rpc_calls_total", {"method": method, "outcome": outcome})
            assert got == 1, (method, outcome)


def test_in_flight_gauge_reads_its_source_at_scrape_time(
    metrics: ServerMetrics, scraped: Callable[[], Samples]
) -> None:
    in_flight = [0]
    metrics.track_in_flight(lambda: in_flight[0])

    in_flight[0] = 3
    assert value(scraped(), "gfs_rpc_in_flight") == 3
    in_flight[0] = 1
    assert value(scraped(), "gfs_rpc_in_flight") == 1


def test_auth_failures_are_counted_by_closed_reason(metrics: ServerMetrics, scraped: Callable[[], Samples]) -> None:
    metrics.auth_failed("missing_token")
    metrics.auth_failed("invalid_token")
    metrics.auth_failed("invalid_token")
    metrics.auth_failed("token abc123 rejected")

    samples = scraped()

    assert value(samples, "gfs_auth_failures_total", reason="missing_token") == 1
    assert value(samples, "gfs_auth_failures_total", reason="invalid_token") == 2
    assert value(samples, "gfs_auth_failures_total", reason="other") == 1
    assert value(samples, "gfs_auth_failures_total", reason="token abc123 rejected") is None


def test_malloc_trim_durations_and_errors_are_recorded(metrics: ServerMetrics, scraped: Callable[[], Samples]) -> None:
    metrics.malloc_trimmed(0.01)
    metrics.malloc_trimmed(0.03)
    metrics.malloc_trim_failed()

    samples = scraped()

    assert value(samples, "gfs_malloc_trim_duration_seconds_count") == 2
    assert value(samples, "gfs_malloc_trim_duration_seconds_sum") == pytest.approx(0.04)
    assert value(samples, "gfs_malloc_trim_errors_total") == 1


def test_user_metrics_are_served_with_the_server_metrics(
    metrics: ServerMetrics, scraped: Callable[[], Samples]
) -> None:
    rows = metrics.counter("orders_rows", "Rows served.", ["table"])
    pending = metrics.gauge("orders_pending", "Orders pending.")
    latency = metrics.histogram("orders_query_seconds", "Query time.", buckets=(0.1, 1.0))
    sizes = metrics.summary("orders_batch_rows", "Rows per batch.")
    rows.labels("orders").inc(5)
    pending.set(7)
    latency.observe(0.5)
    sizes.observe(100)

    samples = scraped()

    assert value(samples, "orders_rows_total", table="orders") == 5
    assert value(samples, "orders_pending") == 7
    assert value(samples, "orders_query_seconds_bucket", le="1.0") == 1
    assert value(samples, "orders_query_seconds_bucket", le="0.1") == 0
    assert value(samples, "orders_batch_rows_sum") == 100


def test_registering_a_taken_metric_name_is_refused(metrics: ServerMetrics) -> None:
    metrics.counter("orders_rows", "Rows served.")

    with pytest.raises(ValueError, match="orders_rows"):
        metrics.gauge("orders_rows", "Again.")
    with pytest.raises(ValueError, match="gfs_rpc_in_flight"):
        metrics.gauge("gfs_rpc_in_flight", "Clashes with a server metric.")


def test_two_server_metrics_keep_separate_registries() -> None:
    first = ServerMetrics()
    second = ServerMetrics()
    first.counter("shared_name", "Registered in both without clashing.")
    second.counter("shared_name", "Registered in both without clashing.")

    first.observe_call("do_get", "ok", 0.01)

    labels = {"method": "do_get", "outcome": "ok"}
    assert first.registry.get_sample_value("gfs_rpc_calls_total", labels) == 1
    assert second.registry.get_sample_value("gfs_rpc_calls_total", labels) is None
    assert prometheus_client.REGISTRY.get_sample_value("gfs_rpc_calls_total", labels) is None


def test_two_servers_each_serve_only_their_own_metrics() -> None:
    first, second = ServerMetrics(process_metrics=False), ServerMetrics(process_metrics=False)
    first.auth_failed("missing_token")
    servers = [MetricsServer(m.registry, "127.0.0.1", 0) for m in (first, second)]
    try:
        for server in servers:
            server.start()
        first_samples, second_samples = scrape(servers[0].port), scrape(servers[1].port)
    finally:
        for server in servers:
            server.stop()

    assert value(first_samples, "gfs_auth_failures_total", reason="missing_token") == 1
    assert value(second_samples, "gfs_auth_failures_total", reason="missing_token") is None


def test_process_metrics_are_served_by_default() -> None:
    metrics = ServerMetrics()
    server = MetricsServer(metrics.registry, "127.0.0.1", 0)
    server.start()
    try:
        samples = scrape(server.port)
    finally:
        server.stop()

    names = {name for (name, _) in samples}
    assert "process_resident_memory_bytes" in names
    assert "python_info" in names


def test_importing_the_metrics_modules_builds_no_prometheus_global_state() -> None:
    code = (
        "import sys, gfs_runtime.telemetry.metrics, gfs_runtime.telemetry.metrics_server; "
        "print('prometheus_client' in sys.modules)"
    )

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)

    assert done.stdout.strip() == "False"


_not_error_info = pyarrow.flight.FlightServerError(
    "not json",
    extra_info=b"{{",  # type: ignore[call-arg]  # the stubs omit extra_info, which pyarrow accepts
)


def _error_info(code: int) -> ErrorInfo:
    return ErrorInfo.for_reason(code, "reason")


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (None, "ok"),
        (ErrorInfo.bad_argument("bad"), "client_error"),
        (_error_info(ErrorCode.INVALID_TICKET).to_user_error(), "client_error"),
        (_error_info(ErrorCode.NOT_IMPLEMENTED).to_server_error(), "client_error"),
        (_error_info(ErrorCode.COMMAND_FAILED).to_server_error(), "server_error"),
        (_error_info(ErrorCode.INTERNAL_ERROR).to_internal_error(), "server_error"),
        (_error_info(ErrorCode.SHUTTING_DOWN).to_unavailable_error(), "shutting_down"),
        (_error_info(ErrorCode.BACKPRESSURE).to_unavailable_error(), "unavailable"),
        (_error_info(ErrorCode.COMMAND_CANCELLED).to_server_error(), "cancelled"),
        (_error_info(ErrorCode.TIMEOUT).to_timeout_error(), "timeout"),
        (_error_info(ErrorCode.UNKNOWN).to_unauthenticated_error(), "unauthenticated"),
        (_error_info(ErrorCode.UNKNOWN).to_unauthorized_error(), "unauthorized"),
        (pyarrow.flight.FlightCancelledError("gone"), "cancelled"),
        (pyarrow.flight.FlightTimedOutError("slow"), "timeout"),
        (pyarrow.flight.FlightUnavailableError("down"), "unavailable"),
        (pyarrow.flight.FlightServerError("no info"), "server_error"),
        (_not_error_info, "server_error"),
        (ValueError("plain"), "server_error"),
    ],
)
def test_call_outcome_labels_each_kind_of_ending(exception: BaseException | None, expected: str) -> None:
    outcome = call_outcome(exception)

    assert outcome == expected
    assert outcome in RPC_OUTCOMES
