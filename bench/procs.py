"""Starts benchmark servers as processes on 127.0.0.1, waits for their first good call, ends them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import dataset
import pyarrow.flight
import workloads

BENCH_DIR = Path(__file__).resolve().parent
_READY_TIMEOUT_SEC = 60.0
_POLL_INTERVAL_SEC = 0.005
_TERM_GRACE_SEC = 10.0
_FOREIGN_ENV_PREFIXES = ("GFS_", "GOODDATA_FLIGHT_", "BENCH_")
# Answers that will not change by waiting; anything else that is not a FlightError is a bug.
_PERMANENT_ERRORS = (pyarrow.flight.FlightUnauthenticatedError, pyarrow.flight.FlightUnauthorizedError)


class BenchServerError(Exception):
    """A server process could not be started or did not answer; the message is one line."""


@dataclass(frozen=True)
class ServerKind:
    """How to run one of the compared servers: bare, floor, gfs or ref."""

    name: str
    python: Path
    library: str | None  # None for the bare server
    port_env: str | None
    with_metrics: bool = False  # serve Prometheus metrics on a free loopback port (gfs and ref only)
    floor: bool = False  # the bare server with one pass-through Python middleware (see bare_server.py)


@dataclass(frozen=True)
class RunningServer:
    """A started server that answered its first call."""

    kind: ServerKind
    port: int
    token: str | None
    process: subprocess.Popen[bytes]
    ready_sec: float
    rss_mib: float


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _write_config(path: Path, token: str | None, with_metrics: bool) -> None:
    """The service's config toml: loopback only, token auth when a token is given, metrics when asked."""
    lines = ["[server]", 'listen_host = "127.0.0.1"', 'advertise_host = "127.0.0.1"']
    if with_metrics:
        lines += ['metrics_host = "127.0.0.1"', f"metrics_port = {free_port()}"]
    if token is not None:
        lines += ['authentication_method = "token"', "", "[enumerated_tokens]", f'tokens = ["{token}"]']
    path.write_text("\n".join(lines) + "\n")


def _command(kind: ServerKind, port: int, token: str | None, workdir: Path) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that start kind on port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_ENV_PREFIXES)}
    if kind.library is None:
        extra = ([token] if token else []) + (["--floor"] if kind.floor else [])
        return [str(kind.python), str(BENCH_DIR / "bare_server.py"), str(port), *extra], env
    config = workdir / f"{kind.name}-{'token' if token else 'open'}.toml"
    _write_config(config, token, kind.with_metrics)
    env[dataset.LIBRARY_ENV] = kind.library
    if kind.port_env is not None:
        env[kind.port_env] = str(port)
    return [str(kind.python), str(BENCH_DIR / "service.py"), str(config)], env


def last_log_line(log: Path) -> str:
    """The last non-empty line a server wrote, which names why it failed."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1][:200] if lines else "no output"


def _port_open(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_first_call(process: subprocess.Popen[bytes], port: int, token: str | None, log: Path) -> None:
    """Polls until one small call succeeds; raises BenchServerError on exit or time-out.

    The TCP port is probed with a raw socket first: a Flight client that fails to connect
    enters gRPC's reconnect back-off, which would inflate the measured start time.
    """
    deadline = time.monotonic() + _READY_TIMEOUT_SEC
    problem = "did not listen"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchServerError(f"exited with code {process.returncode}: {last_log_line(log)}")
        if _port_open(port):
            try:
                with pyarrow.flight.FlightClient(f"grpc+tcp://127.0.0.1:{port}") as client:
                    workloads.small_call(client, dataset.SMALL_CMD, workloads.call_options(token, 5.0))
                return
            except _PERMANENT_ERRORS as e:
                raise BenchServerError(f"first call failed: {workloads.one_line(e)}") from e
            except pyarrow.flight.FlightError as e:  # unavailable or not ready yet: retry
                problem = workloads.one_line(e)
        time.sleep(_POLL_INTERVAL_SEC)
    raise BenchServerError(f"no successful call within {_READY_TIMEOUT_SEC:.0f}s: {problem}")


def rss_mib(pid: int) -> float:
    """The process's resident set size in MiB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchServerError("no VmRSS in /proc status")


def start_server(kind: ServerKind, workdir: Path, token: str | None, big_bytes: int) -> RunningServer:
    """Starts kind, waits for its first successful call and measures start time and RSS."""
    port = free_port()
    argv, env = _command(kind, port, token, workdir)
    env[dataset.BIG_BYTES_ENV] = str(big_bytes)
    log = workdir / f"{kind.name}-{port}.log"
    with log.open("wb") as out:
        started = time.monotonic()
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=BENCH_DIR.parent)
    try:
        _wait_first_call(process, port, token, log)
        ready_sec = time.monotonic() - started
        return RunningServer(kind, port, token, process, ready_sec, rss_mib(process.pid))
    except BaseException:
        stop_process(process)
        raise


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it is still there after a bound; always reaps it."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=_TERM_GRACE_SEC)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=_TERM_GRACE_SEC)
