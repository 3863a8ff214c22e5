"""The `jwt` extra: a hardened JWT/JWKS token verifier, its tests, its `[jwt]` settings and the PyJWT dependency."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Final

import tomlkit

from gfs_cli.extras_model import Extra, ExtraError, FileEdit, GeneratedRepo
from gfs_cli.extras_render import read_fragment
from gfs_cli.extras_toml import add_dependency, add_table_from_fragment, parse, replace_comment, set_value, table_of

TEMPLATE: Final = "verifier-jwt"
JWT_REQUIREMENT: Final = "PyJWT[crypto]>=2.10"
PRODUCTION_CONFIG: Final = "deploy/k8s/config/production.toml"
SECTION: Final = "jwt"
_IMPORTED_LIBRARIES: Final = frozenset({"jwt", "cryptography"})  # a package of that name would hide the library
_BUILT_IN_VERIFIER: Final = "EnumeratedTokenVerification"
_TEMPLATE_AUTH_COMMENT: Final = (
    "# Tokens come from the Secret referenced in deployment.yaml (GFS_ENUMERATED_TOKENS__TOKENS)."
)


def verifier_module(repo: GeneratedRepo) -> str:
    """The module `token_verification` names: the verifier generated into the service's package."""
    return f"{repo.package}.jwt_verifier"


def switch_to_jwt(text: str, force: bool, *, module: str, fragment: str) -> str:
    """Turn on token auth with the JWT verifier in a config file and add its documented `[jwt]` table."""
    document = parse(text, PRODUCTION_CONFIG)
    server = table_of(document, "server", PRODUCTION_CONFIG)
    # "none" is replaced too: turning authentication on is what the extra is asked for
    set_value(server, "authentication_method", "token", replaceable={"none"}, force=force, where="[server]")
    set_value(server, "token_verification", module, replaceable={_BUILT_IN_VERIFIER, ""}, force=force, where="[server]")
    replace_comment(server, _TEMPLATE_AUTH_COMMENT, f"# Tokens are JWTs, checked by {module} with the [jwt] settings.")
    add_table_from_fragment(document, SECTION, fragment)
    return tomlkit.dumps(document)


def jwt_edits(repo: GeneratedRepo) -> Sequence[FileEdit]:
    """The dependency in pyproject.toml and the production config switched to the JWT verifier."""
    if repo.package in _IMPORTED_LIBRARIES:
        raise ExtraError(f"the service package is named {repo.package!r}, which hides the library the verifier needs")
    module = verifier_module(repo)
    return (
        FileEdit(
            "pyproject.toml",
            lambda text, force: add_dependency(text, JWT_REQUIREMENT),
            summary=f"dependency {JWT_REQUIREMENT}",
        ),
        FileEdit(
            PRODUCTION_CONFIG,
            partial(switch_to_jwt, module=module, fragment=read_fragment(TEMPLATE, f"{SECTION}.toml")),
            summary=f"token_verification = {module!r} and a [{SECTION}] table",
        ),
    )


def jwt_next_steps(repo: GeneratedRepo) -> Sequence[str]:
    """What the user does next: install PyJWT, configure the identity provider, drop the static-token Secret."""
    return (
        "make install                 # installs PyJWT into .venv; then `make test` runs the verifier's tests",
        f"set issuer, audience and jwks_url in [{SECTION}] of {PRODUCTION_CONFIG}"
        " (or GFS_JWT__ISSUER, GFS_JWT__AUDIENCE, GFS_JWT__JWKS_URL): the service refuses to start without them",
        "deploy/k8s/deployment.yaml no longer needs the GFS_ENUMERATED_TOKENS__TOKENS Secret: remove that entry",
    )


JWT_EXTRA: Final = Extra(
    kind="jwt",
    template=TEMPLATE,
    summary="JWT bearer tokens checked against the identity provider's JWKS URL or a PEM public key (PyJWT)",
    edits=jwt_edits,
    next_steps=jwt_next_steps,
)
