"""Retry policy: exponential backoff with jitter, capped, with a maximum number of tries."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again after a transient failure, and when to give up.

    The delay before try n+1 is `base_seconds × factor^(n-1)`, capped at `max_delay_seconds`, then spread
    by "equal jitter" (half fixed, half random) so that many deliveries failing at once against the same
    receiver do not all come back at the same second. After `max_tries` tries the delivery fails.
    """

    base_seconds: float = 30.0
    factor: float = 2.0
    max_delay_seconds: float = 6 * 3600.0
    max_tries: int = 8
    jitter: bool = True

    def delay_after(self, tries: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `tries`-th failed try (tries ≥ 1)."""
        exponent = max(tries - 1, 0)
        delay = min(self.max_delay_seconds, self.base_seconds * self.factor**exponent)
        if not self.jitter:
            return delay
        half = delay / 2
        return half + (rng or random).uniform(0, half)

    def gives_up_after(self, tries: int) -> bool:
        return tries >= self.max_tries


DEFAULT_RETRY_POLICY = RetryPolicy()
