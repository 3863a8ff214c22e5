"""Token authentication: extracting bearer tokens and verifying them with a pluggable strategy."""

from gfs_runtime.auth.authenticator import TokenAuthenticator
from gfs_runtime.auth.enumerated import EnumeratedTokenVerification
from gfs_runtime.auth.strategy import TokenVerificationStrategy

__all__ = ["EnumeratedTokenVerification", "TokenAuthenticator", "TokenVerificationStrategy"]
