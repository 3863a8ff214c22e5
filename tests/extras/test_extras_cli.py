"""`gfs add-verifier jwt` on a repo made by `gfs new`: classified, idempotent, never clobbering, all or nothing."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import tomllib
from pathlib import Path

import pytest
from extras_support import (
    GENERATED_FILES,
    JWT_REQUIREMENT_LINE,
    PACKAGE,
    PRODUCTION,
    TEMPLATE_TOKEN_COMMENT,
    VERIFIER,
    file_hashes,
    gfs,
)

from gfs_cli.scaffold import ServiceAnswers, render_service

pytestmark = pytest.mark.timeout(30)

Capsys = pytest.CaptureFixture[str]
MonkeyPatch = pytest.MonkeyPatch


def test_apply_creates_the_verifier_switches_production_auth_and_records_the_extra(
    repo: Path, capsys: Capsys, monkeypatch: MonkeyPatch
) -> None:
    outcome = gfs(repo, capsys, monkeypatch, "add-verifier", "jwt")

    assert outcome.code == 0, outcome.err
    for path in GENERATED_FILES:
        assert (repo / path).is_file()
        assert f"create     {path}" in outcome.out
    production = tomllib.loads((repo / PRODUCTION).read_text(encoding="utf-8"))
    assert production["server"]["token_verification"] == f"{PACKAGE}.jwt_verifier"
    assert production["server"]["authentication_method"] == "token"
    assert production["jwt"]["issuer"] == ""
    pyproject = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    assert "PyJWT[crypto]>=2.10" in pyproject["project"]["dependencies"]
    record = json.loads((repo / ".gfs" / "answers.json").read_text(encoding="utf-8"))
    assert record["extras"]["jwt"]["template"] == "extras/verifier-jwt"
    assert record["answers"]["package_name"] == PACKAGE


def test_second_apply_changes_no_file_and_says_already_present(
    repo: Path, capsys: Capsys, monkeypatch: MonkeyPatch
) -> None:
    gfs(repo, capsys, monkeypatch, "add-verifier", "jwt")
    after_first = file_hashes(repo)

    outcome = gfs(repo, capsys, monkeypatch, "add-verifier", "jwt")

    assert outcome.code == 0
    assert "already present" in outcome.out
    assert file_hashes(repo) == after_first


def test_apply_from_a_subdirectory_finds_the_repo(repo: Path, capsys: Capsys, monkeypatch: MonkeyPatch) -> None:
    outcome = gfs(repo / "src" / PACKAGE, capsys, monkeypatch, "add-verifier", "jwt")

    assert outcome.code == 0, outcome.err
    assert (repo / VERIFIER).is_file()


def edit(path: Path, old: str, new: str) -> str:
    text = path.read_text(encoding="utf-8")
    assert old in text
    edited = text.replace(old, new, 1)
    path.write_text(edited, encoding="utf-8")
    return edited


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """(lines removed, lines added) going from `before` to `after`."""
    removed: list[str] = []
    added: list[str] = []
    old_lines, new_lines = before.splitlines(True), after.splitlines(True)
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if tag != "equal":
            removed += old_lines[a_start:a_end]
            added += new_lines[b_start:b_end]
    return removed, added


def test_user_edits_to_config_and_pyproject_stay_byte_identical_with_their_comments(
    repo: Path, capsys: Capsys, monkeypatch: MonkeyPatch
) -> None:
    pyproject = edit(
        repo / "pyproject.toml",
        '    "gfs-flight>=0.1.0",\n]',
        '    "gfs-flight>=0.1.0",\n    # reports need pandas\n    "pandas>=2.1",   # pinned by ops\n]\n# my note\n',
    )
    production = edit(
        repo / PRODUCTION, "task_threads = 16", "task_threads   =  64  # sized for the big nodes\n# keep this"
    )
    production = edit(repo / PRODUCTION, "[server]", "[custom]\nflag = true # mine\n\n[server]")

    outcome = gfs(repo, capsys, monkeypatch, "add-verifier", "jwt")

    assert outcome.code == 0, outcome.err
    removed, added = changed_lines(pyproject, (repo / "pyproject.toml").read_text(encoding="utf-8"))
    assert removed == []
    assert added == [JWT_REQUIREMENT_LINE]
    new_production = (repo / PRODUCTION).read_text(encoding="utf-8")
    removed, added = changed_lines(production, new_production)
    assert removed == [TEMPLATE_TOKEN_COMMENT, 'token_verification = "EnumeratedTokenVerification"\n']
    assert f'token_verification = "{PACKAGE}.jwt_verifier"\n' in added
    assert "task_threads   =  64  # sized for the big nodes\n# keep this\n" in new_production
    assert "[custom]\nflag = true # mine\n" in new_production


def test_user_files_in_the_way_are_refused_with_their_list_and_nothing_is_written(
    repo: Path, capsys: Capsys, monkeypatch: MonkeyPatch
) -> None:
    (repo / VERIFIER).write_text("# my own verifier\n", encoding="utf-8")
    edit(repo / PRODUCTION, '"EnumeratedTokenVerification"', f'"{PACKAGE}.my_auth"')
    before = file_hashes(repo)

    outcome = gfs(repo, capsys, monkeypatch, "add-verifier", "jwt")

    assert outcome.code == 1
    assert len(outcome.err.strip().splitlines()) == 1
    assert VERIFIER in outcome.err
    assert PRODUCTION in outcome.err
    assert "--force" in outcome.err
    assert file_hashes(repo) == before


def test_force_replaces_conflicting_files_and_keeps_backups(
    repo: Path, capsys: Capsys, monkeypatch: MonkeyPatch
) -> None:
    (repo / VERIFIER).write_text("# my own verifier\n", encoding="utf-8")

    outcome = gfs(repo, capsys, monkeypatch, "add-verifier", "jwt", "--force")

    assert outcome.code == 0, outcome.err
    backup = repo / f"{VERIFIER}.gfs-backup"
    assert backup.read_text(encoding="utf-8") == "# my own verifier\n"
    assert f"{VERIFIER}.gfs-backup" in outcome.out
    assert "class JwtVerification" in (repo / VERIFIER).read_text(encoding="utf-8")


def test_dry_run_prints_a_unified_diff_and_writes_nothing(repo: Path, capsys: Capsys, monkeypatch: MonkeyPatch) -> None:
    before = file_hashes(repo)

    outcome = gfs(repo, capsys, monkeypatch, "add-verifier", "jwt", "--dry-run")

    assert outcome.code == 0, outcome.err
    assert file_hashes(repo) == before
    assert f"--- /dev/null\n+++ b/{VERIFIER}\n" in outcome.out
    assert f"--- a/{PRODUCTION}\n+++ b/{PRODUCTION}\n" in outcome.out
    assert f"-{TEMPLATE_TOKEN_COMMENT}" in outcome.out
    assert f"+{JWT_REQUIREMENT_LINE}" in outcome.out
    assert "nothing was written" in outcome.out


def test_dry_run_with_conflicts_shows_them_and_writes_nothing(
    repo: Path, capsys: Capsys, monkeypatch: MonkeyPatch
) -> None:
    (repo / VERIFIER).write_text("# my own verifier\n", encoding="utf-8")
    before = file_hashes(repo)

    outcome = gfs(repo, capsys, monkeypatch, "add-verifier", "jwt", "--dry-run")

    assert outcome.code == 0
    assert f"conflict   {VERIFIER}" in outcome.out
    assert "-# my own verifier\n" in outcome.out
    assert file_hashes(repo) == before


def test_outside_a_generated_repo_is_refused(tmp_path: Path, capsys: Capsys, monkeypatch: MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "not-generated"\n', encoding="utf-8")
    before = file_hashes(tmp_path)

    outcome = gfs(tmp_path, capsys, monkeypatch, "add-verifier", "jwt")

    assert outcome.code == 1
    assert ".gfs/answers.json" in outcome.err
    assert "gfs new" in outcome.err
    assert file_hashes(tmp_path) == before


def test_missing_production_config_is_skipped_and_the_rest_applied(
    repo: Path, capsys: Capsys, monkeypatch: MonkeyPatch
) -> None:
    (repo / PRODUCTION).unlink()

    outcome = gfs(repo, capsys, monkeypatch, "add-verifier", "jwt")
    again = gfs(repo, capsys, monkeypatch, "add-verifier", "jwt")

    assert outcome.code == 0, outcome.err
    assert f"skip       {PRODUCTION}  (not found" in outcome.out
    assert (repo / VERIFIER).is_file()
    assert not (repo / PRODUCTION).exists()
    assert "already present" in again.out


WRITES = len(GENERATED_FILES) + 3  # the new files, pyproject.toml, production.toml, .gfs/answers.json


@pytest.mark.parametrize("fail_at", [2, WRITES])
@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_run_interrupted_in_the_middle_of_the_commit_leaves_every_file_as_it_was(
    repo: Path, capsys: Capsys, monkeypatch: MonkeyPatch, failure: BaseException, fail_at: int
) -> None:
    before = file_hashes(repo)
    real_replace = os.replace
    calls = []

    def replace_failing_once(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(Path(dst).relative_to(repo).as_posix())
        if len(calls) == fail_at:
            raise failure
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_failing_once)

    outcome = gfs(repo, capsys, monkeypatch, "add-verifier", "jwt")

    assert outcome.code == (130 if isinstance(failure, KeyboardInterrupt) else 1)
    if fail_at == WRITES:
        assert calls[fail_at - 1] == ".gfs/answers.json"
        assert "pyproject.toml" in calls[fail_at:]  # replaced, then put back
    assert file_hashes(repo) == before


def test_list_names_the_jwt_verifier(tmp_path: Path, capsys: Capsys, monkeypatch: MonkeyPatch) -> None:
    outcome = gfs(tmp_path, capsys, monkeypatch, "add-verifier", "--list")

    assert outcome.code == 0
    assert outcome.out.startswith("jwt ")
    assert "JWKS" in outcome.out


def test_unknown_kind_is_refused_naming_the_kinds(repo: Path, capsys: Capsys, monkeypatch: MonkeyPatch) -> None:
    before = file_hashes(repo)

    outcome = gfs(repo, capsys, monkeypatch, "add-verifier", "saml")

    assert outcome.code == 1
    assert "jwt" in outcome.err
    assert file_hashes(repo) == before


def test_missing_kind_is_a_usage_error(repo: Path, capsys: Capsys, monkeypatch: MonkeyPatch) -> None:
    assert gfs(repo, capsys, monkeypatch, "add-verifier").code == 2


def test_package_named_like_the_jwt_library_is_refused(
    tmp_path: Path, capsys: Capsys, monkeypatch: MonkeyPatch
) -> None:
    repo = render_service(ServiceAnswers.create("jwt"), tmp_path)
    before = file_hashes(repo)

    outcome = gfs(repo, capsys, monkeypatch, "add-verifier", "jwt")

    assert outcome.code == 1
    assert "hides the library" in outcome.err
    assert file_hashes(repo) == before


def test_file_edited_after_an_earlier_run_is_a_conflict(repo: Path, capsys: Capsys, monkeypatch: MonkeyPatch) -> None:
    gfs(repo, capsys, monkeypatch, "add-verifier", "jwt")
    with (repo / VERIFIER).open("a", encoding="utf-8") as handle:
        handle.write("# tuned by me\n")
    before = file_hashes(repo)

    outcome = gfs(repo, capsys, monkeypatch, "add-verifier", "jwt")

    assert outcome.code == 1
    assert VERIFIER in outcome.err
    assert file_hashes(repo) == before


def test_file_left_as_an_earlier_version_wrote_it_is_updated_without_a_conflict(
    repo: Path, capsys: Capsys, monkeypatch: MonkeyPatch
) -> None:
    gfs(repo, capsys, monkeypatch, "add-verifier", "jwt")
    older = b'"""What an earlier version of the template wrote."""\n'
    (repo / VERIFIER).write_bytes(older)
    answers = repo / ".gfs" / "answers.json"
    record = json.loads(answers.read_text(encoding="utf-8"))
    record["extras"]["jwt"]["files"][VERIFIER] = hashlib.sha256(older).hexdigest()
    answers.write_text(json.dumps(record), encoding="utf-8")

    outcome = gfs(repo, capsys, monkeypatch, "add-verifier", "jwt")

    assert outcome.code == 0, outcome.err
    assert f"update     {VERIFIER}" in outcome.out
    assert "class JwtVerification" in (repo / VERIFIER).read_text(encoding="utf-8")
    assert not list(repo.rglob("*.gfs-backup*"))
