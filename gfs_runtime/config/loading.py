"""Builds the Dynaconf settings from TOML files, environment variables and overrides, merging key by key."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Collection, Iterable, Mapping, MutableMapping, Sequence
from typing import Any, Final

from dynaconf import Dynaconf
from dynaconf.utils.parse_conf import boolean_fix, parse_conf_data

from gfs_runtime.errors.exceptions import ConfigError

__all__ = ["ENV_PREFIXES", "Dynaconf", "load_settings", "load_settings_with_sources", "section_values"]

ENV_PREFIXES: Final[tuple[str, ...]] = ("GOODDATA_FLIGHT_", "GFS_")
"""Environment variable prefixes, weakest first: the reference's legacy prefix, then gfs's own."""

_NESTING_SEPARATOR: Final = "__"
_OVERRIDES_SOURCE: Final = "overrides"
# Dynaconf's merge markers, honoured for files written for the reference: as a table key (tables merge here
# anyway) or as a list item, which appends the list to the one before it (``_unique``: without duplicates).
_MERGE_MARKERS: Final = frozenset({"dynaconf_merge", "dynaconf_merge_unique"})
_OTHER_FORMATS: Final = (".yaml", ".yml", ".json", ".ini", ".py", ".env")

ConfigPath = str | os.PathLike[str]


def load_settings(config_files: Sequence[ConfigPath] = (), overrides: Mapping[str, Any] | None = None) -> Dynaconf:
    """Load settings from files, then env (GOODDATA_FLIGHT_ < GFS_), then overrides; return the Dynaconf."""
    settings, _ = load_settings_with_sources(config_files, overrides)
    return settings


def load_settings_with_sources(
    config_files: Sequence[ConfigPath] = (), overrides: Mapping[str, Any] | None = None
) -> tuple[Dynaconf, dict[str, str]]:
    """Like `load_settings`, also returning where each dotted key (lower case) was last set."""
    merged = _MergedData()
    for path in _as_file_list(config_files):
        name = os.fspath(path)
        merged.merge(_read_toml_file(name), source=name)
    settings = Dynaconf(environments=False, envvar_prefix="GFS", loaders=[])
    for env_name, env_path, env_value in _environment_entries(os.environ):
        source = f"env {env_name}"
        value = _parse_value(settings, boolean_fix(env_value), tomlfy=True, source=source, path=env_path)
        merged.set_path(env_path, value, source=source)
    if overrides:
        merged.merge(_expand_dotted_keys(overrides), source=_OVERRIDES_SOURCE)
    if merged.data:
        _check_markers(settings, merged.data, (), merged.sources)
        settings.update(merged.data)
    return settings, merged.sources


def section_values(
    settings: Dynaconf,
    section: str,
    sources: Mapping[str, str] | None = None,
    secret_keys: Collection[str] = (),
) -> dict[str, Any] | None:
    """Return one top-level table as a plain dict with lower-case keys; None when the table is absent."""
    sources = sources or {}
    table = settings.get(section)
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


def _parse_value(settings: Dynaconf, value: Any, *, tomlfy: bool, source: str, path: tuple[str, ...]) -> Any:
    """Apply Dynaconf's value parsing (TOML for env values, ``@int``/``@json``/... markers) with clean errors."""
    try:
        return parse_conf_data(value, tomlfy=tomlfy, box_settings=settings)
    except Exception as exc:  # Dynaconf's parse errors are plain Exceptions
        marker = value.split(maxsplit=1)[0] if isinstance(value, str) and value.startswith("@") else "value"
        # The exception text echoes the value, which may be a secret: name the marker only.
        problem = f"is a Dynaconf {marker} value that cannot be parsed ({type(exc).__name__})"
        raise ConfigError(problem, file=source, key=".".join(path)) from None


def _check_markers(
    settings: Dynaconf, data: Mapping[str, Any], prefix: tuple[str, ...], sources: Mapping[str, str]
) -> None:
    """Fail early, naming key and source, on ``@marker`` strings Dynaconf would not be able to parse."""
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping):
            _check_markers(settings, value, path, sources)
        elif isinstance(value, str) and value.startswith("@"):
            source = sources.get(".".join(path).lower(), _OVERRIDES_SOURCE)
            _parse_value(settings, value, tomlfy=False, source=source, path=path)


def _environment_entries(environ: Mapping[str, str]) -> list[tuple[str, tuple[str, ...], str]]:
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


def _expand_dotted_keys(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Turn {"server.listen_port": 0} into {"server": {"listen_port": 0}}; nested mappings stay as given."""
    expanded: dict[str, Any] = {}
    for key, value in overrides.items():
        *parents, leaf = str(key).split(".")
        target = expanded
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return expanded


class _MergedData:
    """Nested settings data merged key by key (tables merge, anything else replaces), with provenance."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.sources: dict[str, str] = {}

    def merge(self, incoming: Mapping[str, Any], *, source: str) -> None:
        """Merge a whole document (a file's tables, or overrides) into the data."""
        self._merge_into(self.data, incoming, (), source)

    def set_path(self, path: tuple[str, ...], value: Any, *, source: str) -> None:
        """Set one nested key, creating (or replacing non-table) parents on the way."""
        target = self.data
        for depth, part in enumerate(path[:-1]):
            key = _matching_key(target, part)
            if not isinstance(target.get(key), MutableMapping):
                target[key] = {}
                self._record(path[: depth + 1], source)
            target = target[key]
        self._merge_into(target, {path[-1]: value}, path[:-1], source)

    def _merge_into(
        self, target: MutableMapping[str, Any], incoming: Mapping[str, Any], prefix: tuple[str, ...], source: str
    ) -> None:
        for raw_key, value in incoming.items():
            if str(raw_key).lower() in _MERGE_MARKERS:
                continue
            key = _matching_key(target, str(raw_key))
            path = (*prefix, key)
            self._record(path, source)
            if isinstance(value, Mapping):
                if not isinstance(target.get(key), MutableMapping):
                    target[key] = {}
                self._merge_into(target[key], value, path, source)
            elif isinstance(value, list) and _MERGE_MARKERS.intersection(map(str, value)):
                target[key] = _merged_list(target.get(key), value)
            else:
                target[key] = value

    def _record(self, path: Iterable[str], source: str) -> None:
        self.sources[".".join(path).lower()] = source


def _matching_key(table: Mapping[str, Any], key: str) -> str:
    """Keys match case-insensitively (as Dynaconf looks them up); the first spelling seen is kept."""
    if key in table:
        return key
    folded = key.lower()
    return next((existing for existing in table if existing.lower() == folded), key)


def _merged_list(existing: Any, incoming: list[Any]) -> list[Any]:
    items = [item for item in incoming if str(item) not in _MERGE_MARKERS]
    if not isinstance(existing, list):
        return items
    if "dynaconf_merge_unique" in map(str, incoming):
        return [*existing, *(item for item in items if item not in existing)]
    return [*existing, *items]
