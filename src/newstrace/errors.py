"""Exceptions. A ``UserError`` is shown as one line and exits with code 1."""

from __future__ import annotations


class NewstraceError(Exception):
    """Base class of every error newstrace raises on purpose."""


class UserError(NewstraceError):
    """Bad input or arguments: shown as one line (plus an optional hint), exit code 1."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class IncompatibleIndex(UserError):
    """The database was built with other parameters or an older schema."""
