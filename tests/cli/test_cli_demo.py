"""The demo (`python -m gfs_cli.demo`, run by `make demo`): every step works and it leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow
import pytest

from gfs_cli.demo import format_table


def test_format_table_aligns_columns_under_a_header() -> None:
    table = pyarrow.table({"city": ["Tokyo", "Osaka"], "population": [13960000, 2752412]})

    assert format_table(table).splitlines() == [
        "city   population",
        "-----  ----------",
        "Tokyo  13960000",
        "Osaka  2752412",
    ]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_demo_runs_end_to_end_and_cleans_up(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GFS_", "GOODDATA_FLIGHT_"))}
    env["TMPDIR"] = str(tmp_path)  # the demo's scratch directory lands here, so leftovers would show

    result = subprocess.run(
        [sys.executable, "-m", "gfs_cli.demo"], capture_output=True, text=True, timeout=170, env=env, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Tokyo" in result.stdout
    assert "ListFlights -> cities (10 rows), daily_orders (8 rows)" in result.stdout
    assert "exited with code 0" in result.stdout
    assert list(tmp_path.iterdir()) == []
