"""Dynaconf, imported only when needed: its plain value parsing redone without it, and the real thing otherwise.

A load whose values use no Dynaconf converter (``@int``, ``@format``...) and whose environment does not configure
Dynaconf itself is parsed here exactly as Dynaconf 3.3 would, without importing it (it costs tens of ms and MiB).
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from gfs_runtime.errors.exceptions import ConfigError

if TYPE_CHECKING:
    from dynaconf import Dynaconf

__all__ = [
    "OVERRIDES_SOURCE",
    "boolean_fix",
    "check_markers",
    "complete_dynaconf",
    "configures_dynaconf",
    "dynaconf_class",
    "has_converter_values",
    "is_converter_value",
    "is_plain_top_level_key",
    "new_dynaconf",
    "parse_env_value",
    "parse_with_dynaconf",
]

OVERRIDES_SOURCE: Final = "overrides"
"""The source recorded for values given as overrides."""

# Dynaconf 3.3's converter tokens (``dynaconf.utils.parse_conf.converters``); a string whose first space-separated
# word is one of them is converted by Dynaconf, any other string (``@/path/cert.pem`` too) is left as it is.
_CONVERTERS: Final = frozenset(
    {
        *("@str", "@int", "@float", "@bool", "@json", "@format", "@jinja", "@reset", "@del", "@merge"),
        *("@merge_unique", "@insert", "@get", "@read_file", "@upper", "@lower", "@title", "@capitalize"),
        *("@strip", "@lstrip", "@rstrip", "@split", "@casefold", "@swapcase", "@note", "@comment", "@null"),
        *("@none", "@empty"),
    }
)
_PARSE_CONF_MODULE: Final = "dynaconf.utils.parse_conf"
# Names Dynaconf reads for its own configuration (env vars) and keeps in its store (top-level keys).
_DYNACONF_NAME_SUFFIX: Final = "_FOR_DYNACONF"
_DYNACONF_LEGACY_NAMES: Final = frozenset(
    {
        *("DYNACONF_NAMESPACE", "DYNACONF_SETTINGS_MODULE", "DYNACONF_SETTINGS", "SETTINGS_MODULE"),
        *("PROJECT_ROOT", "DYNACONF_SILENT_ERRORS", "DYNACONF_ALWAYS_FRESH_VARS", "RENAMED_VARS"),
    }
)
# Top-level keys Dynaconf splits into nested keys when set.
_NESTING_IN_KEYS: Final = (".", "__", "[")


def dynaconf_class() -> type[Dynaconf]:
    """``dynaconf.Dynaconf``, imported on first use."""
    from dynaconf import Dynaconf  # noqa: PLC0415  # kept off the import path of a server that does not need it

    return Dynaconf  # type: ignore[no-any-return]  # dynaconf ships no type information


def new_dynaconf() -> Dynaconf:
    """An empty Dynaconf configured as gfs always builds it (no environments, no loaders of its own)."""
    return dynaconf_class()(environments=False, envvar_prefix="GFS", loaders=[])


def boolean_fix(value: str) -> str:
    """Dynaconf's fix for env vars: ``True``/``False`` (as Python spells them) become TOML's ``true``/``false``."""
    if value and value.strip() in ("True", "False"):
        return value.lower()
    return value


def parse_env_value(value: str) -> Any:
    """An env var's value as Dynaconf parses one without a converter: as a TOML value, else the string itself."""
    value = boolean_fix(value)
    try:
        return tomllib.loads(f"key={value}")["key"]
    except (tomllib.TOMLDecodeError, KeyError):
        return value


def is_converter_value(value: Any) -> bool:
    """True for a string Dynaconf converts (``@int 5``, ``@format {this.x}``...); ``@/path`` is not one."""
    if not isinstance(value, str) or not value:
        return False
    token = value.partition(" ")[0]
    if token in _CONVERTERS:
        return True
    # converters added with dynaconf.add_converter exist only once dynaconf was imported
    parse_conf = sys.modules.get(_PARSE_CONF_MODULE)
    return parse_conf is not None and token in getattr(parse_conf, "converters", {})


def has_converter_values(value: Any) -> bool:
    """True when a converter string, or an object of Dynaconf's own, is anywhere in the nested value."""
    if isinstance(value, Mapping):
        return any(has_converter_values(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(has_converter_values(item) for item in value)
    return is_converter_value(value) or type(value).__module__.startswith("dynaconf.")


def configures_dynaconf(name: str) -> bool:
    """True for a name Dynaconf reserves for its own configuration (``SETTINGS_FILE_FOR_DYNACONF``...)."""
    upper = name.upper()
    return upper.endswith(_DYNACONF_NAME_SUFFIX) or upper in _DYNACONF_LEGACY_NAMES


def is_plain_top_level_key(key: str) -> bool:
    """True for a top-level key Dynaconf stores as is, only upper-cased (no nesting, no clash with its own)."""
    if not key.isascii() or key != key.strip() or any(part in key for part in _NESTING_IN_KEYS):
        return False
    return not configures_dynaconf(key)


def parse_with_dynaconf(settings: Dynaconf, value: Any, *, tomlfy: bool, source: str, path: tuple[str, ...]) -> Any:
    """Apply Dynaconf's value parsing (TOML for env values, ``@int``/``@json``/... markers) with clean errors."""
    from dynaconf.utils.parse_conf import parse_conf_data  # noqa: PLC0415  # see dynaconf_class

    try:
        return parse_conf_data(value, tomlfy=tomlfy, box_settings=settings)
    except Exception as exc:  # Dynaconf's parse errors are plain Exceptions
        marker = value.split(maxsplit=1)[0] if isinstance(value, str) and value.startswith("@") else "value"
        # The exception text echoes the value, which may be a secret: name the marker only.
        problem = f"is a Dynaconf {marker} value that cannot be parsed ({type(exc).__name__})"
        raise ConfigError(problem, file=source, key=".".join(path)) from None


def check_markers(
    settings: Dynaconf, data: Mapping[str, Any], prefix: tuple[str, ...], sources: Mapping[str, str]
) -> None:
    """Fail early, naming key and source, on ``@marker`` strings Dynaconf would not be able to parse."""
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping):
            check_markers(settings, value, path, sources)
        elif isinstance(value, str) and value.startswith("@"):
            source = sources.get(".".join(path).lower(), OVERRIDES_SOURCE)
            parse_with_dynaconf(settings, value, tomlfy=False, source=source, path=path)


def complete_dynaconf(settings: Dynaconf, data: Mapping[str, Any], sources: Mapping[str, str]) -> Dynaconf:
    """Check the data's markers and put the data into ``settings``; ``data`` itself is left unchanged."""
    if data:
        check_markers(settings, data, (), sources)
        # Dynaconf rewrites the tables it is given in place: give it copies
        settings.update(_copy_containers(data))
    return settings


def _copy_containers(value: Any) -> Any:
    """Copy nested plain dicts and lists; everything else in them stays the same object."""
    if type(value) is dict:
        return {key: _copy_containers(item) for key, item in value.items()}
    if type(value) is list:
        return [_copy_containers(item) for item in value]
    return value
