"""Style-preserving TOML edits: only the lines an edit is about change; user choices are conflicts."""

from __future__ import annotations

import pytest

from gfs_cli.extras_jwt import switch_to_jwt
from gfs_cli.extras_model import EditConflictError
from gfs_cli.extras_toml import add_dependency, requirement_name

pytestmark = pytest.mark.timeout(10)

REQUIREMENT = "PyJWT[crypto]>=2.10"
FRAGMENT = '[jwt]\n# documented\nissuer = ""\n'


@pytest.mark.parametrize(
    ("requirement", "name"),
    [("PyJWT[crypto]>=2.10", "pyjwt"), ("pyjwt", "pyjwt"), ("Py_JWT ; python_version>'3'", "py-jwt"), ("", "")],
)
def test_requirement_names_are_normalised(requirement: str, name: str) -> None:
    assert requirement_name(requirement) == name


@pytest.mark.parametrize("present", ['"pyjwt==2.9"', '"PyJWT"', '"PyJWT[crypto] >= 2.8"'])
def test_dependency_on_pyjwt_already_there_is_left_alone(present: str) -> None:
    text = f'[project]\nname = "x"\ndependencies = [{present}]  # pinned\n'

    assert add_dependency(text, REQUIREMENT) == text


def test_dependency_is_appended_to_a_one_line_list() -> None:
    text = '[project]\nname = "x"\ndependencies = ["gfs-flight"]  # runtime\n'

    assert (
        add_dependency(text, REQUIREMENT)
        == f'[project]\nname = "x"\ndependencies = ["gfs-flight", "{REQUIREMENT}"]  # runtime\n'
    )


def test_dependencies_key_is_added_when_missing() -> None:
    assert add_dependency('[project]\nname = "x"\n', REQUIREMENT).endswith(f'dependencies = ["{REQUIREMENT}"]\n')


def test_pyproject_without_a_project_table_is_a_conflict() -> None:
    with pytest.raises(EditConflictError, match=r"\[project\]"):
        add_dependency("[tool.x]\na = 1\n", REQUIREMENT)


def test_malformed_toml_is_a_conflict() -> None:
    with pytest.raises(EditConflictError, match="not valid TOML"):
        add_dependency("[project\n", REQUIREMENT)


def test_own_token_verification_is_a_conflict_unless_forced() -> None:
    text = '[server]\ntoken_verification = "pkg.mine"  # ours\n'

    with pytest.raises(EditConflictError, match=r"pkg\.mine"):
        switch_to_jwt(text, False, module="pkg.jwt_verifier", fragment=FRAGMENT)
    forced = switch_to_jwt(text, True, module="pkg.jwt_verifier", fragment=FRAGMENT)

    assert 'token_verification = "pkg.jwt_verifier"  # ours\n' in forced


def test_auth_turned_off_is_turned_on_and_an_existing_jwt_table_is_kept() -> None:
    text = '[server]\nauthentication_method = "none"\n\n[jwt]\nissuer = "https://mine/"\n'

    switched = switch_to_jwt(text, False, module="pkg.jwt_verifier", fragment=FRAGMENT)

    assert 'authentication_method = "token"\n' in switched
    assert 'token_verification = "pkg.jwt_verifier"\n' in switched
    assert '[jwt]\nissuer = "https://mine/"\n' in switched
    assert "# documented" not in switched
