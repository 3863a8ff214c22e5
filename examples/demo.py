"""Demo: start the seed example service, query it with a FlightClient, print the rows, stop it cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.flight

SERVICE = Path(__file__).with_name("seed_service.py")
START_TIMEOUT_SEC = 20.0
STOP_TIMEOUT_SEC = 20.0


def free_port() -> int:
    """Ask the kernel for a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(client: pyarrow.flight.FlightClient, process: subprocess.Popen[bytes]) -> None:
    """Poll the service until it answers a call, or fail when it exits or takes too long."""
    deadline = time.monotonic() + START_TIMEOUT_SEC
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"demo: the service exited early with code {process.returncode}")
        try:
            client.wait_for_available(timeout=0.5)
            return
        except pyarrow.flight.FlightError:
            continue
    raise SystemExit(f"demo: the service did not answer within {START_TIMEOUT_SEC:.0f} s")


def main() -> int:
    """Run the demo end to end and return the process exit code."""
    port = free_port()
    env = {**os.environ, "GFS_SERVER__LISTEN_PORT": str(port)}
    print(f"demo: starting {SERVICE.name} on grpc://127.0.0.1:{port}")
    process = subprocess.Popen([sys.executable, str(SERVICE)], env=env)
    try:
        with pyarrow.flight.connect(f"grpc://127.0.0.1:{port}") as client:
            wait_until_serving(client, process)
            table = client.do_get(pyarrow.flight.Ticket(b"any")).read_all()
        print("demo: DoGet returned")
        print(format_rows(table))
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=STOP_TIMEOUT_SEC)
    print(f"demo: service stopped on SIGTERM with exit code {code}")
    return 0 if code == 0 else 1


def format_rows(table: pyarrow.Table) -> str:
    """Render a small table as aligned text columns."""
    rows = [[str(v) for v in row.values()] for row in table.to_pylist()]
    header = table.column_names
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [header, *rows]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in lines)


if __name__ == "__main__":
    sys.exit(main())
