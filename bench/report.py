"""Benchmark results: per-round values, medians, ratios to bare, targets, the table and the JSON."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASELINE = "bare"
CANDIDATE = "gfs"
FLOOR = "floor"  # bare with one pass-through Python middleware: what any one-hook framework pays at least


@dataclass(frozen=True)
class Target:
    """A goal for gfs against bare: a minimum or maximum ratio, or a maximum extra amount."""

    kind: str  # "min_ratio", "max_ratio" or "max_extra"
    value: float

    def describe(self, unit: str) -> str:
        """The target as printed in the table."""
        if self.kind == "min_ratio":
            return f">= {self.value:.2f}x"
        if self.kind == "max_ratio":
            return f"<= {self.value:.2f}x"
        return f"<= bare+{self.value:g} {unit}"

    def is_met(self, ratio: float | None, above: float | None) -> bool | None:
        """Whether gfs meets the target; None when there is nothing to judge."""
        if self.kind == "max_extra":
            return None if above is None else above <= self.value
        if ratio is None:
            return None
        return ratio >= self.value if self.kind == "min_ratio" else ratio <= self.value


@dataclass
class Metric:
    """One row of the table: a measured quantity, its per-round values per server and errors."""

    key: str
    label: str
    unit: str
    target: Target | None
    values: dict[str, list[float | None]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def record(self, server: str, round_no: int, value: float) -> None:
        """Stores server's value for round round_no (0-based)."""
        row = self.values.setdefault(server, [])
        row.extend([None] * (round_no + 1 - len(row)))
        row[round_no] = value

    def fail(self, server: str, round_no: int, error: str) -> None:
        """Records that server's measurement failed in round round_no."""
        row = self.values.setdefault(server, [])
        row.extend([None] * (round_no + 1 - len(row)))
        self.errors.setdefault(server, []).append(error)

    def median(self, server: str) -> float | None:
        """The median over rounds that produced a value."""
        got = [v for v in self.values.get(server, []) if v is not None]
        return statistics.median(got) if got else None

    def ratio(self, server: str) -> float | None:
        """The median over rounds of server / bare, using rounds where both have a value."""
        pairs = zip(self.values.get(server, []), self.values.get(BASELINE, []), strict=False)
        ratios = [v / b for v, b in pairs if v is not None and b]
        return statistics.median(ratios) if ratios else None

    def above_bare(self, server: str) -> float | None:
        """The median of server minus the median of bare."""
        mine, base = self.median(server), self.median(BASELINE)
        return None if mine is None or base is None else mine - base

    def verdict(self) -> str:
        """PASS or MISS for gfs against the target ("MISS, floor too" when the floor misses it as well)."""
        if self.target is None:
            return "-"
        met = self.target.is_met(self.ratio(CANDIDATE), self.above_bare(CANDIDATE))
        if met is None:
            return "-"
        if met:
            return "PASS"
        floor_met = self.target.is_met(self.ratio(FLOOR), self.above_bare(FLOOR))
        return "MISS, floor too" if floor_met is False else "MISS"

    def as_json(self, servers: list[str]) -> dict[str, Any]:
        """Everything about this row, for --json."""
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "rounds": {s: self.values.get(s, []) for s in servers},
            "median": {s: self.median(s) for s in servers},
            "ratio_to_bare": {s: self.ratio(s) for s in servers if s != BASELINE},
            "target": None if self.target is None else self.target.describe(self.unit),
            "gfs_verdict": self.verdict(),
            "errors": self.errors,
        }


def _number(value: float | None) -> str:
    """A value with precision that suits its size."""
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


class _Footnotes:
    """Numbers each distinct error line once, so cells stay short."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def mark(self, server: str, error: str) -> str:
        """The cell text for a failed value: 'error [n]'."""
        line = f"{server}: {error}"
        if line not in self.lines:
            self.lines.append(line)
        return f"error [{self.lines.index(line) + 1}]"


def _row(metric: Metric, servers: list[str], notes: _Footnotes) -> list[str]:
    """The printed cells of one metric."""
    cells = [metric.label, metric.unit]
    for server in servers:
        value = metric.median(server)
        errors = metric.errors.get(server)
        cells.append(notes.mark(server, errors[0]) if value is None and errors else _number(value))
    for server in servers:
        if server != BASELINE:
            ratio = metric.ratio(server)
            cells.append("-" if ratio is None else f"{ratio:.2f}x")
    target = metric.target.describe(metric.unit) if metric.target else "-"
    return [*cells, target, metric.verdict()]


def render_table(metrics: list[Metric], servers: list[str]) -> str:
    """The results as an aligned text table followed by numbered error lines."""
    notes = _Footnotes()
    header = ["metric", "unit", *servers, *[f"{s}/bare" for s in servers if s != BASELINE], "target", "gfs"]
    rows = [header] + [_row(m, servers, notes) for m in metrics]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += [f"[{i}] {line}" for i, line in enumerate(notes.lines, start=1)]
    return "\n".join(lines)


def write_json(path: Path, meta: dict[str, Any], metrics: list[Metric], servers: list[str]) -> None:
    """Writes the run's settings and every metric's rounds, medians, ratios and verdicts."""
    document = {"meta": meta, "servers": servers, "metrics": [m.as_json(servers) for m in metrics]}
    path.write_text(json.dumps(document, indent=2) + "\n")
