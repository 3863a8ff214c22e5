"""MetricsServer: serving over real HTTP, free ports, stop, and bind failures."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request

import pytest

from gfs_runtime.errors.exceptions import ServerStartError
from gfs_runtime.telemetry.metrics import ServerMetrics
from gfs_runtime.telemetry.metrics_server import MetricsServer
from tests.telemetry.conftest import scrape_text

pytestmark = pytest.mark.timeout(20)


def _metrics_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "gfs-metrics-http"]


def test_port_zero_binds_a_free_port_and_serves_the_exposition(metrics: ServerMetrics) -> None:
    metrics.observe_call("list_flights", "ok", 0.001)
    server = MetricsServer(metrics.registry, "127.0.0.1", 0)
    server.start()
    try:
        text = scrape_text(server.port)
    finally:
        server.stop()

    assert server.port != 0
    assert "# TYPE gfs_rpc_calls_total counter" in text
    assert 'gfs_rpc_calls_total{method="list_flights",outcome="ok"} 1.0' in text


def test_stop_releases_the_port_and_ends_the_thread(metrics: ServerMetrics) -> None:
    server = MetricsServer(metrics.registry, "127.0.0.1", 0)
    server.start()
    port = server.port
    server.stop()

    assert server.port == port
    assert _metrics_threads() == []
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


def test_stop_is_idempotent_and_safe_before_start(metrics: ServerMetrics) -> None:
    never_started = MetricsServer(metrics.registry, "127.0.0.1", 0)
    never_started.stop()
    never_started.stop()
    started = MetricsServer(metrics.registry, "127.0.0.1", 0)
    started.start()
    started.stop()
    started.stop()

    assert _metrics_threads() == []


def test_start_twice_keeps_one_endpoint(metrics: ServerMetrics) -> None:
    server = MetricsServer(metrics.registry, "127.0.0.1", 0)
    server.start()
    try:
        port = server.port
        server.start()
        assert server.port == port
        assert len(_metrics_threads()) == 1
    finally:
        server.stop()


def test_start_after_stop_is_refused(metrics: ServerMetrics) -> None:
    server = MetricsServer(metrics.registry, "127.0.0.1", 0)
    server.start()
    server.stop()

    with pytest.raises(ServerStartError, match="stopped"):
        server.start()


def test_port_in_use_raises_server_start_error_naming_host_and_port(metrics: ServerMetrics) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = MetricsServer(metrics.registry, "127.0.0.1", port)

        with pytest.raises(ServerStartError) as caught:
            server.start()

    assert "'127.0.0.1'" in str(caught.value)
    assert f"port {port}" in str(caught.value)
    assert _metrics_threads() == []


def test_address_not_on_this_host_raises_server_start_error(metrics: ServerMetrics) -> None:
    # 192.0.2.0/24 is TEST-NET-1: never assigned to a local interface, so bind fails without any traffic
    server = MetricsServer(metrics.registry, "192.0.2.1", 0)

    with pytest.raises(ServerStartError, match=r"'192\.0\.2\.1' port 0"):
        server.start()


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="this host has no IPv6 loopback")
def test_ipv6_loopback_is_served(metrics: ServerMetrics) -> None:
    metrics.auth_failed("missing_token")
    server = MetricsServer(metrics.registry, "::1", 0)
    server.start()
    try:
        with urllib.request.urlopen(f"http://[::1]:{server.port}/metrics", timeout=5) as response:
            text = response.read().decode()
    finally:
        server.stop()

    assert 'gfs_auth_failures_total{reason="missing_token"} 1.0' in text
