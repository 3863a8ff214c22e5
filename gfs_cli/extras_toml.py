"""Style-preserving TOML edits (tomlkit): the user's comments, order, spacing and quoting stay as they were."""

from __future__ import annotations

import re
from collections.abc import Collection

import tomlkit
import tomlkit.exceptions
from tomlkit.container import Container
from tomlkit.items import AoT, Array, Comment, Table, Trivia

from gfs_cli.extras_model import EditConflictError

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def parse(text: str, path: str) -> tomlkit.TOMLDocument:
    """Parse a TOML file for editing; a malformed file is a conflict to resolve by hand."""
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise EditConflictError(f"{path} is not valid TOML ({exc})") from None


def requirement_name(requirement: str) -> str:
    """The normalised distribution name of a PEP 508 requirement (`PyJWT[crypto]>=2` -> `pyjwt`)."""
    match = _REQUIREMENT_NAME.match(requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def add_dependency(text: str, requirement: str) -> str:
    """Append `requirement` to `[project] dependencies` unless a requirement of that distribution is there."""
    document = parse(text, "pyproject.toml")
    project = document.get("project")
    if not isinstance(project, Table):
        raise EditConflictError("pyproject.toml has no [project] table")
    dependencies = project.get("dependencies")
    if dependencies is None:
        project["dependencies"] = [requirement]
        return tomlkit.dumps(document)
    if not isinstance(dependencies, Array):
        raise EditConflictError("[project] dependencies in pyproject.toml is not a list")
    wanted = requirement_name(requirement)
    if any(isinstance(item, str) and requirement_name(item) == wanted for item in dependencies):
        return text
    dependencies.append(requirement)
    return tomlkit.dumps(document)


def table_of(document: tomlkit.TOMLDocument, name: str, path: str) -> Table:
    """The top-level table `name`, created at the end when missing."""
    table = document.get(name)
    if table is None:
        table = tomlkit.table()
        document[name] = table
    if not isinstance(table, Table):
        raise EditConflictError(f"[{name}] in {path} is not a table")
    return table


def set_value(table: Table, key: str, value: str, *, replaceable: Collection[str], force: bool, where: str) -> None:
    """Set `key` to `value` when it is missing or holds one of the `replaceable` (template) values.

    Any other value is the user's choice: a conflict unless `force`.
    """
    current = table.get(key)
    if current == value:
        return
    if current is not None and current not in replaceable and not force:
        raise EditConflictError(f"{where} {key} is {str(current)!r}, set by you; the extra would set {value!r}")
    table[key] = value


def replace_comment(table: Table, old: str, new: str) -> None:
    """Replace a comment line of the table that reads exactly `old` (as the template wrote it) by `new`."""
    body = table.value.body
    for index, (key, item) in enumerate(body):
        if key is None and isinstance(item, Comment) and item.as_string().strip() == old:
            trivia = Trivia(indent=item.trivia.indent, comment_ws="", comment=new, trail=item.trivia.trail)
            body[index] = (None, Comment(trivia))
            return


def add_table_from_fragment(document: tomlkit.TOMLDocument, name: str, fragment: str) -> bool:
    """Append table `name` (its comments included) from the TOML `fragment` unless the document has one."""
    if name in document:
        return False
    table = tomlkit.parse(fragment).get(name)
    if not isinstance(table, Table | AoT | Container):
        raise ValueError(f"the fragment defines no [{name}] table")
    document[name] = table
    return True
