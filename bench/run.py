"""`make bench`: bare pyarrow.flight vs gfs vs the reference, each server in its own process, one table.

Usage: python bench/run.py [--quick] [--only a,b,c,d,e] [--servers bare,floor,gfs,ref] [--json PATH]
"""

from __future__ import annotations

import compileall
import contextlib
import functools
import multiprocessing
import multiprocessing.pool
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import dataset
import plan as planning
import procs
import pyarrow
import refenv
import report
import workloads
from plan import Plan
from procs import RunningServer, ServerKind
from report import Metric

_LEAD_SEC = 0.3  # time for caller processes to connect before a window opens
_POOL_SLACK_SEC = 60.0

Servers = dict[str, RunningServer | str]  # a running server, or why it is not running
_S = TypeVar("_S")


def progress(message: str) -> None:
    """One progress line on stderr, so stdout holds only the report."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def server_kinds(names: tuple[str, ...], repo_root: Path, *, with_metrics: bool = False) -> dict[str, ServerKind]:
    """How to run each requested server; ref is dropped with a clear line if it cannot be installed."""
    kinds: dict[str, ServerKind] = {}
    for name in names:
        if name == "bare":
            kinds[name] = ServerKind(name, Path(sys.executable), None, None)
        elif name == "floor":
            kinds[name] = ServerKind(name, Path(sys.executable), None, None, floor=True)
        elif name == "gfs":
            kinds[name] = ServerKind(name, Path(sys.executable), "gfs_runtime", "GFS_SERVER__LISTEN_PORT", with_metrics)
        else:
            env = refenv.ensure_reference_env(repo_root)
            if env.python is None:
                print(f"ref: skipped: {env.problem}")
                continue
            kinds[name] = ServerKind(
                name, env.python, "gooddata_flight_server", "GOODDATA_FLIGHT_SERVER__LISTEN_PORT", with_metrics
            )
    return kinds


@contextlib.contextmanager
def running_servers(
    kinds: dict[str, ServerKind], workdir: Path, token: str | None, big_bytes: int
) -> Iterator[Servers]:
    """Starts every kind (recording failures instead of raising) and always stops them."""
    servers: Servers = {}
    try:
        for name, kind in kinds.items():
            try:
                server = procs.start_server(kind, workdir, token, big_bytes)
            except procs.BenchServerError as e:
                servers[name] = f"failed to start: {e}"
                progress(f"{name} {servers[name]}")
                continue
            servers[name] = server
            progress(f"{name} ready on port {server.port} after {server.ready_sec:.2f} s")
        yield servers
    finally:
        for started in servers.values():
            if isinstance(started, RunningServer):
                procs.stop_process(started.process)


def measure_rounds(
    metric: Metric,
    servers: Servers,
    rounds: int,
    measure: Callable[[RunningServer], float],
    warm_up: bool = False,
) -> None:
    """Measures every server once per round, interleaved A B C A B C; failures are recorded.

    With warm_up, each server is measured once first and that value dropped: the first
    bulk transfer pays for page faults in both processes, which would favour later servers.
    """
    progress(f"measuring {metric.label}")
    for server in servers.values():
        if warm_up and isinstance(server, RunningServer):
            with contextlib.suppress(Exception):  # the measured rounds record any failure
                measure(server)
    for round_no in range(rounds):
        for name, server in servers.items():
            if isinstance(server, str):
                metric.fail(name, round_no, server)
                continue
            try:
                metric.record(name, round_no, measure(server))
            except Exception as e:  # one failing server must not stop the benchmark
                metric.fail(name, round_no, workloads.one_line(e))


@contextlib.contextmanager
def caller_pool() -> Iterator[multiprocessing.pool.Pool]:
    """Spawned caller processes, one per concurrent caller, imported and ready; terminated on exit."""
    size = max(planning.CALLER_COUNTS)
    with multiprocessing.get_context("spawn").Pool(size) as pool:
        pool.map(workloads.warm_up, range(size), chunksize=1)
        yield pool


def small_calls_per_sec(
    pool: multiprocessing.pool.Pool, command: bytes, callers: int, window_sec: float, server: RunningServer
) -> float:
    """Calls per second summed over callers, each a separate process, in one shared window."""
    job = workloads.SmallCallsJob(server.port, server.token, command, time.monotonic() + _LEAD_SEC, window_sec)
    pending = pool.map_async(workloads.count_small_calls, [job] * callers, chunksize=1)
    results = pending.get(timeout=_LEAD_SEC + window_sec + _POOL_SLACK_SEC)
    errors = [error for _, _, error in results if error is not None]
    if errors:
        raise RuntimeError(errors[0])
    if len({pid for pid, _, _ in results}) != callers:  # a late caller would have missed the window
        raise RuntimeError("caller processes did not all run at once")
    return sum(calls for _, calls, _ in results) / window_sec


def run_small_calls(
    pool: multiprocessing.pool.Pool, servers: Servers, token: bool, plan: Plan, by_key: dict[str, Metric]
) -> None:
    """Workload (a) for every path and caller count, against servers that all use token auth or none."""
    for path in planning.PATHS:
        command = dataset.TASK_CMD if path == "task" else dataset.SMALL_CMD
        for callers in planning.CALLER_COUNTS:
            metric = by_key[planning.small_call_key(token, path, callers)]
            measure = functools.partial(small_calls_per_sec, pool, command, callers, plan.window_sec)
            measure_rounds(metric, servers, plan.rounds, measure)


def run_bulk(servers: Servers, plan: Plan, by_key: dict[str, Metric]) -> None:
    """Workloads (b) DoGet of the big table and (c) DoPut of a table the server drains."""
    if "b" in by_key:
        measure_rounds(by_key["b"], servers, plan.bulk_rounds, lambda s: workloads.doget_gbps(s.port, s.token), True)
    if "c" in by_key:
        table = dataset.wide_table(plan.put_bytes)
        measure_rounds(
            by_key["c"], servers, plan.bulk_rounds, lambda s: workloads.doput_gbps(s.port, s.token, table), True
        )
        del table


def run_cold_starts(kinds: dict[str, ServerKind], workdir: Path, plan: Plan, by_key: dict[str, Metric]) -> None:
    """Workloads (d) start to first call and (e) RSS then, over interleaved cold starts."""
    rows = [m for m in (by_key.get("d"), by_key.get("e")) if m is not None]
    progress(f"measuring {plan.cold_starts} cold starts per server")
    broken: dict[str, str] = {}
    for round_no in range(plan.cold_starts):
        for name, kind in kinds.items():
            try:
                if name in broken:
                    raise procs.BenchServerError(broken[name])
                server = procs.start_server(kind, workdir, None, 0)
            except procs.BenchServerError as e:
                broken[name] = str(e)
                for metric in rows:
                    metric.fail(name, round_no, f"failed to start: {e}")
                continue
            procs.stop_process(server.process)
            for metric in rows:
                metric.record(name, round_no, server.ready_sec if metric.key == "d" else server.rss_mib)


def header(plan: Plan, servers: list[str]) -> str:
    """What was compared and how, printed above the table."""
    window = f"{plan.window_sec:g} s window"
    return "\n".join(
        [
            "gfs benchmark: numbers are from ONE run on a noisy 2-core machine; read the ratios, not the digits.",
            f"python {platform.python_version()}, pyarrow {pyarrow.__version__}; servers: {', '.join(servers)}"
            + (" (--quick: short windows, one round, smaller tables)" if plan.quick else "")
            + (" (--with-metrics: gfs and ref serve Prometheus metrics)" if plan.with_metrics else ""),
            "bare = plain pyarrow.flight.FlightServerBase (token: a bare ServerMiddlewareFactory);"
            " gfs = bench/service.py on gfs_runtime; ref = the same module on gooddata-flight-server 1.78.0.",
            "floor = bare plus one Python middleware whose start_call returns None, (a) only: pyarrow's own"
            " cost of one per-call Python hook, the least any framework with one pays (with a token, = bare).",
            "task path: gfs/ref submit a Task, FlightDataTaskResult.for_table, do_get_task_result;"
            " bare does the same shape with a dict + ThreadPoolExecutor(32), popping the result on DoGet.",
            f"(a) GetFlightInfo+DoGet of 10 rows, callers are separate processes, {window};"
            f" {plan.rounds} round(s), servers interleaved; ratio = median of per-round ratios.",
            f"(b)(c) GB = 1e9 bytes of Arrow buffers, {plan.bulk_rounds} round(s) after one unmeasured transfer;"
            f" (d)(e) {plan.cold_starts} cold starts without the big table, RSS from /proc after the first call.",
            "Servers log to a file with their default production logging (dev_log=False for gfs and ref);"
            " gfs_runtime runs from bytecode compiled first, as a pip install leaves it.",
            "",
        ]
    )


def run(plan: Plan, kinds: dict[str, ServerKind], workdir: Path, metrics: list[Metric]) -> None:
    """Runs the phases: open servers (a, b, c), token servers (a), cold starts (d, e)."""
    by_key = {m.key: m for m in metrics}
    if plan.workloads & {"a", "b", "c"}:
        big = plan.big_bytes if "b" in plan.workloads else 0
        with contextlib.ExitStack() as stack:
            pool = stack.enter_context(caller_pool()) if "a" in plan.workloads else None
            with running_servers(kinds, workdir, None, big) as servers:
                if pool is not None:
                    run_small_calls(pool, servers, False, plan, by_key)
                run_bulk(_beyond_small_calls(servers), plan, by_key)
            if pool is not None:
                with running_servers(kinds, workdir, secrets.token_urlsafe(24), 0) as servers:
                    run_small_calls(pool, servers, True, plan, by_key)
    if plan.workloads & {"d", "e"}:
        run_cold_starts(_beyond_small_calls(kinds), workdir, plan, by_key)


def _beyond_small_calls(servers: dict[str, _S]) -> dict[str, _S]:
    """The servers measured beyond workload (a): all but the floor."""
    return {name: server for name, server in servers.items() if name not in planning.SMALL_CALLS_ONLY}


def compile_bytecode(repo_root: Path) -> None:
    """Writes gfs_runtime's .pyc files, as a pip install does: cold starts must not compile the source.

    The repo is installed editable and PYTHONDONTWRITEBYTECODE may be set, in which case every server
    process would compile each module again, while pyarrow and the reference load their installed bytecode.
    """
    compileall.compile_dir(repo_root / "gfs_runtime", quiet=1)


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark and prints the table; servers that fail are reported, not fatal."""
    plan, json_path = planning.parse_plan(argv)
    started = time.monotonic()
    compile_bytecode(procs.BENCH_DIR.parent)
    kinds = server_kinds(plan.servers, procs.BENCH_DIR.parent, with_metrics=plan.with_metrics)
    names = list(kinds)
    metrics = planning.build_metrics(plan)
    with tempfile.TemporaryDirectory(prefix="gfs-bench-") as workdir:
        run(plan, kinds, Path(workdir), metrics)
    print(header(plan, names))
    print(report.render_table(metrics, names))
    print(f"\ntotal time {time.monotonic() - started:.0f} s")
    if json_path is not None:
        meta = {
            "quick": plan.quick,
            "rounds": plan.rounds,
            "bulk_rounds": plan.bulk_rounds,
            "cold_starts": plan.cold_starts,
            "window_sec": plan.window_sec,
            "python": sys.version,
        }
        report.write_json(Path(json_path), {**meta, "pyarrow": pyarrow.__version__}, metrics, names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
