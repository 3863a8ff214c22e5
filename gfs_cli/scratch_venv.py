"""A throw-away virtualenv layered over the current one, to install a generated service in without touching it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Final

_LAYER_PTH: Final = "_gfs_parent_env.pth"
INSTALL_TIMEOUT_SEC: Final = 300.0


def create_layered_venv(path: Path) -> Path:
    """Create a pip-less venv at `path` that also sees this interpreter's packages; return its python."""
    subprocess.run(  # noqa: S603  # this interpreter creating a venv
        [sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=INSTALL_TIMEOUT_SEC
    )
    python = path / "bin" / "python"
    site_packages = subprocess.run(  # noqa: S603  # the new venv's own interpreter
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SEC,
    ).stdout.strip()
    parent = sysconfig.get_paths()["purelib"]
    # an `import` line in a .pth runs at start-up; addsitedir also honours the parent's own .pth files
    # (editable installs), which a plain path line would not
    line = f"import site; site.addsitedir({parent!r})\n"
    Path(site_packages, _LAYER_PTH).write_text(line, encoding="utf-8")
    return python


def install_editable(python: Path, repo: Path) -> None:
    """`pip install --no-deps -e repo` into the venv of `python` (its dependencies come from the parent env)."""
    command = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps"]
    command += ["--disable-pip-version-check", "--no-input"]
    if importlib.util.find_spec("hatchling") is not None:
        command.append("--no-build-isolation")  # hatchling is here already: no index needed, and much faster
    command += ["-e", str(repo)]
    env = {**os.environ, "PIP_NO_INPUT": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SEC, env=env, check=False)  # noqa: S603  # pip
    if result.returncode != 0:
        raise RuntimeError(f"pip install -e {repo} failed:\n{result.stdout}{result.stderr}")
