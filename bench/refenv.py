"""Creates, on first use, the separate venv that runs the reference library for the benchmark."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pyarrow

REFERENCE_REQUIREMENT = "gooddata-flight-server==1.78.0"
VENV_DIR_NAME = ".venv-bench-ref"
_STAMP_NAME = ".bench-installed"
_INSTALL_TIMEOUT_SEC = 900.0


@dataclass(frozen=True)
class ReferenceEnv:
    """Outcome of preparing the reference venv: its python, or why there is none."""

    python: Path | None
    problem: str | None


def _requirements() -> list[str]:
    """The reference plus the same pyarrow as the bench, so only the runtime differs."""
    return [REFERENCE_REQUIREMENT, f"pyarrow=={pyarrow.__version__}"]


def _last_line(text: str) -> str:
    """The last non-empty line of a tool's output, for a one-line report."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _run_step(argv: list[str]) -> str | None:
    """Runs one install step; returns a one-line problem or None on success."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT_SEC, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{Path(argv[0]).name}: {e}"
    if done.returncode != 0:
        return _last_line(done.stderr or done.stdout)
    return None


def ensure_reference_env(repo_root: Path) -> ReferenceEnv:
    """Returns the reference venv's python, creating and installing it when missing."""
    venv = repo_root / VENV_DIR_NAME
    python = venv / "bin" / "python"
    stamp = venv / _STAMP_NAME
    wanted = "\n".join(_requirements())
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return ReferenceEnv(python=python, problem=None)
    print(f"bench: installing {' '.join(_requirements())} into {VENV_DIR_NAME} (first use only)", file=sys.stderr)
    if not python.exists():
        problem = _run_step([sys.executable, "-m", "venv", str(venv)])
        if problem is not None:
            return ReferenceEnv(python=None, problem=f"venv creation failed: {problem}")
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    problem = _run_step([*pip, *_requirements()])
    if problem is not None:
        return ReferenceEnv(python=None, problem=f"pip install failed: {problem}")
    stamp.write_text(wanted)
    return ReferenceEnv(python=python, problem=None)
