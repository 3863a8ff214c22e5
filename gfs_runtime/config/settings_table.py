"""Typed reading of one settings table: each bad value becomes a ConfigError naming source, key and value."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any, Final

from gfs_runtime.errors.exceptions import UNSET, ConfigError

_TRUE_WORDS: Final = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS: Final = frozenset({"false", "0", "no", "off"})
_BOOLEAN_EXPECTED: Final = "a boolean (true/false, yes/no, on/off, 1/0)"
_MAX_PORT: Final = 65535


class SettingsTable:
    """One table (e.g. ``[server]``) of loaded settings with typed, validating getters."""

    def __init__(
        self,
        name: str,
        values: Mapping[str, Any],
        sources: Mapping[str, str],
        secret_keys: Collection[str] = (),
    ) -> None:
        self.name = name
        self._values = values
        self._sources = sources
        self._secret_keys = secret_keys

    def source_of(self, key: str) -> str | None:
        """Where the key's value came from (a file path, ``env NAME`` or ``overrides``), when known."""
        return self._sources.get(f"{self.name}.{key}".lower()) or self._sources.get(self.name.lower())

    def error(self, key: str, problem: str, *, value: Any = UNSET, expected: str | None = None) -> ConfigError:
        """A ConfigError for ``key`` naming where its value came from; secret keys never show their value."""
        shown = UNSET if key in self._secret_keys else value
        return ConfigError(problem, file=self.source_of(key), key=f"{self.name}.{key}", value=shown, expected=expected)

    def is_set(self, key: str) -> bool:
        """True when the key has a value (a None value, possible from overrides, counts as unset)."""
        return self._values.get(key) is not None

    def raw(self, key: str) -> Any:
        """The value as loaded, or None."""
        return self._values.get(key)

    def check_known_keys(self, known: Collection[str]) -> None:
        """Refuse keys that are not in ``known``, suggesting the closest known spelling."""
        for key in self._values:
            if key in known:
                continue
            import difflib  # noqa: PLC0415  # only for the error message

            close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else f"not a [{self.name}] setting"
            raise ConfigError(
                f"unknown key; {hint}",
                file=self.source_of(key),
                key=f"{self.name}.{key}",
                expected="one of: " + ", ".join(sorted(known)),
            )

    def boolean(self, key: str, default: bool) -> bool:
        """A boolean written as people write them: true/false, yes/no, on/off, 1/0 (any case)."""
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE_WORDS:
                return True
            if word in _FALSE_WORDS:
                return False
        raise self.error(key, "is not a boolean", value=value, expected=_BOOLEAN_EXPECTED)

    def integer(self, key: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        """A whole number (an int or a string of digits; never a bool or a float) within bounds."""
        value = self.raw(key)
        if value is None:
            return default
        number = _as_int(value)
        if number is None:
            raise self.error(key, "is not a whole number", value=value, expected=_range_text(minimum, maximum))
        if number < minimum or (maximum is not None and number > maximum):
            raise self.error(key, "is out of range", value=value, expected=_range_text(minimum, maximum))
        return number

    def port(self, key: str, default: int, *, allow_zero: bool = False) -> int:
        """A TCP port 1..65535, or 0 ("pick a free port") where ``allow_zero``."""
        return self.integer(key, default, minimum=0 if allow_zero else 1, maximum=_MAX_PORT)

    def seconds(self, key: str, default: float) -> float:
        """A positive, finite duration in seconds (an int, a float or a numeric string)."""
        value = self.raw(key)
        if value is None:
            return default
        number = _as_float(value)
        expected = "a number of seconds > 0"
        if number is None or not math.isfinite(number):
            raise self.error(key, "is not a number of seconds", value=value, expected=expected)
        if number <= 0:
            raise self.error(key, "must be positive", value=value, expected=expected)
        return number

    def text(self, key: str, default: str | None = None) -> str | None:
        """A non-empty string (numbers, as env vars may produce, are taken as their text)."""
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "must be a non-empty string", value=value, expected="a non-empty string")
        return value.strip()

    def choice(self, key: str, allowed: Collection[str], default: str) -> str:
        """One of ``allowed`` (compared case-insensitively); the error lists what is allowed."""
        value = self.raw(key)
        if value is None:
            return default
        word = value.strip().lower() if isinstance(value, str) else None
        if word is None or word not in allowed:
            raise self.error(key, "is not an allowed value", value=value, expected="one of " + ", ".join(allowed))
        return word

    def text_mapping(self, key: str, allowed_keys: Collection[str]) -> dict[str, str]:
        """A table of non-empty strings whose keys are among ``allowed_keys``."""
        value = self.raw(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(key, "must be a table", value=value, expected="a table of " + ", ".join(allowed_keys))
        result: dict[str, str] = {}
        for item_key, item in value.items():
            name = str(item_key).lower()
            if name not in allowed_keys:
                raise self.error(
                    key, f"has unknown entry '{item_key}'", expected="entries among " + ", ".join(allowed_keys)
                )
            if not isinstance(item, str) or not item.strip():
                raise self.error(key, f"entry '{name}' must be a non-empty string", value=item)
            result[name] = item.strip()
        return result


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _range_text(minimum: int, maximum: int | None) -> str:
    if maximum is None:
        return f"a whole number >= {minimum}"
    return f"a whole number in {minimum}..{maximum}"
