"""The service's own settings are checked when the server starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.settings import (
    DEFAULT_ROW_LIMIT,
    SECTION,
    ServiceSettings,
)


def test_missing_section_gives_the_defaults() -> None:
    assert ServiceSettings.from_settings({}) == ServiceSettings(row_limit=DEFAULT_ROW_LIMIT, data_dir=None)


@pytest.mark.parametrize("row_limit", [0, -1, "10", 1.5, True])
def test_row_limit_that_is_not_a_positive_whole_number_is_refused(row_limit: object) -> None:
    with pytest.raises(ValueError, match="row_limit"):
        ServiceSettings.from_settings({SECTION: {"row_limit": row_limit}})


def test_data_dir_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="data_dir"):
        ServiceSettings.from_settings({SECTION: {"data_dir": str(tmp_path / "missing")}})


def test_data_dir_is_taken_when_it_exists(tmp_path: Path) -> None:
    assert ServiceSettings.from_settings({SECTION: {"data_dir": str(tmp_path)}}).data_dir == tmp_path
