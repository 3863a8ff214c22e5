"""`gfs start` in a real process: a second signal aborts a drain stuck on a call and exits 1."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.flight
import pytest

WAIT_SEC = 20.0

SERVICE = textwrap.dedent(
    """
    import time
    from pathlib import Path

    import pyarrow
    import pyarrow.flight

    import gfs_runtime as gf


    class Methods(gf.FlightServerMethods):
        def do_get(self, context, ticket):
            if ticket.ticket == b"stuck":
                Path(__file__).with_name("entered").touch()
                time.sleep(60)
            return pyarrow.flight.RecordBatchStream(pyarrow.table({"n": [1]}))


    @gf.flight_server_methods
    def factory(ctx: gf.ServerContext) -> gf.FlightServerMethods:
        return Methods()
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    (tmp_path / "stuck_service.py").write_text(SERVICE)
    port = _free_port()
    env = {**os.environ, "GFS_SERVER__LISTEN_PORT": str(port), "PYTHONPATH": str(tmp_path)}
    command = [sys.executable, "-m", "gfs_cli", "start", "--methods-provider", "stuck_service"]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process, port, tmp_path
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(WAIT_SEC)


def _wait_until_serving(client: pyarrow.flight.FlightClient, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT_SEC
    while time.monotonic() < deadline:
        assert process.poll() is None, "the service exited before serving"
        try:
            client.do_get(pyarrow.flight.Ticket(b"fast")).read_all()
            return
        except pyarrow.flight.FlightUnavailableError:
            time.sleep(0.05)  # polling a process we do not control; no event to wait on
    raise AssertionError("the service did not serve in time")


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_second_sigterm_during_a_stuck_call_aborts_with_exit_1(
    service: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    process, port, directory = service
    with pyarrow.flight.connect(f"grpc://127.0.0.1:{port}") as client:
        _wait_until_serving(client, process)
        stuck = threading.Thread(target=lambda: _ignore_errors(client), daemon=True)
        stuck.start()
        deadline = time.monotonic() + WAIT_SEC
        while not (directory / "entered").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(0.5)  # draining the stuck call
        process.send_signal(signal.SIGTERM)
        assert process.wait(WAIT_SEC) == 1


def _ignore_errors(client: pyarrow.flight.FlightClient) -> None:
    with contextlib.suppress(pyarrow.ArrowException):
        client.do_get(pyarrow.flight.Ticket(b"stuck")).read_all()
