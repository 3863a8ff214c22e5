"""A real Prometheus scrapes a real gfs FlightServer's metrics endpoint; the series are read from its HTTP API."""

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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.flight
import pytest

from tests.shell.service import ShellService, fetch
from tests.shell.support import ServerFactory, client_for, run_action

PROMETHEUS = shutil.which("prometheus")
DEADLINE_SEC = 30.0
POLL_SEC = 0.2  # Prometheus is another process: asking its HTTP API again is the only way to wait on it

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(90),
    pytest.mark.skipif(
        PROMETHEUS is None, reason="the prometheus binary is not installed (apt-get install prometheus)"
    ),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Any]:
    """Start a Prometheus scraping 127.0.0.1:<port> every second; returns its web port. Terminated after."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(metrics_port: int) -> tuple[int, subprocess.Popen[bytes]]:
        assert PROMETHEUS is not None
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - {{job_name: gfs, static_configs: [{{targets: ['127.0.0.1:{metrics_port}']}}]}}\n"
        )
        web_port = _free_port()
        args = [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{web_port}",
        ]
        with (tmp_path / "prometheus.log").open("wb") as log:
            process = subprocess.Popen(args, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
        processes.append(process)
        return web_port, process

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _query(web_port: int, query: str) -> dict[frozenset[tuple[str, str]], str]:
    url = f"http://127.0.0.1:{web_port}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            result = json.loads(response.read())["data"]["result"]
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return {}
    return {
        frozenset((k, v) for k, v in r["metric"].items() if k not in ("instance", "job")): r["value"][1] for r in result
    }


def _listening_addresses(pid: int) -> set[str]:
    """Hex local addresses of the TCP sockets process `pid` listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # Prometheus closed that descriptor since the listing: not a listening socket
            continue
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


def _labels(**labels: str) -> frozenset[tuple[str, str]]:
    return frozenset({"__name__": labels.pop("name"), **labels}.items())


def test_prometheus_scrapes_calls_auth_failures_and_tasks_from_a_gfs_server(
    make_server: ServerFactory, strategy_module: str, prometheus_for: Any
) -> None:
    server = make_server(
        ShellService,
        metrics_host="127.0.0.1",
        metrics_port=0,
        authentication_method="token",
        token_verification=strategy_module,
    )
    good = pyarrow.flight.FlightCallOptions(headers=[(b"authorization", b"Bearer alice-token")], timeout=10)
    with client_for(server) as client:
        run_action(client, "ok", good)
        run_action(client, "ok", good)
        fetch(client, options=good)
        with pytest.raises(pyarrow.flight.FlightUnauthenticatedError):
            run_action(client, "ok")
    assert server.metrics_port is not None
    web_port, process = prometheus_for(server.metrics_port)
    query = 'gfs_rpc_calls_total or gfs_auth_failures_total or gfs_task_finished_total or up{job="gfs"}'
    expected = {
        _labels(name="gfs_rpc_calls_total", method="do_action", outcome="ok"): "2",
        _labels(name="gfs_rpc_calls_total", method="do_action", outcome="unauthenticated"): "1",
        _labels(name="gfs_rpc_calls_total", method="get_flight_info", outcome="ok"): "1",
        _labels(name="gfs_rpc_calls_total", method="do_get", outcome="ok"): "1",
        _labels(name="gfs_auth_failures_total", reason="missing_token"): "1",
        _labels(name="gfs_task_finished_total", outcome="ok"): "1",
        _labels(name="up"): "1",
    }

    deadline = time.monotonic() + DEADLINE_SEC
    found = _query(web_port, query)
    while not expected.items() <= found.items():
        assert process.poll() is None, f"prometheus exited with {process.returncode}"
        assert time.monotonic() < deadline, f"Prometheus did not scrape the series; it has {found}"
        time.sleep(POLL_SEC)
        found = _query(web_port, query)
    assert _listening_addresses(process.pid) == {"0100007F"}  # Prometheus listens on 127.0.0.1 only
