"""TLS material (inline and @file), cross-field rules for TLS and token auth, and secrets never shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from config_testdata import CERT_PEM, CERT_SECRET, KEY_PEM, KEY_SECRET, TOKEN_SECRET, WriteToml

from gfs_runtime.config import AuthenticationMethod, ServerConfig, read_config
from gfs_runtime.errors.exceptions import ConfigError

pytestmark = pytest.mark.timeout(20)


def _read(tokens: list[str] | None = None, **server: Any) -> ServerConfig:
    overrides: dict[str, Any] = {"server": server}
    if tokens is not None:
        overrides["enumerated_tokens"] = {"tokens": tokens}
    return read_config(overrides=overrides)[1]


def _error(tokens: list[str] | None = None, **server: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        _read(tokens, **server)
    return str(caught.value)


def _tls_from_files(tls_files: tuple[Path, Path]) -> ServerConfig:
    cert, key = tls_files
    return _read(use_tls=True, tls_certificate=f"@{cert}", tls_private_key=f"@{key}")


def test_tls_material_is_read_from_files(tls_files: tuple[Path, Path]) -> None:
    config = _tls_from_files(tls_files)

    assert config.tls_cert_and_key == (CERT_PEM.encode(), KEY_PEM.encode())


def test_tls_material_can_be_inline_pem() -> None:
    config = _read(use_tls="yes", tls_certificate=CERT_PEM, tls_private_key=KEY_PEM)

    assert config.tls_cert_and_key == (CERT_PEM.strip().encode(), KEY_PEM.strip().encode())


def test_mtls_reads_the_root_certificate(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files

    config = _read(
        use_tls=True,
        use_mtls=True,
        tls_certificate=f"@{cert}",
        tls_private_key=f"@{key}",
        tls_root_certificate=f"@{cert}",
    )

    assert config.use_mutual_tls is True
    assert config.tls_root_cert == CERT_PEM.encode()


def test_tls_values_are_ignored_without_use_tls(tmp_path: Path) -> None:
    config = _read(tls_certificate=f"@{tmp_path / 'absent.crt'}")

    assert (config.use_tls, config.tls_cert_and_key) == (False, None)


def test_missing_tls_file_names_key_and_path(tmp_path: Path) -> None:
    absent = tmp_path / "absent.key"

    message = _error(use_tls=True, tls_certificate=CERT_PEM, tls_private_key=f"@{absent}")

    assert "[server.tls_private_key]" in message
    assert f"file {absent} does not exist" in message


def test_tls_file_that_is_a_directory_names_key_and_path(tmp_path: Path) -> None:
    message = _error(use_tls=True, tls_certificate=f"@{tmp_path}", tls_private_key=KEY_PEM)

    assert f"[server.tls_certificate] {tmp_path} is a directory" in message


def test_tls_file_that_is_not_pem_is_refused_without_showing_its_content(tmp_path: Path) -> None:
    garbage = tmp_path / "key.der"
    garbage.write_text(KEY_SECRET)

    message = _error(use_tls=True, tls_certificate=CERT_PEM, tls_private_key=f"@{garbage}")

    assert f"[server.tls_private_key] file {garbage} is not PEM" in message
    assert KEY_SECRET not in message


def test_inline_key_that_is_not_pem_is_refused_without_showing_it() -> None:
    message = _error(use_tls=True, tls_certificate=CERT_PEM, tls_private_key=KEY_SECRET)

    assert "[server.tls_private_key] the inline value is not PEM" in message
    assert KEY_SECRET not in message


def test_mtls_without_tls_is_refused() -> None:
    message = _error(use_mtls=True, tls_root_certificate=CERT_PEM)

    assert "[server.use_mtls] is true but use_tls is not" in message


@pytest.mark.parametrize("missing", ["tls_certificate", "tls_private_key"])
def test_tls_requires_certificate_and_key(missing: str) -> None:
    server: dict[str, Any] = {"use_tls": True, "tls_certificate": CERT_PEM, "tls_private_key": KEY_PEM}
    del server[missing]

    message = _error(**server)

    assert f"[server.{missing}] is required when use_tls is true" in message


def test_mtls_requires_root_certificate() -> None:
    message = _error(use_tls=True, use_mtls=True, tls_certificate=CERT_PEM, tls_private_key=KEY_PEM)

    assert "[server.tls_root_certificate] is required when use_mtls is true" in message


def test_token_auth_with_enumerated_tokens_and_no_tokens_is_refused() -> None:
    message = _error(authentication_method="token")

    assert "[server.authentication_method] is 'token' with EnumeratedTokenVerification but no tokens" in message
    assert "GFS_ENUMERATED_TOKENS__TOKENS" in message


def test_token_auth_with_a_custom_verifier_needs_no_tokens() -> None:
    config = _read(authentication_method="token", token_verification="my_service.auth")

    assert config.authentication_method is AuthenticationMethod.Token
    assert config.token_verification == "my_service.auth"


def test_token_auth_reads_tokens_and_defaults_the_verifier() -> None:
    config = _read(tokens=["a", "b"], authentication_method="token")

    assert config.enumerated_tokens == ("a", "b")
    assert config.token_verification == "EnumeratedTokenVerification"


def test_tokens_come_from_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFS_SERVER__AUTHENTICATION_METHOD", "token")
    monkeypatch.setenv("GFS_ENUMERATED_TOKENS__TOKENS", '["t1", "t2"]')

    assert read_config()[1].enumerated_tokens == ("t1", "t2")


def test_a_single_token_string_is_one_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOODDATA_FLIGHT_ENUMERATED_TOKENS__TOKENS", TOKEN_SECRET)

    assert read_config()[1].enumerated_tokens == (TOKEN_SECRET,)


def test_bad_token_entry_is_refused_without_showing_tokens() -> None:
    message = _error(tokens=[TOKEN_SECRET, ""])

    assert "[enumerated_tokens.tokens] token #2 is not a non-empty string" in message
    assert TOKEN_SECRET not in message


def test_repr_masks_private_key_certificates_and_tokens(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    config = _read(
        tokens=[TOKEN_SECRET],
        use_tls=True,
        use_mtls=True,
        tls_certificate=f"@{cert}",
        tls_private_key=f"@{key}",
        tls_root_certificate=f"@{cert}",
    )

    shown = repr(config) + str(config) + repr(config.without_secrets())

    for secret in (KEY_SECRET, TOKEN_SECRET, CERT_SECRET, "PRIVATE KEY"):
        assert secret not in shown
    assert "<redacted>" in shown
    assert "<redacted: 1 token(s)>" in shown


def test_without_secrets_is_a_plain_dict_of_every_field(tls_files: tuple[Path, Path]) -> None:
    config = _tls_from_files(tls_files)

    safe = config.without_secrets()

    assert set(safe) == set(ServerConfig.__dataclass_fields__)
    assert safe["listen_port"] == config.listen_port
    assert safe["authentication_method"] == "none"
    assert safe["tls_cert_and_key"][1] == "<redacted>"
    assert safe["otel_config"]["exporter_type"] is None


def test_without_tls_drops_all_tls_material(tls_files: tuple[Path, Path]) -> None:
    config = _tls_from_files(tls_files)

    stripped = config.without_tls()

    assert stripped.tls_cert_and_key is not None
    assert KEY_SECRET.encode() not in stripped.tls_cert_and_key[1]
    assert CERT_SECRET.encode() not in stripped.tls_cert_and_key[0]
    assert stripped.listen_port == config.listen_port


def test_bad_private_key_type_error_does_not_echo_the_value(write_toml: WriteToml) -> None:
    path = write_toml(
        f"[server]\nuse_tls = true\ntls_certificate = '''{CERT_PEM}'''\ntls_private_key = [\"{KEY_SECRET}\"]\n"
    )

    with pytest.raises(ConfigError) as caught:
        read_config([path])

    assert f"{path}: [server.tls_private_key] must be a string" in str(caught.value)
    assert KEY_SECRET not in str(caught.value)
