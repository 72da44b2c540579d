"""A bad day: which failures are the platform's rather than the record's, when a task stops trying
record after record, and when a failed record is attempted again by itself.

A platform that is down, or credentials that stopped working, fail every record in turn; the task
notices a streak of such failures and gives up its turn instead (`Outage`): the runner pauses it
with a growing delay (the platform may come back) or stops it (credentials need a person). Its place
is kept either way: finished Time History windows and Export Many chunks are on record, and the
chunk in progress is read again on resume.

A record that fails for a transient reason on an otherwise good day gets `retry_at`: the worker
enqueues it again once that time has come, a few times with a growing delay, before the error is
left for a person.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from engine.errors import EngineError
from engine.runtime import env_seconds
from engine.store.models import utcnow

# The platform did not serve the request; trying later can work. (Not MALFORMED_RESPONSE: an answer
# of the wrong shape usually means an API version this client does not speak, which waiting won't fix.)
PLATFORM_DOWN_CODES = frozenset({"PLATFORM_UNAVAILABLE", "TIMEOUT", "RATE_LIMITED"})
# Worth an automatic attempt later: the platform's failures, and a record another worker held too long.
TRANSIENT_CODES = PLATFORM_DOWN_CODES | {"IN_FLIGHT"}
# The platform refuses who we are: every further request fails the same way until someone reconnects.
# A token without a scope the flow needs fails the same way until someone connects again.
AUTH_CODES = frozenset(
    {
        "AUTH_FAILED",
        "CREDENTIALS_MISSING",
        "FORTNOX_SCOPE_MISSING",
        "SHOPIFY_SCOPE_MISSING",
        "STRIPE_PERMISSION_MISSING",
    }
)
# How many failures in a row, with no success in between, make an outage rather than bad luck.
STREAK = 5
# Automatic attempts of one record before its error waits for a person.
AUTO_RETRIES = 5
# Pauses of one task before it stops and waits for a person.
MAX_PAUSES = 8


def backoff(attempt: int, base: float, cap: float) -> timedelta:
    """The delay before attempt `attempt` + 1 (1-based `attempt`): base, 2 × base, … up to `cap`."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempt - 1)))


def pause_delay(pauses: int) -> timedelta:
    """How long a task paused by an outage waits before it is claimed again."""
    return backoff(pauses, env_seconds("JUNIPEER_PAUSE_SECONDS", 30.0), 15 * 60)


def retry_delay(attempt: int) -> timedelta:
    """How long a record that failed transiently waits before it is attempted again."""
    return backoff(attempt, env_seconds("JUNIPEER_RETRY_SECONDS", 15.0), 5 * 60)


def retry_plan(entity: Any, code: str, now: datetime | None = None) -> dict[str, Any]:
    """The entity's retry columns after a failure with `code`: when it is attempted again by
    itself, or nothing (a data error, or the automatic attempts are used up)."""
    attempts = entity.auto_retries or 0
    if code not in TRANSIENT_CODES or attempts >= AUTO_RETRIES:
        return {"retry_at": None}
    return {"retry_at": (now or utcnow()) + retry_delay(attempts + 1), "auto_retries": attempts + 1}


SETTLED = {"retry_at": None, "auto_retries": 0}  # a record that synced starts counting afresh


class Outage(EngineError):
    """A streak of failures that are the platform's: the task gives up its turn."""

    @property
    def needs_a_person(self) -> bool:
        return self.code in AUTH_CODES


class Streak:
    """Failures of the platform in a row, across a task's consumers; a success ends the streak."""

    def __init__(self, limit: int = STREAK) -> None:
        self.limit = limit
        self.count = 0
        self.tripped: Outage | None = None

    def success(self) -> None:
        self.count = 0

    def failure(self, code: str, message: str) -> None:
        """Count a record's failure; any other error ends the streak (the platform answered)."""
        if code not in PLATFORM_DOWN_CODES and code not in AUTH_CODES:
            self.count = 0
            return
        self.count += 1
        if self.count >= self.limit and self.tripped is None:
            self.tripped = Outage(code, message)
