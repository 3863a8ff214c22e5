"""Finds the service repository `gfs run` works in and reads its `[tool.gfs]` table from pyproject.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from gfs_cli.errors import NotAServiceRepoError
from gfs_runtime.errors.exceptions import ConfigError

PYPROJECT: Final = "pyproject.toml"
_PROVIDER_KEY: Final = "methods-provider"
_CONFIG_KEY: Final = "config"


@dataclass(frozen=True)
class ServiceProject:
    """A repository made by `gfs new`: where it is, which module serves, which config files it reads."""

    root: Path
    methods_provider: str
    config_files: tuple[Path, ...]

    @property
    def source_dir(self) -> Path:
        """The directory holding the service package (`src/`, or the root for a flat layout)."""
        src = self.root / "src"
        return src if src.is_dir() else self.root

    @property
    def watch_dirs(self) -> tuple[Path, ...]:
        """Directories whose changes restart `gfs run --reload`."""
        dirs = [self.source_dir, *{path.parent for path in self.config_files}]
        return tuple(dict.fromkeys(path for path in dirs if path.is_dir()))


def find_project(start: Path) -> ServiceProject:
    """The nearest directory at or above `start` whose pyproject.toml has a `[tool.gfs]` table."""
    start = start.absolute()
    for directory in (start, *start.parents):
        pyproject = directory / PYPROJECT
        if pyproject.is_file():
            table = _read_tool_table(pyproject)
            if table is not None:
                return _parse_project(directory, pyproject, table)
    raise NotAServiceRepoError(
        f"no {PYPROJECT} with a [tool.gfs] table in {start} or above; run `gfs run` inside a repo made by"
        " `gfs new`, or use `gfs start --methods-provider MODULE`"
    )


def _read_tool_table(pyproject: Path) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(pyproject)) from None
    table = data.get("tool", {}).get("gfs")
    if table is not None and not isinstance(table, dict):
        raise ConfigError("must be a table", file=str(pyproject), key="tool.gfs", value=table)
    return table


def _parse_project(root: Path, pyproject: Path, table: dict[str, Any]) -> ServiceProject:
    provider = table.get(_PROVIDER_KEY)
    if not isinstance(provider, str) or not provider.strip():
        raise ConfigError(
            "is missing or empty",
            file=str(pyproject),
            key=f"tool.gfs.{_PROVIDER_KEY}",
            expected="the module holding the @flight_server_methods factory, e.g. 'my_service.service'",
        )
    config = table.get(_CONFIG_KEY, [])
    if not isinstance(config, list) or not all(isinstance(item, str) and item for item in config):
        raise ConfigError(
            "must be a list of file paths",
            file=str(pyproject),
            key=f"tool.gfs.{_CONFIG_KEY}",
            value=config,
            expected="paths relative to the repo, e.g. ['config/server.toml']",
        )
    return ServiceProject(root=root, methods_provider=provider.strip(), config_files=tuple(root / p for p in config))
