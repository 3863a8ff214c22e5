"""Loads settings from TOML files, environment variables and overrides, merging key by key.

The result is plain data; the Dynaconf view of it is built only when something asks for it (``ctx.settings``),
or at once when the values use Dynaconf's converters (``@int``, ``@format``...), which only Dynaconf can apply.
"""

from __future__ import annotations

import os
import threading
import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from gfs_runtime.config.dynaconf_settings import (
    OVERRIDES_SOURCE,
    boolean_fix,
    complete_dynaconf,
    configures_dynaconf,
    dynaconf_class,
    has_converter_values,
    is_converter_value,
    is_plain_top_level_key,
    new_dynaconf,
    parse_env_value,
    parse_with_dynaconf,
)
from gfs_runtime.config.merging import MergedData, expand_dotted_keys
from gfs_runtime.errors.exceptions import ConfigError

if TYPE_CHECKING:
    from dynaconf import Dynaconf

__all__ = [
    "ENV_PREFIXES",
    "Dynaconf",
    "LoadedSettings",
    "load_merged_settings",
    "load_settings",
    "load_settings_with_sources",
    "section_values",
]

ENV_PREFIXES: Final[tuple[str, ...]] = ("GOODDATA_FLIGHT_", "GFS_")
"""Environment variable prefixes, weakest first: the reference's legacy prefix, then gfs's own."""

_NESTING_SEPARATOR: Final = "__"
_OTHER_FORMATS: Final = (".yaml", ".yml", ".json", ".ini", ".py", ".env")

ConfigPath = str | os.PathLike[str]
EnvEntry = tuple[str, tuple[str, ...], str]


class LoadedSettings:
    """Merged settings as plain nested data with each key's source; `dynaconf` builds their Dynaconf once."""

    __slots__ = ("_data", "_dynaconf", "_lock", "_requires_dynaconf", "_sources")

    def __init__(
        self, data: Mapping[str, Any], sources: Mapping[str, str], *, dynaconf: Dynaconf | None = None
    ) -> None:
        self._data = data
        self._sources = sources
        self._requires_dynaconf = dynaconf is not None
        self._dynaconf = dynaconf
        self._lock = threading.Lock()

    @property
    def data(self) -> Mapping[str, Any]:
        """The merged settings as nested dicts, as written (converter strings unapplied); do not change it."""
        return self._data

    @property
    def sources(self) -> Mapping[str, str]:
        """Where each dotted key (lower case) was last set: a file path, ``env NAME`` or ``overrides``."""
        return self._sources

    @property
    def requires_dynaconf(self) -> bool:
        """True when only Dynaconf reads these settings right (converters, or Dynaconf's own env vars are set)."""
        return self._requires_dynaconf

    def dynaconf(self) -> Dynaconf:
        """The settings as a Dynaconf, built on the first call (from any thread) and the same object after."""
        built = self._dynaconf
        if built is None:
            with self._lock:
                if self._dynaconf is None:
                    self._dynaconf = complete_dynaconf(new_dynaconf(), self._data, self._sources)
                built = self._dynaconf
        return built

    def view(self) -> Dynaconf | Mapping[str, Any]:
        """What to read values from: the Dynaconf when `requires_dynaconf`, else the plain data."""
        return self.dynaconf() if self._requires_dynaconf else self._data

    def __repr__(self) -> str:
        """Table names only: values may be secrets."""
        built = "built" if self._dynaconf is not None else "not built"
        return f"LoadedSettings(tables={sorted(self._data)!r}, dynaconf {built})"


def load_merged_settings(
    config_files: Sequence[ConfigPath] = (), overrides: Mapping[str, Any] | None = None
) -> LoadedSettings:
    """Load settings from files, then env (GOODDATA_FLIGHT_ < GFS_), then overrides, without Dynaconf if possible."""
    merged = MergedData()
    for path in _as_file_list(config_files):
        name = os.fspath(path)
        merged.merge(_read_toml_file(name), source=name)
    # Dynaconf's own env vars (e.g. LOAD_DOTENV_FOR_DYNACONF) act when it is created, before env is read
    settings = new_dynaconf() if any(map(configures_dynaconf, os.environ)) else None
    entries = _environment_entries(os.environ)
    if settings is None and any(is_converter_value(boolean_fix(value)) for _, _, value in entries):
        settings = new_dynaconf()
    _merge_environment(merged, entries, settings)
    if overrides:
        merged.merge(expand_dotted_keys(overrides), source=OVERRIDES_SOURCE)
    if settings is None and not _needs_dynaconf(merged.data):
        return LoadedSettings(merged.data, merged.sources)
    settings = complete_dynaconf(settings or new_dynaconf(), merged.data, merged.sources)
    return LoadedSettings(merged.data, merged.sources, dynaconf=settings)


