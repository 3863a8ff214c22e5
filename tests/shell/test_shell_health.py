"""Health probes served by a real FlightServer: readiness through start-up and draining, liveness by module."""

from __future__ import annotations

import contextlib
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any

import pyarrow.flight
import pytest

from gfs_runtime.errors.exceptions import ServerStartError
from gfs_runtime.health.monitor import ModuleHealthStatus
from gfs_runtime.server.context import ServerContext
from gfs_runtime.server.lifecycle import ServerState
from gfs_runtime.server.methods import FlightServerMethods
from tests.shell.support import ServerFactory, client_for, health_port, probe, run_action

pytestmark = pytest.mark.timeout(30)

WAIT_SEC = 10.0
HEALTH = {"health_check_host": "127.0.0.1", "health_check_port": 0}


class GatedMethods(FlightServerMethods):
    """DoAction "slow" blocks until `release` is set; every other action answers at once."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def do_action(self, context: pyarrow.flight.ServerCallContext, action: pyarrow.flight.Action) -> Iterator[bytes]:
        if action.type == "slow":
            self.entered.set()
            assert self.release.wait(WAIT_SEC)
        yield b"done"


def test_ready_is_503_while_the_methods_factory_runs_and_200_once_serving(make_server: ServerFactory) -> None:
    in_factory, release = threading.Event(), threading.Event()

    def factory(ctx: ServerContext) -> FlightServerMethods:
        in_factory.set()
        assert release.wait(WAIT_SEC)
        return GatedMethods()

    server = make_server(factory, start=False, **HEALTH)
    server.start(handle_signals=False)
    try:
        assert in_factory.wait(WAIT_SEC)
        starting = probe(health_port(server), "/ready")
        live_while_starting = probe(health_port(server), "/live")
    finally:
        release.set()
    assert server.wait_for_start(WAIT_SEC)
    serving = probe(health_port(server), "/ready")
    server.stop()
    assert server.wait_for_stop(WAIT_SEC)

    assert starting == (503, {"status": "not_ready", "failing": ["server:starting"]})
    assert live_while_starting == (200, {"status": "ok"})
    assert serving == (200, {"status": "ok"})


def test_ready_is_503_at_once_on_stop_while_a_slow_call_drains(make_server: ServerFactory) -> None:
    methods = GatedMethods()
    server = make_server(methods, **HEALTH)
    port = health_port(server)
    with client_for(server) as client:
        caller = threading.Thread(target=run_action, args=(client, "slow"))
        caller.start()
        try:
            assert methods.entered.wait(WAIT_SEC)
            server.stop()
            draining = probe(port, "/ready")
            live_while_draining = probe(port, "/live")
        finally:
            methods.release.set()
            caller.join(WAIT_SEC)
    assert server.wait_for_stop(WAIT_SEC)

    assert draining == (503, {"status": "not_ready", "failing": ["server:draining"]})
    assert live_while_draining == (200, {"status": "ok"})
    with pytest.raises(ConnectionRefusedError):
        probe(port, "/ready")


def test_live_is_503_while_a_module_is_not_ok_and_200_after_it_recovers(make_server: ServerFactory) -> None:
    server = make_server(GatedMethods(), **HEALTH)
    port = health_port(server)

    server.health.set_module_status("warehouse", ModuleHealthStatus.NOT_OK)
    broken = probe(port, "/live"), probe(port, "/ready")
    server.health.set_module_status("warehouse", ModuleHealthStatus.OK)
    recovered = probe(port, "/live"), probe(port, "/ready")

    assert broken == (
        (503, {"status": "not_live", "failing": ["warehouse"]}),
        (503, {"status": "not_ready", "failing": ["warehouse"]}),
    )
    assert recovered == ((200, {"status": "ok"}), (200, {"status": "ok"}))


def test_not_ready_module_fails_ready_only(make_server: ServerFactory) -> None:
    server = make_server(GatedMethods(), **HEALTH)
    port = health_port(server)

    server.health.set_module_status("upstream", ModuleHealthStatus.NOT_READY)

    assert probe(port, "/live") == (200, {"status": "ok"})
    assert probe(port, "/ready") == (503, {"status": "not_ready", "failing": ["upstream"]})
    assert probe(port, "/ready?verbose=1", "HEAD") == (503, None)


def _hammer(server: Any, stop: threading.Event, calls: list[int]) -> None:
    with client_for(server) as client:
        while not stop.is_set():
            run_action(client, "fast")
            calls.append(1)


@pytest.mark.timeout(60)
def test_probes_answer_while_eight_clients_saturate_the_flight_port(make_server: ServerFactory) -> None:
    server = make_server(GatedMethods(), **HEALTH)
    port = health_port(server)
    stop = threading.Event()
    calls: list[int] = []
    callers = [threading.Thread(target=_hammer, args=(server, stop, calls)) for _ in range(8)]
    for caller in callers:
        caller.start()
    latencies = []
    try:
        for _ in range(200):
            started = time.perf_counter()
            status, _ = probe(port, "/live")
            latencies.append(time.perf_counter() - started)
            assert status == 200
        ready = probe(port, "/ready")
    finally:
        stop.set()
        for caller in callers:
            caller.join(WAIT_SEC)

    p99 = statistics.quantiles(latencies, n=100)[98]
    print(f"/live under 8 saturating Flight clients: p99 {p99 * 1000:.1f} ms over {len(latencies)} probes")
    assert ready == (200, {"status": "ok"})
    assert len(calls) > 0
    assert p99 < 1.0


@contextlib.contextmanager
def _port_taken() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_health_port_in_use_fails_start_up_cleanly(make_server: ServerFactory) -> None:
    with _port_taken() as port:
        server = make_server(GatedMethods(), start=False, health_check_host="127.0.0.1", health_check_port=port)
        server.start(handle_signals=False)
        with pytest.raises(ServerStartError, match=f"health check server cannot listen on 127.0.0.1:{port}"):
            server.wait_for_start(WAIT_SEC)
    assert server.state is ServerState.FAILED


def test_without_health_check_host_there_is_no_health_port(make_server: ServerFactory) -> None:
    assert make_server(GatedMethods()).health_check_port is None
