"""Helpers for the extras tests: file hashes of a repo, and `gfs` run in a directory with its output captured."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from gfs_cli.app import run

PACKAGE = "sales_data"
VERIFIER = f"src/{PACKAGE}/jwt_verifier.py"
PRODUCTION = "deploy/k8s/config/production.toml"
TEMPLATE_TOKEN_COMMENT = (
    "# Tokens come from the Secret referenced in deployment.yaml (GFS_ENUMERATED_TOKENS__TOKENS).\n"
)
JWT_REQUIREMENT_LINE = '    "PyJWT[crypto]>=2.10",\n'
GENERATED_FILES = (
    f"src/{PACKAGE}/jwks.py",
    f"src/{PACKAGE}/jwt_settings.py",
    VERIFIER,
    "tests/jwt_support.py",
    "tests/test_jwks_cache.py",
    "tests/test_jwt_auth.py",
    "tests/test_jwt_settings.py",
)


@dataclass(frozen=True)
class Outcome:
    """Exit code and captured output of one `gfs` run."""

    code: int
    out: str
    err: str


def file_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under `root` by relative path (temporary and backup files included)."""
    hashes = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath, name)
            hashes[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def gfs(cwd: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> Outcome:
    """Run `gfs ARGS` in `cwd` in this process."""
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    code = run(list(args))
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)
