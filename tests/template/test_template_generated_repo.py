"""A generated repo installed against this checkout: its own tests pass, `gfs run` serves it and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.flight
import pytest

from gfs_cli.demo import free_port, service_ports_env, wait_until_ready
from gfs_cli.scaffold import ServiceAnswers, render_service
from gfs_cli.scratch_venv import create_layered_venv, install_editable

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

OWN_TESTS_TARGET_SEC = 15.0
READY_TARGET_SEC = 2.0
STOP_TIMEOUT_SEC = 30.0


def clean_env() -> dict[str, str]:
    """This environment without gfs settings and without the outer pytest's variables."""
    return {
        key: value for key, value in os.environ.items() if not key.startswith(("GFS_", "GOODDATA_FLIGHT_", "PYTEST_"))
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(python of a scratch venv, repo): a fresh render installed editable over this checkout's environment."""
    base = tmp_path_factory.mktemp("installed")
    repo = render_service(ServiceAnswers.create("sales-data"), base)
    python = create_layered_venv(base / "venv")
    install_editable(python, repo)
    return python, repo


@pytest.fixture
def gfs_run(installed: tuple[Path, Path], tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, int]]:
    """`gfs run` in the generated repo on free ports: (process, flight port, health port)."""
    python, repo = installed
    flight_port, health_port = free_port(), free_port()
    env = {**clean_env(), **service_ports_env(flight_port, health_port, free_port())}
    with (tmp_path / "service.log").open("wb") as log:
        process = subprocess.Popen([str(python), "-m", "gfs_cli", "run"], cwd=repo, env=env, stderr=log)
        try:
            yield process, flight_port, health_port
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(STOP_TIMEOUT_SEC)


def test_generated_repo_own_tests_pass_within_the_target(installed: tuple[Path, Path]) -> None:
    python, repo = installed
    started = time.monotonic()

    result = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=repo,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    elapsed = time.monotonic() - started
    print(f"generated repo's own test suite: {elapsed:.2f} s")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
    assert "skipped" not in result.stdout
    assert elapsed < OWN_TESTS_TARGET_SEC


def test_gfs_run_reaches_ready_serves_rows_and_exits_0_on_sigterm(
    gfs_run: tuple[subprocess.Popen[bytes], int, int],
) -> None:
    process, flight_port, health_port = gfs_run

    ready_sec = wait_until_ready(health_port, process)
    with pyarrow.flight.connect(f"grpc://127.0.0.1:{flight_port}") as client:
        listed = len(list(client.list_flights()))
        info = client.get_flight_info(pyarrow.flight.FlightDescriptor.for_path("cities"))
        table = client.do_get(info.endpoints[0].ticket).read_all()
    process.send_signal(signal.SIGTERM)
    code = process.wait(STOP_TIMEOUT_SEC)

    print(f"gfs run reached /ready in {ready_sec:.2f} s")
    assert listed == 2
    assert table.num_rows == 10
    assert code == 0
    assert ready_sec < READY_TARGET_SEC
