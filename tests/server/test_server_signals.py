"""SIGINT/SIGTERM: the first drains and stops gracefully, the second aborts; previous handlers come back."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pyarrow
import pyarrow.flight
import pytest

from gfs_runtime.config import read_config
from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.server.lifecycle import ServerState
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.server.process_exit import FORCED_EXIT_STATUS
from gfs_runtime.server.server import FlightServer
from gfs_runtime.testing import error_info_of

SERVICE = Path(__file__).with_name("signal_service.py")
WAIT_SEC = 20.0


class ServiceProcess:
    """signal_service.py in a subprocess, with its stderr log events collected by a reader thread."""

    def __init__(self, shutdown_timeout_sec: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVICE), str(shutdown_timeout_sec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read_events, daemon=True)
        self._reader.start()
        assert self.process.stdout is not None
        self.location = self.process.stdout.readline().decode().strip()
        if not self.location.startswith("grpc://"):
            self.close()
            raise AssertionError("the service did not start")

    def _read_events(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            try:
                self._events.put(json.loads(line))
            except ValueError:
                self._events.put({"event": "<not json>", "line": line.decode(errors="replace")})

    def wait_for_event(self, name: str) -> dict[str, Any]:
        """The next log event called `name`; fails after WAIT_SEC."""
        deadline = time.monotonic() + WAIT_SEC
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self._events.get(timeout=left)
            except queue.Empty:
                break
            if event.get("event") == name:
                return event
        raise AssertionError(f"the service never logged {name}")

    def release_stream(self) -> None:
        """Let the DoGet send its second batch."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"g")
        self.process.stdin.flush()

    def close(self) -> None:
        self.process.kill()
        self.process.communicate(timeout=WAIT_SEC)
        self._reader.join(WAIT_SEC)


@pytest.fixture
def service_factory() -> Iterator[type[ServiceProcess]]:
    started: list[ServiceProcess] = []

    class Tracked(ServiceProcess):
        def __init__(self, shutdown_timeout_sec: float) -> None:
            super().__init__(shutdown_timeout_sec)
            started.append(self)

    yield Tracked
    for service in started:
        service.close()


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_sigterm_drains_the_stream_in_flight_refuses_new_calls_and_exits_zero(
    service_factory: type[ServiceProcess],
) -> None:
    service = service_factory(30)
    with pyarrow.flight.connect(service.location) as client, pyarrow.flight.connect(service.location) as other:
        reader = client.do_get(pyarrow.flight.Ticket(b"t"))
        first = reader.read_chunk().data
        service.process.send_signal(signal.SIGTERM)
        service.wait_for_event("server_draining")
        with pytest.raises(pyarrow.flight.FlightUnavailableError) as caught:
            other.list_actions()
        assert error_info_of(caught.value).code == ErrorCode.SHUTTING_DOWN
        service.release_stream()
        rest = reader.read_all()
    assert first.column(0).to_pylist() + rest.column(0).to_pylist() == [1, 2]
    assert service.process.wait(WAIT_SEC) == 0
    assert service.wait_for_event("server_stopped")["aborted"] is False


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_second_signal_aborts_at_once_even_with_a_stuck_call(service_factory: type[ServiceProcess]) -> None:
    # the drain would last 600 s; the stuck DoGet never ends, so the process is ended without teardown
    service = service_factory(600)
    with pyarrow.flight.connect(service.location) as client:
        reader = client.do_get(pyarrow.flight.Ticket(b"t"))
        reader.read_chunk()
        service.process.send_signal(signal.SIGTERM)
        service.wait_for_event("server_draining")
        service.process.send_signal(signal.SIGINT)
        assert service.process.wait(WAIT_SEC) == FORCED_EXIT_STATUS
    assert service.wait_for_event("server_stopped")["aborted"] is True
    assert service.wait_for_event("server_exit_forced")["in_flight"] == 1


class PingMethods(FlightServerMethods):
    """Answers ListActions."""

    def list_actions(self, context: pyarrow.flight.ServerCallContext) -> list[tuple[str, str]]:
        return [("ping", "answers")]


def _server() -> FlightServer:
    settings = {"listen_port": 0, "task_threads": 1, "task_close_threads": 1, "shutdown_timeout_sec": 5}
    return FlightServer(*read_config(overrides={"server": settings}), PingMethods())


def _custom_handler(signum: int, frame: FrameType | None) -> None:
    return


def test_previous_signal_handlers_are_restored_after_stop() -> None:
    previous_term = signal.signal(signal.SIGTERM, _custom_handler)
    previous_int = signal.getsignal(signal.SIGINT)
    server = _server()
    try:
        server.start()
        assert server.wait_for_start(WAIT_SEC)
        assert signal.getsignal(signal.SIGTERM) is not _custom_handler
        server.stop()
        assert server.wait_for_stop(WAIT_SEC)
        assert signal.getsignal(signal.SIGTERM) is _custom_handler
        assert signal.getsignal(signal.SIGINT) is previous_int
    finally:
        server.abort()
        signal.signal(signal.SIGTERM, previous_term)


def test_signal_in_process_stops_the_server_gracefully() -> None:
    previous_term = signal.signal(signal.SIGTERM, _custom_handler)
    server = _server()
    try:
        server.start()
        assert server.wait_for_start(WAIT_SEC)
        assert signal.getsignal(signal.SIGTERM) is not _custom_handler
        signal.raise_signal(signal.SIGTERM)
        assert server.wait_for_stop(WAIT_SEC)
        assert server.state is ServerState.STOPPED
    finally:
        server.abort()
        signal.signal(signal.SIGTERM, previous_term)
