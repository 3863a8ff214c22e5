"""`gfs config`: every effective setting with its source; secrets never shown; bad config is one clean error."""

from __future__ import annotations

from pathlib import Path

import pytest

from gfs_cli.app import run
from gfs_cli.config_view import REDACTED, effective_settings, format_settings, is_secret_key
from gfs_runtime.config import KNOWN_SERVER_KEYS
from gfs_runtime.errors.exceptions import ConfigError

pytestmark = pytest.mark.timeout(10)

TOKEN = "tok-very-secret-value-123"  # a test token that must never be printed


def rows_by_key(config_files: list[Path]) -> dict[str, tuple[str, str]]:
    return {row.key: (row.value, row.source) for row in effective_settings(config_files)}


def test_every_server_key_is_listed(tmp_path: Path) -> None:
    keys = {row.key for row in effective_settings([])}

    assert {f"server.{key}" for key in KNOWN_SERVER_KEYS} <= keys


def test_each_value_names_its_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "base.toml"
    base.write_text("[server]\nlisten_port = 17011\ntask_threads = 3\n[svc]\nrow_limit = 5\n")
    monkeypatch.setenv("GFS_SERVER__TASK_THREADS", "7")

    rows = rows_by_key([base])

    assert rows["server.listen_port"] == ("17011", f"file {base}")
    assert rows["server.task_threads"] == ("7", "env GFS_SERVER__TASK_THREADS")
    assert rows["server.task_close_threads"] == ("2", "default")
    assert rows["svc.row_limit"] == ("5", f"file {base}")


def test_later_file_is_the_source_of_the_keys_it_sets(tmp_path: Path) -> None:
    first = tmp_path / "first.toml"
    second = tmp_path / "second.toml"
    first.write_text("[server]\nlisten_port = 17011\ntask_threads = 3\n")
    second.write_text("[server]\ntask_threads = 4\n")

    rows = rows_by_key([first, second])

    assert rows["server.listen_port"][1] == f"file {first}"
    assert rows["server.task_threads"] == ("4", f"file {second}")


def test_tokens_and_service_secrets_are_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "auth.toml"
    config.write_text(
        '[server]\nauthentication_method = "token"\n'
        f'[enumerated_tokens]\ntokens = ["{TOKEN}"]\n'
        '[svc]\ndb_password = "hunter2-secret"\napi_token = "abc-secret"\nregion = "eu"\n'
    )

    rows = rows_by_key([config])
    text = format_settings(effective_settings([config]))

    assert TOKEN not in text
    assert "hunter2-secret" not in text
    assert "abc-secret" not in text
    assert rows["enumerated_tokens.tokens"][0] == "<redacted: 1 token(s)>"
    assert rows["svc.db_password"][0] == REDACTED
    assert rows["svc.region"][0] == '"eu"'


@pytest.mark.parametrize("key", ["tokens", "db_password", "api_key", "client_secret", "tls_private_key", "auth_token"])
def test_secret_looking_names_are_secret(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["token_header_name", "token_verification", "row_limit", "log_trace_keys"])
def test_ordinary_names_are_not_secret(key: str) -> None:
    assert not is_secret_key(key)


def test_bad_value_raises_the_config_error_the_server_would(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nlisten_port = 70000\n")

    with pytest.raises(ConfigError, match=r"listen_port"):
        effective_settings([config])


def test_config_command_prints_the_table_and_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "a.toml"
    config.write_text("[server]\nlisten_port = 17012\n")
    monkeypatch.chdir(tmp_path)

    assert run(["config", "--config", str(config)]) == 0
    assert "server.listen_port" in capsys.readouterr().out


def test_config_command_with_a_bad_file_exits_1_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nuse_mtls = true\n")
    monkeypatch.chdir(tmp_path)

    assert run(["config", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gfs: error: ")
    assert err.count("\n") == 1


def test_config_command_in_a_generated_repo_reads_its_config_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["new", "svc", "--no-input", "--output-dir", str(tmp_path)]) == 0
    monkeypatch.chdir(tmp_path / "svc")
    capsys.readouterr()

    assert run(["config"]) == 0
    out = capsys.readouterr().out
    assert "file config/server.toml" in out
    assert "svc.row_limit" in out
