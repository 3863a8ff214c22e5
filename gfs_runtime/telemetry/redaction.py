"""Keeps secrets out of log lines: values under secret-looking keys, PEM private keys and bearer tokens."""

from __future__ import annotations

import re
from typing import Any, Final

from gfs_runtime.telemetry.log_fields import EventDict

REDACTED: Final = "<redacted>"
"""What a secret is replaced with in log lines."""

# keys whose values are secrets, matched on the lower-case key's end (so `token_header_name` is not one)
_SECRET_KEY_ENDINGS: Final = (
    "token",
    "tokens",
    "authorization",
    "password",
    "passwd",
    "secret",
    "secrets",
    "private_key",
    "api_key",
    "apikey",
    "credentials",
    "cookie",
)
_PRIVATE_KEY_MARKER: Final = "PRIVATE KEY-----"
_BEARER: Final = re.compile(r"(?i)\b(bearer)\s+[^\s,;\"']+")
_MAX_REDACT_DEPTH: Final = 4


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.lower().endswith(_SECRET_KEY_ENDINGS)


def _is_redacted(value: object) -> bool:
    return isinstance(value, str) and value.startswith("<redacted")


def _redacted_text(text: str) -> str:
    if _PRIVATE_KEY_MARKER in text:
        return REDACTED
    if "earer" in text or "EARER" in text:
        return _BEARER.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
    return text


def _redacted(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return _redacted_text(value)
    if depth >= _MAX_REDACT_DEPTH:
        return value
    if isinstance(value, dict):
        return {
            key: REDACTED if _is_secret_key(key) and not _is_redacted(item) else _redacted(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redacted(item, depth + 1) for item in value)
    return value


def redact_secrets(event_dict: EventDict) -> EventDict:
    """Replace secrets: values under secret-looking keys, PEM private keys and bearer tokens, also nested."""
    for key, value in event_dict.items():
        if _is_secret_key(key) and not _is_redacted(value):
            event_dict[key] = REDACTED
        elif isinstance(value, str | dict | list | tuple):
            event_dict[key] = _redacted(value, 0)
    return event_dict
