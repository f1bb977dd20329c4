"""One exception family: each error carries the exit code and a message a user can act on.

The core raises these; only the CLI turns them into text on stderr and an exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    READY = 0
    BLOCKED = 1
    INVALID_INPUT = 2
    UNDECIDED = 3
    EXTERNAL_FAILURE = 4
    INTERNAL_ERROR = 5
    INTERRUPTED = 130
    TERMINATED = 143


class MigreadyError(Exception):
    """Base of every error a user can cause or fix; never shown with a traceback."""

    exit_code: ExitCode = ExitCode.INVALID_INPUT

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def __str__(self) -> str:
        return "\n".join([self.message, *self.details])


class InputError(MigreadyError):
    """Invalid input (dump, inventory, policy, plan, waiver): nothing was evaluated."""


class Terminated(BaseException):
    """SIGTERM, raised where the program stands so that `finally` blocks and the atomic
    writer remove their temporary files, as they do for Ctrl-C (KeyboardInterrupt)."""


class ExternalError(MigreadyError):
    """An external system failed: XAPI (connection, TLS, login) or SMTP."""

    exit_code = ExitCode.EXTERNAL_FAILURE
