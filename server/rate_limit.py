"""Rate limits, in process: a token bucket per connection and fixed windows per key.

Both take the time as an argument (seconds, any monotonic origin), so they are pure and tested
without a clock. `TokenBucket` is what a connection checks on every message (no I/O at all);
`FixedWindows` is the in-process twin of the Redis fixed-window counter in `fanout_redis`
(`Fanout.allow`), for limits that must hold across nodes when Redis is there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; starts full."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    updated: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise ValueError(f"rate must be positive, got {self.rate}")
        if not (self.burst >= 1 and math.isfinite(self.burst)):
            raise ValueError(f"burst must be at least 1, got {self.burst}")
        self.tokens = self.burst

    def take(self, now: float, cost: float = 1.0) -> bool:
        """Spend `cost` tokens if there are enough (True), else spend none (False)."""
        if self.updated is not None and now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        if self.updated is None or now > self.updated:
            self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


def window_index(now: float, window: float) -> int:
    return math.floor(now / window)


@dataclass
class FixedWindows:
    """At most `limit` hits per key in each window of `window` seconds (aligned to 0)."""

    counts: dict[tuple[str, float], tuple[int, int]] = field(default_factory=dict)

    def hit(self, key: str, *, limit: int, window: float, now: float, cost: int = 1) -> bool:
        """Count `cost` hits for `key` now; True while the window's total stays within `limit`."""
        if window <= 0 or limit < 0 or cost < 1:
            raise ValueError("window must be positive, limit non-negative, cost at least 1")
        index = window_index(now, window)
        slot = (key, window)
        current, count = self.counts.get(slot, (index, 0))
        if current != index:
            count = 0
        count += cost
        self.counts[slot] = (index, count)
        if len(self.counts) > 4096:
            self._prune(now)
        return count <= limit

    def _prune(self, now: float) -> None:
        stale = [s for s, (i, _) in self.counts.items() if i != window_index(now, s[1])]
        for slot in stale:
            del self.counts[slot]
