"""Exceptions and the command line's exit codes.

A ``UserError`` is shown as one line (plus an optional hint) and exits with its
``exit_code``:

====  ==========================================================================
code  meaning
====  ==========================================================================
0     success
1     bad input or arguments, missing or incompatible database (``UserError``)
2     some input records were rejected; all others were stored (``ingest``)
3     the database file is damaged (truncated, bit-flipped) or not readable
4     no space left on the device (or quota exceeded) while writing
130   interrupted (Ctrl-C); run the same command again to resume
====  ==========================================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USER = 1
EXIT_REJECTED = 2
EXIT_DAMAGED = 3
EXIT_NO_SPACE = 4
EXIT_INTERRUPTED = 130


class NewstraceError(Exception):
    """Base class of every error newstrace raises on purpose."""


class UserError(NewstraceError):
    """Bad input or arguments: shown as one line (plus an optional hint), exit code 1."""

    exit_code = EXIT_USER

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class IncompatibleIndex(UserError):
    """The database was built with other parameters or an older schema."""


class DatabaseDamaged(UserError):
    """The database file is truncated, corrupt or unreadable: exit code 3."""

    exit_code = EXIT_DAMAGED


class NoSpaceLeft(UserError):
    """The disk (or quota) is full: exit code 4. What was committed before stays readable."""

    exit_code = EXIT_NO_SPACE
