"""The one retry policy of every external call (XAPI in `collector`, SMTP in `mailer`).

Both talk to a server that may be briefly away: a refused or dropped connection, a
timeout, an SMTP 4xx "try again later". Such a failure is tried again, a bounded number of
times with exponential backoff (attempt n waits base_delay × 2^(n-1) first); any other
failure is raised at once: repeating a refused login or an untrusted certificate changes
nothing. What counts as transient is the caller's (`transient` gives a short reason, or
None); the sleep is injectable so that tests never wait. Built on tenacity.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

T = TypeVar("T")


class GaveUp(Exception):
    """Every attempt failed transiently; `reason` is the last failure's (for the message)."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


def _no_progress(_reason: str, _delay: float) -> None:
    pass


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of transient failures: attempt n waits base_delay × 2^(n-1) first."""

    attempts: int = 3
    base_delay: float = 0.5
    sleep: Callable[[float], None] = time.sleep

    def run(self, call: Callable[[], T], transient: Callable[[BaseException], str | None],
            on_retry: Callable[[str, float], None] = _no_progress) -> T:
        """`call()`'s value; its error when `transient` gives None for it; GaveUp after
        the last attempt failed transiently. `on_retry(reason, delay)` before each wait."""
        attempts = max(self.attempts, 1)

        def reason(state: tenacity.RetryCallState) -> str:
            error = state.outcome.exception() if state.outcome else None
            return (transient(error) if error else None) or "unknown failure"

        def before_sleep(state: tenacity.RetryCallState) -> None:
            on_retry(reason(state), state.next_action.sleep if state.next_action else 0.0)

        def give_up(state: tenacity.RetryCallState) -> T:
            raise GaveUp(reason(state), attempts)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(attempts),
            wait=tenacity.wait_exponential(multiplier=self.base_delay, exp_base=2, min=0),
            retry=tenacity.retry_if_exception(lambda exc: transient(exc) is not None),
            sleep=self.sleep, before_sleep=before_sleep, retry_error_callback=give_up)
        return retrying(call)
