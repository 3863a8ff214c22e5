"""The service's own settings: its table in the config files (named after the package), checked at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

SECTION: Final = "{{ cookiecutter.package_name }}"
DEFAULT_ROW_LIMIT: Final = 10_000


@dataclass(frozen=True)
class ServiceSettings:
    """Settings of this service; env vars GFS_<PACKAGE>__<KEY> (package name in upper case) override the files."""

    row_limit: int = DEFAULT_ROW_LIMIT
    data_dir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> ServiceSettings:
        """Read and check the section from the server's Dynaconf settings (`ctx.settings`)."""
        section = settings.get(SECTION) or {}
        row_limit = section.get("row_limit", DEFAULT_ROW_LIMIT)
        if isinstance(row_limit, bool) or not isinstance(row_limit, int) or row_limit < 1:
            raise ValueError(f"[{SECTION}] row_limit must be a whole number >= 1, got {row_limit!r}")
        data_dir = section.get("data_dir") or None
        if data_dir is not None and not Path(str(data_dir)).is_dir():
            raise ValueError(f"[{SECTION}] data_dir {str(data_dir)!r} is not a directory")
        return cls(row_limit=row_limit, data_dir=Path(str(data_dir)) if data_dir else None)
