"""What one benchmark run measures: options, sizes, windows and the metrics with their targets."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from dataset import GIB, MIB
from report import Metric, Target

WORKLOADS = ("a", "b", "c", "d", "e")
SERVERS = ("bare", "floor", "gfs", "ref")
SMALL_CALLS_ONLY = frozenset({"floor"})  # servers measured by workload (a) only
CALLER_COUNTS = (1, 8)
PATHS = ("plain", "task")

# Targets for gfs / bare from the issue: (with token, path) -> minimum ratio.
_SMALL_CALL_TARGETS = {
    (True, "plain"): 0.90,
    (True, "task"): 0.70,
    (False, "plain"): 0.85,
    (False, "task"): 0.65,
}


@dataclass(frozen=True)
class Plan:
    """The settings of one run, derived from the command line."""

    workloads: frozenset[str]
    servers: tuple[str, ...]
    rounds: int
    bulk_rounds: int
    window_sec: float
    cold_starts: int
    big_bytes: int
    put_bytes: int
    quick: bool
    with_metrics: bool


def _choices(text: str, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    """A comma-separated list checked against allowed, kept in allowed's order."""
    picked = {part.strip() for part in text.split(",") if part.strip()}
    unknown = picked - set(allowed)
    if unknown or not picked:
        raise argparse.ArgumentTypeError(f"{what} must be a comma-separated subset of {','.join(allowed)}")
    return tuple(name for name in allowed if name in picked)


def parse_plan(argv: list[str] | None) -> tuple[Plan, str | None]:
    """Parses the command line into a Plan and the optional --json path."""
    parser = argparse.ArgumentParser(description="Compare gfs and the reference with a bare pyarrow.flight server.")
    parser.add_argument("--quick", action="store_true", help="short windows, one round, smaller tables")
    parser.add_argument("--only", default=",".join(WORKLOADS), type=lambda s: _choices(s, WORKLOADS, "--only"))
    parser.add_argument("--servers", default=",".join(SERVERS), type=lambda s: _choices(s, SERVERS, "--servers"))
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the results as JSON")
    parser.add_argument(
        "--with-metrics", action="store_true", help="gfs and ref serve Prometheus metrics (per-call metrics on)"
    )
    args = parser.parse_args(argv)
    quick: bool = args.quick
    plan = Plan(
        workloads=frozenset(args.only),
        servers=args.servers,
        rounds=1 if quick else 3,
        bulk_rounds=1 if quick else 9,
        window_sec=0.5 if quick else 2.0,
        cold_starts=2 if quick else 5,
        big_bytes=256 * MIB if quick else GIB,
        put_bytes=64 * MIB if quick else 256 * MIB,
        quick=quick,
        with_metrics=bool(args.with_metrics),
    )
    return plan, args.json


def small_call_key(token: bool, path: str, callers: int) -> str:
    """The metric key of one small-call configuration."""
    return f"a/{'token' if token else 'open'}/{path}/{callers}"


def _size(n: int) -> str:
    """A byte count as MiB or GiB."""
    return f"{n // GIB} GiB" if n >= GIB and n % GIB == 0 else f"{n // MIB} MiB"


def build_metrics(plan: Plan) -> list[Metric]:
    """The table's rows for the selected workloads, in print order."""
    metrics: list[Metric] = []
    if "a" in plan.workloads:
        for token in (False, True):
            for path in PATHS:
                for callers in CALLER_COUNTS:
                    label = f"(a) {path}, {'token' if token else 'no auth'}, {callers} caller{'s' * (callers > 1)}"
                    target = Target("min_ratio", _SMALL_CALL_TARGETS[(token, path)])
                    metrics.append(Metric(small_call_key(token, path, callers), label, "calls/s", target))
    if "b" in plan.workloads:
        metrics.append(Metric("b", f"(b) DoGet {_size(plan.big_bytes)}", "GB/s", Target("min_ratio", 0.95)))
    if "c" in plan.workloads:
        metrics.append(Metric("c", f"(c) DoPut {_size(plan.put_bytes)}", "GB/s", Target("min_ratio", 0.95)))
    if "d" in plan.workloads:
        metrics.append(Metric("d", "(d) start to first call", "s", Target("max_ratio", 1.4)))
    if "e" in plan.workloads:
        metrics.append(Metric("e", "(e) RSS when ready", "MiB", Target("max_extra", 12)))
    return metrics
