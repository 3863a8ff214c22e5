"""The shipped sample-config.toml documents every key with its default and env var, and loads cleanly."""

from __future__ import annotations

import re
import tomllib
from importlib import resources

import pytest

from gfs_runtime.config import KNOWN_SERVER_KEYS, load_settings, read_config, sample_config_text

pytestmark = pytest.mark.timeout(20)

_KEY_LINE = re.compile(r"^#? ?(?P<key>[a-z_]+) = (?P<value>.+)$")
_TLS_KEYS = {"tls_certificate", "tls_private_key", "tls_root_certificate"}


def _server_entries() -> dict[str, tuple[str, str]]:
    """Map each documented [server] key to (its comment block, its example value)."""
    text = sample_config_text()
    server_part = text.split("\n[server]\n", 1)[1].split("\n[enumerated_tokens]\n", 1)[0]
    entries: dict[str, tuple[str, str]] = {}
    comment: list[str] = []
    for line in server_part.splitlines():
        match = _KEY_LINE.match(line)
        if match:
            entries[match["key"]] = ("\n".join(comment), match["value"])
            comment = []
        elif line.startswith("#"):
            comment.append(line)
        else:
            comment = []
    return entries


def _documented_env_names() -> list[str]:
    return sorted(set(re.findall(r"\b(?:GFS|GOODDATA_FLIGHT)_[A-Z0-9_]*[A-Z0-9]\b", sample_config_text())))


def test_every_server_key_is_documented_with_default_and_env_var() -> None:
    entries = _server_entries()

    for key in KNOWN_SERVER_KEYS:
        assert key in entries, f"{key} missing from sample-config.toml"
        comment, _ = entries[key]
        assert "Default:" in comment, key
        assert f"GFS_SERVER__{key.upper()}" in comment, key


def test_sample_documents_no_key_that_does_not_exist() -> None:
    assert set(_server_entries()) <= set(KNOWN_SERVER_KEYS)


def test_sample_names_the_legacy_env_prefix_and_the_tokens_env_var() -> None:
    text = sample_config_text()

    assert "GOODDATA_FLIGHT_SERVER__" in text
    assert "GFS_ENUMERATED_TOKENS__TOKENS" in text
    assert re.search(r"^# tokens = \[", text, re.MULTILINE)


def test_sample_loads_through_read_config() -> None:
    with resources.as_file(resources.files("gfs_runtime.config") / "sample-config.toml") as path:
        settings, config = read_config([path])

    assert config.listen_port == 17001
    assert settings.dynaconf().get("server.listen_host") == "127.0.0.1"


@pytest.mark.parametrize("key", sorted(set(KNOWN_SERVER_KEYS) - _TLS_KEYS))
def test_documented_example_value_is_valid(key: str) -> None:
    _, example = _server_entries()[key]
    value = tomllib.loads(f"v = {example}")["v"]

    config = read_config(overrides={"server": {key: value}})[1]

    assert config is not None


@pytest.mark.parametrize("env_name", _documented_env_names())
def test_documented_env_var_sets_its_key(env_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = "GFS_" if env_name.startswith("GFS_") else "GOODDATA_FLIGHT_"
    dotted_key = env_name.removeprefix(prefix).lower().replace("__", ".")
    monkeypatch.setenv(env_name, "probe-value")

    assert load_settings().get(dotted_key) == "probe-value"


def test_documented_tokens_env_var_sets_the_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFS_ENUMERATED_TOKENS__TOKENS", '["token-1", "token-2"]')

    assert read_config()[1].enumerated_tokens == ("token-1", "token-2")
