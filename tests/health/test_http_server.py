"""HealthCheckServer answers real HTTP probes from the monitor's verdicts."""

from __future__ import annotations

import http.client
import re
import socket
import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from gfs_runtime.errors.exceptions import ServerStartError
from gfs_runtime.health import http_server
from gfs_runtime.health.http_server import HealthCheckServer
from gfs_runtime.health.monitor import ModuleHealthStatus, ServerHealthMonitor

pytestmark = pytest.mark.timeout(10)

Reply = tuple[int, http.client.HTTPMessage, bytes]


@pytest.fixture
def monitor() -> ServerHealthMonitor:
    return ServerHealthMonitor()


@pytest.fixture
def server(monitor: ServerHealthMonitor) -> Iterator[HealthCheckServer]:
    probes = HealthCheckServer(monitor, "127.0.0.1", 0)
    probes.start()
    yield probes
    probes.stop()


def _request(port: int, path: str, method: str = "GET") -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def _json(reply: Reply) -> Any:
    return orjson.loads(reply[2])


def _raw_request(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


def _raw_status(port: int, data: bytes) -> int:
    return int(_raw_request(port, data).split()[1])


def test_starting_server_is_live_but_not_ready(server: HealthCheckServer) -> None:
    live, ready = _request(server.port, "/live"), _request(server.port, "/ready")
    assert (live[0], _json(live)) == (200, {"status": "ok"})
    assert (ready[0], _json(ready)) == (503, {"status": "not_ready", "failing": ["server:starting"]})


def test_ready_server_passes_both_probes(server: HealthCheckServer, monitor: ServerHealthMonitor) -> None:
    monitor.set_server_state("ready", accepting_traffic=True)
    for path in ("/live", "/ready"):
        reply = _request(server.port, path)
        assert (reply[0], _json(reply)) == (200, {"status": "ok"})


def test_draining_server_fails_ready_only(server: HealthCheckServer, monitor: ServerHealthMonitor) -> None:
    monitor.set_server_state("ready", accepting_traffic=True)
    monitor.set_server_state("draining", accepting_traffic=False)
    assert _request(server.port, "/live")[0] == 200
    ready = _request(server.port, "/ready")
    assert (ready[0], _json(ready)) == (503, {"status": "not_ready", "failing": ["server:draining"]})


def test_not_ok_module_fails_both_probes_and_recovers(server: HealthCheckServer, monitor: ServerHealthMonitor) -> None:
    monitor.set_server_state("ready", accepting_traffic=True)
    monitor.set_module_status("db", ModuleHealthStatus.NOT_OK)
    live, ready = _request(server.port, "/live"), _request(server.port, "/ready")
    assert (live[0], _json(live)) == (503, {"status": "not_live", "failing": ["db"]})
    assert (ready[0], _json(ready)) == (503, {"status": "not_ready", "failing": ["db"]})
    monitor.set_module_status("db", ModuleHealthStatus.OK)
    assert _request(server.port, "/live")[0] == 200
    assert _request(server.port, "/ready")[0] == 200


def test_not_ready_module_fails_ready_only(server: HealthCheckServer, monitor: ServerHealthMonitor) -> None:
    monitor.set_server_state("ready", accepting_traffic=True)
    monitor.set_module_status("cache", ModuleHealthStatus.NOT_READY)
    assert _request(server.port, "/live")[0] == 200
    ready = _request(server.port, "/ready")
    assert (ready[0], _json(ready)) == (503, {"status": "not_ready", "failing": ["cache"]})


def test_failing_lists_server_state_first_then_modules(server: HealthCheckServer, monitor: ServerHealthMonitor) -> None:
    monitor.set_module_status("db", ModuleHealthStatus.NOT_READY)
    monitor.set_server_state("draining", accepting_traffic=False)
    assert _json(_request(server.port, "/ready"))["failing"] == ["server:draining", "db"]


@pytest.mark.parametrize("path", ["/live", "/ready", "/nowhere"])
def test_head_gets_same_status_and_headers_without_body(server: HealthCheckServer, path: str) -> None:
    get_status, get_headers, get_body = _request(server.port, path)
    head_status, head_headers, head_body = _request(server.port, path, method="HEAD")
    assert head_status == get_status
    assert head_body == b""
    for name in ("Content-Type", "Content-Length", "Cache-Control"):
        assert head_headers[name] == get_headers[name]
    assert int(head_headers["Content-Length"]) == len(get_body)


def test_query_string_is_ignored(server: HealthCheckServer, monitor: ServerHealthMonitor) -> None:
    assert _request(server.port, "/ready?verbose=1")[0] == 503
    monitor.set_server_state("ready", accepting_traffic=True)
    assert _request(server.port, "/ready?verbose=1")[0] == 200
    assert _request(server.port, "/live?x=1&y=2")[0] == 200


def test_answers_are_json_and_never_cached(server: HealthCheckServer) -> None:
    for path in ("/live", "/ready", "/nowhere"):
        _, headers, _ = _request(server.port, path)
        assert headers["Content-Type"] == "application/json"
        assert headers["Cache-Control"] == "no-store"


def test_unknown_path_gets_404_with_json_body(server: HealthCheckServer) -> None:
    reply = _request(server.port, "/healthz")
    assert (reply[0], _json(reply)) == (404, {"error": "not_found"})


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_other_methods_get_405_with_allow_header(server: HealthCheckServer, method: str) -> None:
    status, headers, body = _request(server.port, "/ready", method=method)
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"
    assert orjson.loads(body) == {"error": "method_not_allowed"}


def test_undefined_method_gets_501_with_json_body(server: HealthCheckServer) -> None:
    reply = _request(server.port, "/ready", method="BREW")
    assert (reply[0], _json(reply)) == (501, {"error": "not_implemented"})


def test_malformed_request_gets_400_with_json_body(server: HealthCheckServer) -> None:
    raw = _raw_request(server.port, b"GET /ready HTTP/9.x\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 400 ")
    assert orjson.loads(body) == {"error": "bad_request"}


def test_documented_status_codes_are_the_answered_ones(server: HealthCheckServer, monitor: ServerHealthMonitor) -> None:
    answered = {
        _request(server.port, "/ready")[0],
        _request(server.port, "/nowhere")[0],
        _request(server.port, "/ready", method="POST")[0],
        _request(server.port, "/ready", method="BREW")[0],
        _raw_status(server.port, b"GET / HTTP/9.x\r\n\r\n"),
        # exactly what the parser reads before it gives up, so no unread bytes turn the close into a reset
        _raw_status(server.port, b"GET /" + b"x" * (65_537 - 5)),
        _raw_status(server.port, b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 101),
    }
    monitor.set_server_state("ready", accepting_traffic=True)
    answered.add(_request(server.port, "/ready")[0])
    documented = {int(code) for code in re.findall(r"\b([2-5]\d\d)\b", http_server.__doc__ or "")}
    assert documented == answered == {200, 400, 404, 405, 414, 431, 501, 503}


def test_probes_answer_while_another_client_stalls(server: HealthCheckServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as stalled:
        stalled.sendall(b"GET /live HTTP/1.1\r\n")  # never finishes its headers
        assert _request(server.port, "/live")[0] == 200


def test_requests_are_not_logged_to_stderr(server: HealthCheckServer, capfd: pytest.CaptureFixture[str]) -> None:
    for path in ("/live", "/ready", "/nowhere"):
        _request(server.port, path)
    _request(server.port, "/ready", method="BREW")
    assert capfd.readouterr().err == ""


def test_port_zero_binds_a_free_port(server: HealthCheckServer) -> None:
    assert server.port > 0
    assert _request(server.port, "/live")[0] == 200


def test_stop_frees_the_port_and_joins_the_thread(monitor: ServerHealthMonitor) -> None:
    first = HealthCheckServer(monitor, "127.0.0.1", 0)
    first.start()
    port = first.port
    assert _request(port, "/live")[0] == 200
    first.stop()
    assert not any(t.name == "gfs-health-http" for t in threading.enumerate())
    with pytest.raises(ConnectionRefusedError):
        _request(port, "/live")
    second = HealthCheckServer(monitor, "127.0.0.1", port)
    second.start()
    try:
        assert _request(port, "/live")[0] == 200
    finally:
        second.stop()


def test_stop_is_idempotent_and_safe_before_start(monitor: ServerHealthMonitor) -> None:
    probes = HealthCheckServer(monitor, "127.0.0.1", 0)
    probes.stop()
    probes.start()
    probes.stop()
    probes.stop()
    assert not any(t.name == "gfs-health-http" for t in threading.enumerate())


def test_port_in_use_raises_server_start_error_naming_host_and_port(monitor: ServerHealthMonitor) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        probes = HealthCheckServer(monitor, "127.0.0.1", port)
        with pytest.raises(ServerStartError, match=rf"127\.0\.0\.1:{port}\b"):
            probes.start()
    assert not any(t.name == "gfs-health-http" for t in threading.enumerate())