def load_settings(config_files: Sequence[ConfigPath] = (), overrides: Mapping[str, Any] | None = None) -> Dynaconf:
    """Load settings from files, then env (GOODDATA_FLIGHT_ < GFS_), then overrides; return the Dynaconf."""
    return load_merged_settings(config_files, overrides).dynaconf()


def load_settings_with_sources(
    config_files: Sequence[ConfigPath] = (), overrides: Mapping[str, Any] | None = None
) -> tuple[Dynaconf, dict[str, str]]:
    """Like `load_settings`, also returning where each dotted key (lower case) was last set."""
    loaded = load_merged_settings(config_files, overrides)
    return loaded.dynaconf(), dict(loaded.sources)


def section_values(
    settings: Dynaconf | Mapping[str, Any],
    section: str,
    sources: Mapping[str, str] | None = None,
    secret_keys: Collection[str] = (),
) -> dict[str, Any] | None:
    """Return one top-level table (found case-insensitively) as a plain dict with lower-case keys; None if absent."""
    sources = sources or {}
    table = _top_level_value(settings, section) if isinstance(settings, Mapping) else settings.get(section)
    if table is None:
        return None
    if not isinstance(table, Mapping):
        source = sources.get(section.lower())
        raise ConfigError("must be a table", file=source, key=section, value=table, expected=f"a [{section}] table")
    values: dict[str, Any] = {}
    for key in table:
        name = str(key).lower()
        try:
            values[name] = table.get(key)
        except Exception as exc:  # Dynaconf raises plain exceptions for @format/@jinja values
            detail = type(exc).__name__ if name in secret_keys else str(exc)
            dotted = f"{section}.{name}"
            raise ConfigError(f"cannot evaluate the value: {detail}", file=sources.get(dotted), key=dotted) from None
    return values


if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        """``Dynaconf`` is imported only when asked for (PEP 562)."""
        if name == "Dynaconf":
            return dynaconf_class()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _top_level_value(data: Mapping[str, Any], name: str) -> Any:
    """A top-level value looked up as Dynaconf does: the key's case does not matter."""
    folded = name.upper()
    return next((value for key, value in data.items() if str(key).upper() == folded), None)


def _needs_dynaconf(data: Mapping[str, Any]) -> bool:
    return not all(is_plain_top_level_key(key) for key in data) or has_converter_values(data)


def _merge_environment(merged: MergedData, entries: Iterable[EnvEntry], settings: Dynaconf | None) -> None:
    """Merge the env entries; with a Dynaconf (a value uses a converter) each is parsed by Dynaconf itself."""
    for env_name, env_path, env_value in entries:
        source = f"env {env_name}"
        if settings is None:
            value = parse_env_value(env_value)
        else:
            value = parse_with_dynaconf(settings, boolean_fix(env_value), tomlfy=True, source=source, path=env_path)
        merged.set_path(env_path, value, source=source)


def _as_file_list(config_files: Sequence[ConfigPath] | ConfigPath) -> list[ConfigPath]:
    if isinstance(config_files, str | os.PathLike):
        return [config_files]
    return list(config_files)


def _read_toml_file(name: str) -> dict[str, Any]:
    if name.lower().endswith(_OTHER_FORMATS):
        raise ConfigError("unsupported config file type", file=name, expected="a TOML file")
    try:
        with open(name, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise ConfigError("config file does not exist", file=name) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a config file", file=name) from None
    except PermissionError:
        raise ConfigError("config file is not readable (permission denied)", file=name) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror or exc}", file=name) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file is not UTF-8 text (bad byte at offset {exc.start})", file=name) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"malformed TOML: {exc}", file=name) from None


def _environment_entries(environ: Mapping[str, str]) -> list[EnvEntry]:
    """Env vars carrying settings, ordered so later entries win: legacy prefix first, shallow keys first."""
    entries: list[tuple[int, int, str, tuple[str, ...], str]] = []
    for rank, prefix in enumerate(ENV_PREFIXES):
        for name, value in environ.items():
            if not name.startswith(prefix) or len(name) == len(prefix):
                continue
            parts = tuple(part.lower() for part in name[len(prefix) :].split(_NESTING_SEPARATOR))
            if all(parts):
                entries.append((rank, len(parts), name, parts, value))
    entries.sort()
    return [(name, parts, value) for _, _, name, parts, value in entries]
