"""Client-side measurements: small calls in caller processes, big DoGet and DoPut throughput."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import dataset
import pyarrow
import pyarrow.flight

_MAX_CALLS_PER_WINDOW = 10_000_000
_SMALL_CALL_TIMEOUT_SEC = 10.0
_BULK_TIMEOUT_SEC = 120.0


def one_line(error: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:200]


def call_options(token: str | None, timeout_sec: float) -> pyarrow.flight.FlightCallOptions:
    """Call options with a deadline and, when token is given, the bearer header."""
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    # pyarrow wants bytes here; pyarrow-stubs declare str
    return pyarrow.flight.FlightCallOptions(timeout=timeout_sec, headers=headers)  # type: ignore[arg-type]


def small_call(client: pyarrow.flight.FlightClient, command: bytes, options: pyarrow.flight.FlightCallOptions) -> None:
    """One small call: GetFlightInfo for command, then DoGet of the ticket it returns."""
    info = client.get_flight_info(pyarrow.flight.FlightDescriptor.for_command(command), options)
    table = client.do_get(info.endpoints[0].ticket, options).read_all()
    if table.num_rows != 10:
        raise ValueError(f"expected 10 rows, got {table.num_rows}")


@dataclass(frozen=True)
class SmallCallsJob:
    """One caller's share of a small-call measurement; times are time.monotonic() values."""

    port: int
    token: str | None
    command: bytes
    start_at: float
    window_sec: float


def count_small_calls(job: SmallCallsJob) -> tuple[int, int, str | None]:
    """Makes small calls from start_at for window_sec; returns (caller pid, calls completed, error).

    Runs in a spawned caller process. CLOCK_MONOTONIC is system-wide on Linux, so all
    callers share one window. One warm-up call before the window opens the connection.
    """
    options = call_options(job.token, _SMALL_CALL_TIMEOUT_SEC)
    calls = 0
    try:
        with pyarrow.flight.FlightClient(f"grpc+tcp://127.0.0.1:{job.port}") as client:
            small_call(client, job.command, options)
            time.sleep(max(0.0, job.start_at - time.monotonic()))
            end = job.start_at + job.window_sec
            while calls < _MAX_CALLS_PER_WINDOW:
                small_call(client, job.command, options)
                if time.monotonic() > end:
                    break
                calls += 1
    except Exception as e:  # reported per server, the benchmark goes on
        return os.getpid(), calls, one_line(e)
    return os.getpid(), calls, None


def warm_up(index: int) -> int:
    """Does nothing; run once per caller process so imports happen before any window."""
    return index


def doget_gbps(port: int, token: str | None) -> float:
    """Streams the big table with DoGet, discarding batches; returns GB/s (1e9 bytes)."""
    options = call_options(token, _BULK_TIMEOUT_SEC)
    seen = 0
    with pyarrow.flight.FlightClient(f"grpc+tcp://127.0.0.1:{port}") as client:
        started = time.perf_counter()
        reader = client.do_get(pyarrow.flight.Ticket(dataset.BIG_CMD), options)
        while True:
            try:
                chunk = reader.read_chunk()
            except StopIteration:
                break
            if chunk.data is not None:
                seen += chunk.data.nbytes
        elapsed = time.perf_counter() - started
    if seen == 0:
        raise ValueError("DoGet returned no data")
    return seen / elapsed / 1e9


def doput_gbps(port: int, token: str | None, table: pyarrow.Table) -> float:
    """Uploads table with DoPut and waits for the server to finish; returns GB/s (1e9 bytes)."""
    options = call_options(token, _BULK_TIMEOUT_SEC)
    descriptor = pyarrow.flight.FlightDescriptor.for_command(dataset.PUT_CMD)
    with pyarrow.flight.FlightClient(f"grpc+tcp://127.0.0.1:{port}") as client:
        started = time.perf_counter()
        writer, _ = client.do_put(descriptor, table.schema, options)
        writer.write_table(table)
        writer.close()
        elapsed = time.perf_counter() - started
    return table.nbytes / elapsed / 1e9
