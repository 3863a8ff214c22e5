"""`gfs config`: validate the configuration and list every effective setting with its source, secrets masked."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from gfs_runtime.config import KNOWN_SERVER_KEYS, ServerConfig, parse_server_config
from gfs_runtime.config.loading import load_settings_with_sources

DEFAULT_SOURCE: Final = "default"
REDACTED: Final = "<redacted>"
_SERVER: Final = "server"
_TOKENS_SECTION: Final = "enumerated_tokens"
_SECRET_NAME: Final = re.compile(r"(password|passwd|secret|private_key|api_key|credential|(^|_)tokens?$)")

# [server] keys whose ServerConfig field has another name (or lives in otel_config)
_FIELD_OF_KEY: Final = {
    "use_mtls": ("use_mutual_tls",),
    "otel_exporter_type": ("otel_config", "exporter_type"),
    "otel_service_name": ("otel_config", "service_name"),
    "otel_service_namespace": ("otel_config", "service_namespace"),
    "otel_service_instance_id": ("otel_config", "service_instance_id"),
    "otel_extract_context": ("otel_config", "extract_context_from_headers"),
}


@dataclass(frozen=True)
class SettingRow:
    """One effective setting: dotted key, value as shown (secrets masked) and where it came from."""

    key: str
    value: str
    source: str


def is_secret_key(key: str) -> bool:
    """True for setting names that hold secrets (tokens, passwords, private keys), whose values are never shown."""
    return bool(_SECRET_NAME.search(key.lower()))


def effective_settings(config_files: Sequence[str | os.PathLike[str]] = ()) -> list[SettingRow]:
    """Load and validate the config (raising ConfigError like the server would); list every effective setting."""
    settings, sources = load_settings_with_sources(config_files)
    config = parse_server_config(settings, sources=sources)
    rows = [_server_row(config, key, sources) for key in KNOWN_SERVER_KEYS]
    tokens_key = f"{_TOKENS_SECTION}.tokens"
    tokens_shown = f"<redacted: {len(config.enumerated_tokens)} token(s)>" if config.enumerated_tokens else "[]"
    rows.append(SettingRow(tokens_key, tokens_shown, _source_text(sources.get(tokens_key))))
    rows.extend(_other_rows(settings, sources))
    return rows


def format_settings(rows: Sequence[SettingRow]) -> str:
    """Rows as aligned columns: key, value, source."""
    key_width = max((len(row.key) for row in rows), default=0)
    value_width = max((len(row.value) for row in rows), default=0)
    return "\n".join(f"{row.key:<{key_width}}  {row.value:<{value_width}}  {row.source}".rstrip() for row in rows)


def _server_row(config: ServerConfig, key: str, sources: Mapping[str, str]) -> SettingRow:
    dotted = f"{_SERVER}.{key}"
    return SettingRow(dotted, _server_value(config, key), _source_text(sources.get(dotted)))


def _server_value(config: ServerConfig, key: str) -> str:
    """The parsed value of a [server] key; TLS material shows only its size, the private key never."""
    if key == "tls_private_key":
        return REDACTED if config.tls_cert_and_key is not None else _shown(None)
    if key == "tls_certificate":
        material = config.tls_cert_and_key[0] if config.tls_cert_and_key is not None else None
        return f"<certificate, {len(material)} bytes>" if material is not None else _shown(None)
    if key == "tls_root_certificate":
        root = config.tls_root_cert
        return f"<certificate, {len(root)} bytes>" if root is not None else _shown(None)
    value: Any = config
    for name in _FIELD_OF_KEY.get(key, (key,)):
        value = getattr(value, name)
    return _shown(getattr(value, "value", value))


def _other_rows(settings: Any, sources: Mapping[str, str]) -> list[SettingRow]:
    """Settings outside [server] and [enumerated_tokens] (the service's own tables), leaves only."""
    keys = [key for key in sources if key.split(".", 1)[0] not in {_SERVER, _TOKENS_SECTION}]
    leaves = [key for key in keys if not any(other.startswith(f"{key}.") for other in keys)]
    rows = []
    for key in sorted(leaves):
        shown = REDACTED if is_secret_key(key.rsplit(".", 1)[-1]) else _shown(_lookup(settings, key))
        rows.append(SettingRow(key, shown, _source_text(sources[key])))
    return rows


def _lookup(settings: Any, dotted: str) -> Any:
    value = settings
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) or hasattr(value, "get") else None
    return value


def _shown(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, Mapping):
        return json.dumps({str(k): v for k, v in value.items()}, default=str)
    if isinstance(value, str | bool | int | float | list | tuple):
        return json.dumps(value, default=str)
    return str(value)


def _source_text(source: str | None) -> str:
    if source is None:
        return DEFAULT_SOURCE
    if source.startswith("env ") or source == "overrides":
        return source
    return f"file {source}"
