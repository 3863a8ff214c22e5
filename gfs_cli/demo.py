"""The end-to-end demo (`python -m gfs_cli.demo`): `gfs new`, install, `gfs run`, query with a FlightClient, stop."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Final

import pyarrow
import pyarrow.flight

from gfs_cli.scratch_venv import create_layered_venv, install_editable

SERVICE_NAME: Final = "demo-service"
READY_TIMEOUT_SEC: Final = 30.0
STOP_TIMEOUT_SEC: Final = 30.0
_POLL_SEC: Final = 0.02


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_ports_env(flight_port: int, health_port: int, metrics_port: int) -> dict[str, str]:
    """Env vars moving a generated service's three ports (env wins over its config files)."""
    return {
        "GFS_SERVER__LISTEN_PORT": str(flight_port),
        "GFS_SERVER__HEALTH_CHECK_PORT": str(health_port),
        "GFS_SERVER__METRICS_PORT": str(metrics_port),
    }


def wait_until_ready(health_port: int, process: subprocess.Popen[bytes], timeout: float = READY_TIMEOUT_SEC) -> float:
    """Poll `/ready` until it answers 200; return the seconds it took. Fails when the process exits first."""
    started = time.monotonic()
    url = f"http://127.0.0.1:{health_port}/ready"
    while (elapsed := time.monotonic() - started) < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:  # a fixed http:// URL
                if response.status == 200:
                    return elapsed
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        try:
            code = process.wait(_POLL_SEC)  # doubles as the pause between polls
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(f"the service exited with code {code} before it was ready")
    raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f} s")


def format_table(table: pyarrow.Table) -> str:
    """A small table as aligned text: a header line, a rule, then one line per row."""
    header = [str(name) for name in table.column_names]
    rows = [[str(value) for value in row.values()] for row in table.to_pylist()]
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [header, ["-" * width for width in widths], *rows]
    aligned = ("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines)
    return "\n".join(line.rstrip() for line in aligned)


def query_service(flight_port: int) -> None:
    """List the flights, get one flight's info, fetch its rows and print them."""
    with pyarrow.flight.connect(f"grpc://127.0.0.1:{flight_port}") as client:
        listed = [f"{_dataset_name(info)} ({info.total_records} rows)" for info in client.list_flights()]
        print(f"demo: ListFlights -> {', '.join(listed)}")
        info = client.get_flight_info(pyarrow.flight.FlightDescriptor.for_path("cities"))
        ticket = info.endpoints[0].ticket
        print(f"demo: GetFlightInfo(cities) -> {len(info.endpoints)} endpoint, ticket {ticket.ticket.decode()}")
        table = client.do_get(ticket).read_all()
    print(f"demo: DoGet -> {table.num_rows} rows")
    print(format_table(table))


def _dataset_name(info: pyarrow.flight.FlightInfo) -> str:
    path = info.descriptor.path or []
    return path[0].decode() if path else "?"


def run_demo(scratch: Path) -> int:
    """Every demo step inside `scratch`; returns the service's exit code after SIGTERM."""
    started = time.monotonic()
    _run_step([sys.executable, "-m", "gfs_cli", "new", SERVICE_NAME, "--output-dir", str(scratch), "--no-input"])
    print(f"demo: gfs new {SERVICE_NAME} took {time.monotonic() - started:.2f} s")
    repo = scratch / SERVICE_NAME
    started = time.monotonic()
    python = create_layered_venv(scratch / "venv")
    install_editable(python, repo)
    print(f"demo: installed {SERVICE_NAME} (editable) into a scratch venv in {time.monotonic() - started:.2f} s")
    ports = (free_port(), free_port(), free_port())
    env = {**_clean_env(os.environ), **service_ports_env(*ports)}
    with (scratch / "service.log").open("wb") as log:
        return _serve_and_query(python, repo, env, ports, log)


def _serve_and_query(python: Path, repo: Path, env: dict[str, str], ports: tuple[int, int, int], log: IO[bytes]) -> int:
    flight_port, health_port, _ = ports
    print(f"demo: gfs run (Flight on grpc://127.0.0.1:{flight_port}, probes on http://127.0.0.1:{health_port})")
    process = subprocess.Popen([str(python), "-m", "gfs_cli", "run"], cwd=repo, env=env, stderr=log)  # noqa: S603
    try:
        print(f"demo: /ready answered 200 after {wait_until_ready(health_port, process):.2f} s")
        query_service(flight_port)
        process.send_signal(signal.SIGTERM)
        code = process.wait(STOP_TIMEOUT_SEC)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    print(f"demo: SIGTERM -> the service exited with code {code}")
    return code


def main() -> int:
    """Run the demo in a scratch directory that is removed afterwards; exit 0 when every step worked."""
    scratch = Path(tempfile.mkdtemp(prefix="gfs-demo-"))
    try:
        code = run_demo(scratch)
    except Exception as exc:
        print(f"demo: failed: {exc}", file=sys.stderr)
        log = scratch / "service.log"
        if log.is_file():
            sys.stderr.write(log.read_text(errors="replace")[-4000:])
        return 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0 if code == 0 else 1


def _run_step(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed ({result.returncode}): {result.stderr.strip()}")


def _clean_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment without GFS_/GOODDATA_FLIGHT_ settings, so the demo runs as generated."""
    return {key: value for key, value in environ.items() if not key.startswith(("GFS_", "GOODDATA_FLIGHT_"))}


if __name__ == "__main__":
    sys.exit(main())
