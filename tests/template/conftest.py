"""Renders of the service template over a matrix of answers, shared by the template tests of one session."""

from __future__ import annotations

import time

import pytest
from template_matrix import MATRIX, Render

from gfs_cli.scaffold import render_service


@pytest.fixture(scope="session")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Render]:
    """Every answer set of the matrix rendered once into its own directory, with the time it took."""
    results = {}
    for label, answers in MATRIX.items():
        started = time.perf_counter()
        repo = render_service(answers, tmp_path_factory.mktemp(label))
        results[label] = Render(label=label, answers=answers, repo=repo, seconds=time.perf_counter() - started)
    return results


@pytest.fixture(scope="session")
def default_render(renders: dict[str, Render]) -> Render:
    """The render with the default answers (`my-service`)."""
    return renders["default"]
