"""Settings documents merged key by key (tables merge, anything else replaces), remembering each key's source."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, Final

__all__ = ["MergedData", "expand_dotted_keys"]

# Dynaconf's merge markers, honoured for files written for the reference: as a table key (tables merge here
# anyway) or as a list item, which appends the list to the one before it (``_unique``: without duplicates).
_MERGE_MARKERS: Final = frozenset({"dynaconf_merge", "dynaconf_merge_unique"})


def expand_dotted_keys(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Turn {"server.listen_port": 0} into {"server": {"listen_port": 0}}; nested mappings stay as given."""
    expanded: dict[str, Any] = {}
    for key, value in overrides.items():
        *parents, leaf = str(key).split(".")
        target = expanded
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return expanded


class MergedData:
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
