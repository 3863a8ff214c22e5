"""`gfs add-verifier`: stage an extra in memory, classify every file, then write all of it or nothing.

Each file is classified create / update / identical / conflict / skip (see `FileAction`). New files come
from the extra's template; existing files get merged edits that keep everything else byte for byte.
A file the user changed where the extra writes is a conflict: refused, or with `force` replaced after a
backup. The applied extra is recorded in `.gfs/answers.json` in the same all-or-nothing write.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Final

from gfs_cli.errors import InvalidAnswerError
from gfs_cli.extras_commit import FileWrite, commit_writes
from gfs_cli.extras_jwt import JWT_EXTRA
from gfs_cli.extras_model import (
    EditConflictError,
    Extra,
    ExtraConflictError,
    ExtraError,
    ExtraPlan,
    FileAction,
    FileEdit,
    GeneratedRepo,
    NotAGeneratedRepoError,
    StagedFile,
    UnknownExtraError,
)
from gfs_cli.extras_render import extra_template_version, render_extra_files
from gfs_cli.naming import validate_package, validate_slug
from gfs_cli.scaffold import ANSWERS_FILE, SERVICE_TEMPLATE

EXTRAS_KEY: Final = "extras"
Echo = Callable[[str], None]


def available_extras() -> dict[str, Extra]:
    """Every extra `gfs add-verifier` can add, by kind."""
    return {JWT_EXTRA.kind: JWT_EXTRA}


def find_extra(kind: str) -> Extra:
    """The extra of this kind; UnknownExtraError naming the kinds there are."""
    extras = available_extras()
    if kind not in extras:
        raise UnknownExtraError(f"no verifier kind {kind!r}; there is: {', '.join(sorted(extras))}")
    return extras[kind]


def format_extra_list() -> str:
    """One line per extra kind: its name and what it adds."""
    extras = available_extras()
    width = max(len(kind) for kind in extras)
    return "\n".join(f"{kind:<{width}}  {extras[kind].summary}" for kind in sorted(extras))


def find_generated_repo(start: Path) -> GeneratedRepo:
    """The nearest directory at or above `start` holding `.gfs/answers.json` from `gfs new`."""
    start = start.absolute()
    for directory in (start, *start.parents):
        answers = directory / ANSWERS_FILE
        if answers.is_file():
            return _load_repo(directory, answers)
    raise NotAGeneratedRepoError(
        f"no {ANSWERS_FILE} in {start} or above: extras change repositories made by `gfs new`; run it inside one"
    )


def _load_repo(root: Path, answers: Path) -> GeneratedRepo:
    try:
        record = json.loads(answers.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ExtraError(f"cannot read {answers}: {exc}") from None
    fields = record.get("answers") if isinstance(record, dict) else None
    if not isinstance(fields, dict) or record.get("template") != SERVICE_TEMPLATE:
        raise ExtraError(f"{answers} does not hold the answers of `gfs new`")
    try:
        validate_slug(str(fields.get("project_slug", "")))
        package = validate_package(str(fields.get("package_name", "")))
    except InvalidAnswerError as exc:
        raise ExtraError(f"{answers} holds an answer gfs cannot use: {exc}") from None
    if not (root / "src" / package).is_dir():
        raise ExtraError(f"the service package src/{package}/ named in {answers} is not there")
    return GeneratedRepo(root=root, record=record)


def plan_extra(repo: GeneratedRepo, extra: Extra) -> ExtraPlan:
    """Stage every file of the extra in memory and classify it; nothing is written."""
    rendered = render_extra_files(extra.template, repo)
    written_before = _recorded_hashes(repo, extra.kind)
    staged = [
        _classify_new_file(repo.root, path, content, written_before.get(path)) for path, content in rendered.items()
    ]
    staged += [_classify_edit(repo.root, edit) for edit in extra.edits(repo)]
    hashes = {path: _sha256(content) for path, content in rendered.items()}
    record = partial(_with_extra_recorded, kind=extra.kind, template=extra.template, hashes=hashes)
    staged.append(_classify_edit(repo.root, FileEdit(ANSWERS_FILE.as_posix(), record, summary="records the extra")))
    return ExtraPlan(extra=extra, repo=repo, files=tuple(staged))


def _read(path: Path) -> bytes | None:
    if path.is_dir():
        raise ExtraError(f"{path} is a directory where the extra writes a file")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _recorded_hashes(repo: GeneratedRepo, kind: str) -> Mapping[str, str]:
    """The SHA-256 of each file as an earlier run of this extra wrote it (empty before the first run)."""
    extras = repo.record.get(EXTRAS_KEY)
    entry = extras.get(kind) if isinstance(extras, Mapping) else None
    files = entry.get("files") if isinstance(entry, Mapping) else None
    return files if isinstance(files, Mapping) else {}


def _classify_new_file(root: Path, path: str, content: bytes, written_hash: str | None) -> StagedFile:
    """Create, identical, or: update when the file is as an earlier run wrote it, else a conflict."""
    old = _read(root / path)
    if old is None:
        return StagedFile(path, FileAction.CREATE, None, content)
    if old == content:
        return StagedFile(path, FileAction.IDENTICAL, old, content)
    if written_hash == _sha256(old):
        return StagedFile(path, FileAction.UPDATE, old, content, "unchanged since gfs wrote it; the new version")
    return StagedFile(path, FileAction.CONFLICT, old, content, "differs from what the extra writes")


def _classify_edit(root: Path, edit: FileEdit) -> StagedFile:
    old = _read(root / edit.path)
    if old is None:
        return StagedFile(edit.path, FileAction.SKIP, None, None, f"not found; {edit.summary} left out")
    try:
        text = old.decode("utf-8")
        new = edit.change(text, False).encode("utf-8")
    except (UnicodeDecodeError, EditConflictError) as exc:
        reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
        return StagedFile(edit.path, FileAction.CONFLICT, old, _forced(edit, old), reason)
    action = FileAction.IDENTICAL if new == old else FileAction.UPDATE
    return StagedFile(edit.path, action, old, new, edit.summary if action is FileAction.UPDATE else "")


def _forced(edit: FileEdit, old: bytes) -> bytes | None:
    """What the edit writes with `--force`; None when even that cannot apply (e.g. the file is not valid TOML)."""
    try:
        return edit.change(old.decode("utf-8"), True).encode("utf-8")
    except (UnicodeDecodeError, EditConflictError):
        return None


def _with_extra_recorded(text: str, force: bool, *, kind: str, template: str, hashes: Mapping[str, str]) -> str:
    """`.gfs/answers.json` with the extra and the hashes of its files recorded under "extras" (the rest as it was)."""
    try:
        record: dict[str, Any] = json.loads(text)
    except ValueError:
        raise EditConflictError(f"{ANSWERS_FILE} is not JSON") from None
    entry = {
        "template": f"extras/{template}",
        "template_version": extra_template_version(template),
        "files": dict(sorted(hashes.items())),
    }
    extras = record.get(EXTRAS_KEY)
    if isinstance(extras, Mapping) and extras.get(kind) == entry:
        return text
    record[EXTRAS_KEY] = {**(extras if isinstance(extras, Mapping) else {}), kind: entry}
    return json.dumps(record, indent=2, sort_keys=True) + "\n"


def unified_diff(plan: ExtraPlan) -> str:
    """The change as a unified diff, file by file (a conflict shows what `--force` would write)."""
    chunks: list[str] = []
    for file in plan.files:
        if file.writes and file.new is not None:
            before = "/dev/null" if file.old is None else f"a/{file.path}"
            chunks += difflib.unified_diff(_lines(file.old), _lines(file.new), before, f"b/{file.path}")
    return "".join(chunks)


def _lines(content: bytes | None) -> list[str]:
    lines = (content or b"").decode("utf-8", errors="replace").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def summary_lines(plan: ExtraPlan, backups: Mapping[str, Path] | None = None) -> list[str]:
    """One line per file: its action, its path and why (and where its backup went)."""
    lines = []
    for file in plan.files:
        note = file.note
        if backups and file.path in backups:
            note = f"{note}; replaced, your version is in {backups[file.path].relative_to(plan.repo.root)}"
        lines.append(f"{file.action.value:<9}  {file.path}" + (f"  ({note})" if note else ""))
    return lines


def apply_plan(plan: ExtraPlan, *, force: bool = False) -> dict[str, Path]:
    """Write the staged change all or nothing; return the backups of replaced conflicts by path."""
    stuck = [file.path for file in plan.conflicts if file.new is None]
    if stuck:
        raise ExtraConflictError(f"fix these files by hand first (they cannot be edited): {', '.join(stuck)}")
    if plan.conflicts and not force:
        raise ExtraConflictError(_refusal(plan))
    files = [file for file in plan.files if file.writes and file.new is not None]
    writes = [
        FileWrite(plan.repo.root / file.path, file.new, file.old, backup=file.action is FileAction.CONFLICT)
        for file in files
        if file.new is not None
    ]
    made = iter(commit_writes(writes))
    return {file.path: next(made) for file in files if file.action is FileAction.CONFLICT}


def _refusal(plan: ExtraPlan) -> str:
    listed = "; ".join(f"{file.path} ({file.note})" for file in plan.conflicts)
    return (
        f"nothing was written: {len(plan.conflicts)} file(s) hold your own changes where the {plan.extra.kind}"
        f" extra writes: {listed}. See the change with --dry-run; --force replaces them, keeping backups"
    )


def add_extra(start: Path, kind: str, *, dry_run: bool = False, force: bool = False, echo: Echo = print) -> None:
    """The `gfs add-verifier KIND` command: plan, then show (`dry_run`) or apply the change and report it."""
    extra = find_extra(kind)
    plan = plan_extra(find_generated_repo(start), extra)
    if plan.is_present:
        echo(f"The {kind} verifier is already present in {plan.repo.root}: nothing to do.")
        return
    if dry_run:
        echo(unified_diff(plan).rstrip("\n"))
        echo("\n".join(summary_lines(plan)))
        refused = bool(plan.conflicts) and not force
        echo("Dry run: nothing was written." + (" Without --force the conflicts would be refused." if refused else ""))
        return
    backups = apply_plan(plan, force=force)
    echo("\n".join(summary_lines(plan, backups)))
    echo(f"Added the {kind} verifier to {plan.repo.root}. Next:")
    echo("\n".join(f"  {step}" for step in extra.next_steps(plan.repo)))
