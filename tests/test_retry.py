"""The shared retry policy: backoff, what is retried, what the caller learns when it gives up."""

from __future__ import annotations

import pytest

from checker import collector, mailer
from checker.retry import GaveUp, RetryPolicy


class Flaky:
    """Fails with `errors` in turn, then answers "done"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def transient(exc: BaseException) -> str | None:
    return "refused" if isinstance(exc, ConnectionRefusedError) else None


def test_transient_failures_are_retried_with_doubling_waits():
    sleeps: list[float] = []
    retried: list[tuple[str, float]] = []
    call = Flaky(ConnectionRefusedError(), ConnectionRefusedError())
    policy = RetryPolicy(attempts=3, base_delay=0.5, sleep=sleeps.append)
    assert policy.run(call, transient, lambda reason, delay: retried.append((reason, delay))) == "done"
    assert call.calls == 3 and sleeps == [0.5, 1.0]
    assert retried == [("refused", 0.5), ("refused", 1.0)]


def test_gives_up_after_the_last_attempt_with_its_reason():
    sleeps: list[float] = []
    call = Flaky(*[ConnectionRefusedError()] * 5)
    with pytest.raises(GaveUp) as info:
        RetryPolicy(attempts=4, base_delay=1, sleep=sleeps.append).run(call, transient)
    assert (info.value.reason, info.value.attempts) == ("refused", 4)
    assert call.calls == 4 and sleeps == [1, 2, 4]


def test_other_failures_are_raised_at_once():
    sleeps: list[float] = []
    call = Flaky(ConnectionRefusedError(), PermissionError("no"))
    with pytest.raises(PermissionError):
        RetryPolicy(attempts=5, sleep=sleeps.append).run(call, transient)
    assert call.calls == 2 and sleeps == [0.5]


def test_at_least_one_attempt():
    with pytest.raises(GaveUp) as info:
        RetryPolicy(attempts=0, sleep=lambda _s: None).run(Flaky(ConnectionRefusedError()),
                                                           transient)
    assert info.value.attempts == 1


def test_collector_and_mailer_share_the_policy():
    assert collector.RetryPolicy is RetryPolicy is mailer.RetryPolicy
