"""A real Prometheus server scrapes the metrics endpoint and answers queries over what it scraped."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.flight
import pytest

from gfs_runtime.telemetry.metrics_server import MetricsServer
from tests.telemetry.conftest import ActionService, run_action

PROMETHEUS = shutil.which("prometheus")
_DEADLINE_SEC = 30.0
_POLL_SEC = 0.2  # Prometheus is another process: asking its HTTP API again is the only way to wait on it

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(90),
    pytest.mark.skipif(
        PROMETHEUS is None, reason="the prometheus binary is not installed (apt-get install prometheus)"
    ),
]


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _write_config(directory: Path, metrics_port: int) -> Path:
    config = directory / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  scrape_timeout: 1s\n"
        "  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: gfs\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{metrics_port}']\n"
    )
    return config


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b""


def _poll(check: Callable[[], Any], process: subprocess.Popen[bytes], log: Path, what: str) -> Any:
    """Ask `check` until it returns something truthy, failing when Prometheus dies or the deadline passes."""
    deadline = time.monotonic() + _DEADLINE_SEC
    while True:
        found = check()
        if found:
            return found
        if process.poll() is not None:
            pytest.fail(f"prometheus exited with {process.returncode} waiting for {what}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {_DEADLINE_SEC} s; prometheus log:\n{log.read_text()[-3000:]}")
        time.sleep(_POLL_SEC)


def _listening_addresses(pid: int) -> set[str]:
    """Hex local addresses of the TCP sockets process `pid` listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    addresses = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        for line in path.read_text().splitlines()[1:] if path.exists() else []:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                addresses.add(fields[1].rsplit(":", 1)[0])
    return addresses


@pytest.fixture
def prometheus(served: MetricsServer, tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes], Path]]:
    """A Prometheus scraping `served` every second, listening on loopback only; terminated afterwards."""
    assert PROMETHEUS is not None
    web_port = _free_loopback_port()
    log = tmp_path / "prometheus.log"
    args = [
        PROMETHEUS,
        f"--config.file={_write_config(tmp_path, served.port)}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{web_port}",
    ]
    with log.open("wb") as log_file:
        process = subprocess.Popen(args, cwd=tmp_path, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        yield web_port, process, log
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _series(port: int, query: str) -> dict[tuple[str, str], str]:
    """Instant query result as {(method, outcome): value}; empty until Prometheus has the data."""
    status, body = _get(port, f"/api/v1/query?{urllib.parse.urlencode({'query': query})}")
    if status != 200:
        return {}
    result = json.loads(body)["data"]["result"]
    return {(r["metric"].get("method", ""), r["metric"].get("outcome", "")): r["value"][1] for r in result}


def test_prometheus_scrapes_rpc_counts_from_the_endpoint(
    flight: tuple[ActionService, pyarrow.flight.FlightClient],
    prometheus: tuple[int, subprocess.Popen[bytes], Path],
) -> None:
    _, client = flight
    web_port, process, log = prometheus
    for name in ("ok", "ok", "ok", "bad"):
        run_action(client, name)

    _poll(lambda: _get(web_port, "/-/ready")[0] == 200, process, log, "readiness")
    expected = {("do_action", "ok"): "3", ("do_action", "client_error"): "1"}

    def scraped_calls() -> dict[tuple[str, str], str] | None:
        found = _series(web_port, "gfs_rpc_calls_total")
        return found if expected.items() <= found.items() else None

    series = _poll(scraped_calls, process, log, "gfs_rpc_calls_total series")
    listening = _listening_addresses(process.pid)

    assert series == expected
    assert _series(web_port, 'up{job="gfs"}') == {("", ""): "1"}
    assert listening == {"0100007F"}  # 127.0.0.1, nothing else
