"""ARM request throttling: a token bucket per principal and kind
(learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling).

Since 2024 ARM throttles each principal with buckets that refill continuously: reads 250
refilling 25/s, writes and deletes 200 refilling 10/s; a subscription-wide ("global")
bucket holds 15x that. The buckets refill in *real* time, not lab time: clients send
requests at real speed, and refilling in accelerated lab time would make the budget
unlimited. The remaining tokens go out in x-ms-ratelimit-remaining-subscription-* headers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

LIMITS = {"reads": (250, 25.0), "writes": (200, 10.0), "deletes": (200, 10.0)}
GLOBAL_FACTOR = 15


def request_kind(method: str) -> str:
    if method in ("GET", "HEAD"):
        return "reads"
    return "deletes" if method == "DELETE" else "writes"


@dataclass
class TokenBucket:
    capacity: float
    refill_per_s: float
    tokens: float
    stamp: float

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.refill_per_s)
        self.stamp = now

    def take(self, now: float) -> bool:
        self._refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def wait_s(self, now: float) -> float:
        """Seconds until one token is available."""
        self._refill(now)
        return max(0.0, (1 - self.tokens) / self.refill_per_s)


@dataclass
class Verdict:
    allowed: bool
    kind: str
    remaining: int
    global_remaining: int
    retry_after_s: float = 0.0


class Throttle:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic):
        self._monotonic = monotonic
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self.limits = dict(LIMITS)

    def _bucket(self, scope: str, kind: str, factor: int = 1) -> TokenBucket:
        bucket = self._buckets.get((scope, kind))
        if bucket is None:
            capacity, refill = self.limits[kind]
            bucket = TokenBucket(capacity * factor, refill * factor, capacity * factor, self._monotonic())
            self._buckets[(scope, kind)] = bucket
        return bucket

    def check(self, principal: str, subscription: str, method: str) -> Verdict:
        kind = request_kind(method)
        now = self._monotonic()
        mine = self._bucket("principal:" + principal, kind)
        shared = self._bucket("subscription:" + subscription, kind, GLOBAL_FACTOR)
        if not mine.take(now):
            return Verdict(False, kind, 0, math.floor(shared.tokens), mine.wait_s(now))
        if not shared.take(now):
            mine.tokens += 1   # the request is refused, so it costs the principal nothing
            return Verdict(False, kind, math.floor(mine.tokens), 0, shared.wait_s(now))
        return Verdict(True, kind, math.floor(mine.tokens), math.floor(shared.tokens))

    def now(self) -> float:
        """The clock the buckets refill on (real time), for Retry-After deadlines."""
        return self._monotonic()

    def set_limits(self, kind: str, capacity: int, refill_per_s: float) -> None:
        """Change one kind's limits (admin API); existing buckets start over full."""
        self.limits[kind] = (capacity, refill_per_s)
        for scope_kind in [k for k in self._buckets if k[1] == kind]:
            del self._buckets[scope_kind]

    def reset(self) -> None:
        self._buckets.clear()
        self.limits = dict(LIMITS)
