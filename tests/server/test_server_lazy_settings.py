"""Dynaconf stays off the path to the first call; `ctx.settings` builds it on first read."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.flight
import pytest

from gfs_runtime.config import read_config
from gfs_runtime.config.dynaconf_settings import configures_dynaconf
from gfs_runtime.health.monitor import ServerHealthMonitor
from gfs_runtime.server.context import ServerContext

SERVICE = Path(__file__).with_name("lazy_settings_service.py")
TOKEN = "tok-lazy-1"
SERVER_TABLE = '[server]\nlisten_host = "127.0.0.1"\ntask_threads = 2\n'
PLAIN_CONFIG = SERVER_TABLE + "[my_section]\nanswer = 42\n"
TOKEN_CONFIG = SERVER_TABLE + f'authentication_method = "token"\n[enumerated_tokens]\ntokens = ["{TOKEN}"]\n'
_UNUSED_EXECUTOR: Any = object()  # the context only carries it


def _run_service(tmp_path: Path, config_text: str, token: str, read_settings: bool) -> dict[str, Any]:
    config = tmp_path / "config.toml"
    config.write_text(config_text, encoding="utf-8")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GFS_", "GOODDATA_FLIGHT_")) and not configures_dynaconf(name)
    }
    done = subprocess.run(
        [sys.executable, str(SERVICE), str(config), token, "yes" if read_settings else "no"],
        capture_output=True,
        text=True,
        timeout=50,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    return result


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_first_call_imports_no_module_it_does_not_use(tmp_path: Path) -> None:
    result = _run_service(tmp_path, PLAIN_CONFIG, "", read_settings=False)

    assert result["actions"] == ["ping"]
    assert (result["dynaconf"], result["jinja2"]) == (False, False)
    assert result["heavy"] == []


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_token_authentication_imports_no_dynaconf(tmp_path: Path) -> None:
    result = _run_service(tmp_path, TOKEN_CONFIG, TOKEN, read_settings=False)

    assert result["actions"] == ["ping"]
    assert result["refused_without_token"] is True
    assert (result["dynaconf"], result["jinja2"]) == (False, False)
    assert result["heavy"] == []


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_factory_reading_settings_gets_its_section(tmp_path: Path) -> None:
    result = _run_service(tmp_path, PLAIN_CONFIG, "", read_settings=True)

    assert result["seen"] == [42]
    assert result["dynaconf"] is True


def _context(settings: Any, health: ServerHealthMonitor | None = None) -> ServerContext:
    _, config = read_config(overrides={"server.listen_port": 0})
    location = pyarrow.flight.Location.for_grpc_tcp("127.0.0.1", 1)
    return ServerContext(settings, config, location, health or ServerHealthMonitor(), _UNUSED_EXECUTOR)


def test_context_builds_the_settings_on_first_read_only() -> None:
    loaded, _ = read_config(overrides={"my_section.answer": 7})
    health = ServerHealthMonitor()
    ctx = _context(loaded, health)

    assert "dynaconf not built" in repr(ctx)
    assert ctx == _context(loaded, health)
    assert ctx != _context(loaded)
    assert "dynaconf not built" in repr(loaded)
    settings = ctx.settings
    assert settings.my_section.answer == 7
    assert ctx.settings is settings
    assert loaded.dynaconf() is settings


def test_context_given_a_dynaconf_returns_it() -> None:
    loaded, config = read_config()
    dynaconf = loaded.dynaconf()
    location = pyarrow.flight.Location.for_grpc_tcp("127.0.0.1", 1)

    ctx = ServerContext(
        settings=dynaconf,
        config=config,
        location=location,
        health=ServerHealthMonitor(),
        task_executor=_UNUSED_EXECUTOR,
    )

    assert ctx.settings is dynaconf
    assert ctx.metrics is None


def test_context_fields_cannot_be_assigned() -> None:
    loaded, _ = read_config()
    ctx = _context(loaded)

    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.settings = loaded.dynaconf()  # type: ignore[misc]  # the point of the test
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.config = ctx.config  # type: ignore[misc]  # the point of the test
    assert [field.name for field in dataclasses.fields(ctx)] == [
        "settings",
        "config",
        "location",
        "health",
        "task_executor",
        "metrics",
    ]
