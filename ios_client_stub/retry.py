"""Retry policy for calls to the Lockstep API."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Maximum number of doublings of the base delay. Any usable max_delay is
# reached long before, and the limit keeps a large max_tries from
# overflowing a float.
_MAX_DOUBLINGS = 32


@dataclass
class RetryPolicy:
    """Capped exponential backoff with jitter, a maximum number of tries and a deadline.

    The policy only decides when to try again. Whether an error may be retried
    at all is the caller's decision, passed to ``call`` as ``is_retryable``,
    because only the caller can tell whether its request is idempotent.

    The wait before retry ``n`` (1 for the first retry) is
    ``min(max_delay, initial_delay * 2 ** (n - 1))``, reduced by a random
    fraction of up to ``jitter`` so that many clients do not retry in step.
    When the error carries ``retry_after`` seconds (a Retry-After header), the
    wait is at least that, capped at ``max_retry_after``. A retry that would
    start more than ``deadline`` seconds after the first try is not made, and
    the last error is raised instead.
    """

    max_tries: int = 4
    initial_delay: float = 0.2
    max_delay: float = 2.0
    jitter: float = 0.5
    max_retry_after: float = 10.0
    deadline: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.max_tries < 1:
            raise ValueError(f"max_tries must be at least 1, got {self.max_tries}")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"jitter must be between 0 and 1, got {self.jitter}")
        for name in ("initial_delay", "max_delay", "max_retry_after", "deadline"):
            value = getattr(self, name)
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")

    def backoff(self, retry_number: int) -> float:
        """Return the jittered wait in seconds before retry ``retry_number``."""
        if retry_number < 1:
            raise ValueError(f"retry_number starts at 1, got {retry_number}")
        doublings = min(retry_number - 1, _MAX_DOUBLINGS)
        base = min(self.max_delay, self.initial_delay * 2**doublings)
        return base * (1.0 - self.jitter * self.rng.random())

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Return the wait before retry ``retry_number``, honouring Retry-After."""
        wait = self.backoff(retry_number)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait

    def call(
        self,
        operation: Callable[[], T],
        is_retryable: Callable[[Exception], bool],
        description: str = "operation",
    ) -> T:
        """Run ``operation``, retrying the errors that ``is_retryable`` accepts.

        Raises the last error when it is not retryable, when ``max_tries`` tries
        have failed, or when the next wait would pass the deadline.
        ``description`` names the operation in debug logs, so it must not
        contain secrets.
        """
        start = self.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return operation()
            except Exception as error:
                if not is_retryable(error) or attempt >= self.max_tries:
                    raise
                wait = self.delay(attempt, getattr(error, "retry_after", None))
                if self.clock() - start + wait > self.deadline:
                    raise
                logger.debug(
                    "retrying %s in %.2f s after try %d of %d failed: %s",
                    description,
                    wait,
                    attempt,
                    self.max_tries,
                    error,
                )
                self.sleep(wait)
