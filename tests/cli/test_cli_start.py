"""`gfs start` in a real process: serves the provider's methods, stops with exit 0 on SIGTERM or SIGINT."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow
import pyarrow.flight
import pytest

pytestmark = [pytest.mark.timeout(60), pytest.mark.slow]

START_TIMEOUT_SEC = 20.0
STOP_TIMEOUT_SEC = 20.0
PROVIDER = """
import pyarrow, pyarrow.flight
from gfs_runtime.server.discovery import flight_server_methods
from gfs_runtime.server.methods import FlightServerMethods


class Methods(FlightServerMethods):
    def do_get(self, context, ticket):
        return pyarrow.flight.RecordBatchStream(pyarrow.table({"col1": [1, 2, 3]}))


@flight_server_methods
def factory(ctx):
    return Methods()
"""


def log_events(process: subprocess.Popen[str]) -> Iterator[dict[str, object]]:
    """JSON log lines from the server's stderr, until START_TIMEOUT_SEC passes."""
    assert process.stderr is not None
    deadline = time.monotonic() + START_TIMEOUT_SEC
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([process.stderr], [], [], left)
        line = process.stderr.readline() if ready else ""
        if not line:
            return
        if line.startswith("{"):
            yield json.loads(line)


def started_location(process: subprocess.Popen[str]) -> str:
    for event in log_events(process):
        if event.get("event") == "server_started":
            return str(event["location"])
    raise AssertionError(f"the server did not start; exit code {process.poll()}")


@pytest.fixture
def provider_dir(tmp_path: Path) -> Path:
    (tmp_path / "tiny_provider.py").write_text(PROVIDER)
    (tmp_path / "a.toml").write_text("[server]\nlisten_port = 0\n")
    (tmp_path / "b.toml").write_text("[server]\ntask_threads = 2\n")
    return tmp_path


@pytest.fixture
def gfs_start(provider_dir: Path) -> Iterator[subprocess.Popen[str]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GFS_", "GOODDATA_FLIGHT_"))}
    command = [sys.executable, "-m", "gfs_cli", "start", "--methods-provider", "tiny_provider"]
    process = subprocess.Popen(
        [*command, "--config", "a.toml", "b.toml"], cwd=provider_dir, env=env, stderr=subprocess.PIPE, text=True
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait(STOP_TIMEOUT_SEC)
    assert process.stderr is not None
    process.stderr.close()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_start_serves_the_provider_and_exits_0_on_signal(
    gfs_start: subprocess.Popen[str], stop_signal: signal.Signals
) -> None:
    location = started_location(gfs_start)
    with pyarrow.flight.connect(location) as client:
        table = client.do_get(pyarrow.flight.Ticket(b"any")).read_all()

    gfs_start.send_signal(stop_signal)

    assert gfs_start.wait(STOP_TIMEOUT_SEC) == 0
    assert table.column("col1").to_pylist() == [1, 2, 3]


def test_start_with_the_port_in_use_exits_1_with_one_line(provider_dir: Path) -> None:
    with pyarrow.flight.FlightServerBase("grpc://127.0.0.1:0") as blocker:
        (provider_dir / "a.toml").write_text(f"[server]\nlisten_port = {blocker.port}\n")
        result = subprocess.run(
            [sys.executable, "-m", "gfs_cli", "start", "--methods-provider", "tiny_provider", "--config", "a.toml"],
            cwd=provider_dir,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_SEC,
            check=False,
        )

    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("gfs: error: ")
    assert str(blocker.port) in last_line
    # the server's own JSON log may carry the traceback; the CLI prints none of its own
    assert not any(line.startswith("Traceback") for line in result.stderr.splitlines())
