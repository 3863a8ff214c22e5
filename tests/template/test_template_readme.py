"""The generated README documents running, testing, deploying, and every setting with its env var."""

from __future__ import annotations

import re

import pytest
from template_matrix import Render

from gfs_runtime.config import KNOWN_SERVER_KEYS

pytestmark = pytest.mark.timeout(30)


def test_every_server_setting_is_documented_with_its_env_var(default_render: Render) -> None:
    readme = (default_render.repo / "README.md").read_text(encoding="utf-8")
    rows = {match.group(1): match.group(2) for match in re.finditer(r"^\| `(\w+)` \| `(\w+)` \|", readme, re.M)}

    for key in KNOWN_SERVER_KEYS:
        assert rows.get(key) == f"GFS_SERVER__{key.upper()}", key
    assert "GFS_ENUMERATED_TOKENS__TOKENS" in readme


def test_service_settings_are_documented_with_their_env_vars(default_render: Render) -> None:
    readme = (default_render.repo / "README.md").read_text(encoding="utf-8")
    prefix = f"GFS_{default_render.answers.package.upper()}__"

    assert f"`{prefix}ROW_LIMIT`" in readme
    assert f"`{prefix}DATA_DIR`" in readme


@pytest.mark.parametrize("heading", ["## Run", "## Test", "## Configure", "## Deploy", "## Add a token verifier"])
def test_readme_has_the_section(default_render: Render, heading: str) -> None:
    assert f"\n{heading}\n" in (default_render.repo / "README.md").read_text(encoding="utf-8")


def test_readme_commands_match_the_makefile_targets(default_render: Render) -> None:
    readme = (default_render.repo / "README.md").read_text(encoding="utf-8")
    makefile = (default_render.repo / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z]+):", makefile, re.M))

    for target in re.findall(r"^make (\w+)", readme, re.M):
        assert target in targets
