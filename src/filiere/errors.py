"""Exception hierarchy. Each error carries the HTTP status the API answers with."""

from __future__ import annotations


class FiliereError(Exception):
    """Base class of every error filiere raises on purpose."""

    status_code: int = 500


class UserInputError(FiliereError):
    """The user gave something we cannot use (bad file, bad option)."""

    status_code = 400


class NotFoundError(FiliereError):
    status_code = 404


class ConflictError(FiliereError):
    status_code = 409


class PermissionDeniedError(FiliereError):
    status_code = 403


class AuthenticationError(FiliereError):
    status_code = 401


class MissingExtraError(FiliereError, ImportError):
    """An optional dependency group is not installed."""

    status_code = 500

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(f"this feature needs the '{module}' package: install it with `pip install 'filiere[{extra}]'`")
        self.module = module
        self.extra = extra


class StoreLockedError(FiliereError):
    """The workspace database is held by another process for longer than we waited."""

    status_code = 503
