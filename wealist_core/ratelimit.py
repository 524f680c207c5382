"""Sliding-window rate limits on the :class:`~wealist_core.ports.KeyValue` port.

Each key keeps a sorted set of the hits it was allowed, scored by time. A hit first joins the set, then
counts it: if more than ``limit`` hits fall inside the last ``window`` seconds it leaves again and is
denied. Adding before counting means processes racing on the same key can never allow more than
``limit`` hits in a window (at worst, two racing hits are both denied). Denied hits are not recorded, so
a client that keeps retrying is let in again as soon as its oldest allowed hit leaves the window.

Time is the wall clock, because the hits of one key may come from several processes; their clocks are
assumed to agree to well under a window (NTP).
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from wealist_core.errors import RateLimited
from wealist_core.ports import KeyValue

__all__ = ["RateDecision", "RateLimiter"]


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The outcome of one hit: whether it may proceed, how many more may, and when to retry if not."""

    allowed: bool
    remaining: int
    retry_after: int  # whole seconds until a denied hit would be allowed; 0 when allowed


class RateLimiter:
    """Sliding-window limits, shared by every process using the same key-value store.

    ``await limiter.enforce(f"sign-in:{ip}", limit=10, window=60)`` raises
    :class:`~wealist_core.errors.RateLimited` (429 with ``Retry-After``) on the eleventh attempt within a
    minute. Keys are stored under ``prefix`` in ``kv``; give each plugin its own namespace.
    """

    def __init__(
        self, kv: KeyValue, *, prefix: str = "ratelimit:", clock: Callable[[], float] = time.time
    ) -> None:
        self._kv = kv.namespace(prefix) if prefix else kv
        self._clock = clock

    async def hit(self, key: str, *, limit: int, window: float) -> RateDecision:
        """Record an attempt on ``key`` unless that would exceed ``limit`` attempts in ``window`` seconds."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if window <= 0:
            raise ValueError(f"window must be positive, got {window}")
        kv, now = self._kv, self._clock()
        await kv.zremrange_by_score(key, float("-inf"), now - window)
        member = f"{now:.6f}:{uuid.uuid4().hex[:12]}"
        await kv.zadd(key, {member: now})
        count = await kv.zcard(key)
        if count <= limit:
            await kv.expire(key, window)  # an idle key disappears one window after its last hit
            return RateDecision(allowed=True, remaining=limit - count, retry_after=0)
        await kv.zrem(key, member)
        # Room for one more hit opens when enough of the others have left the window: the
        # (count - limit)-th oldest of them, usually the oldest.
        oldest = await kv.zrange_by_score(key, limit=count - limit)
        frees_at = (oldest[-1][1] if oldest else now) + window
        return RateDecision(allowed=False, remaining=0, retry_after=max(1, math.ceil(frees_at - now)))

    async def enforce(self, key: str, *, limit: int, window: float) -> RateDecision:
        """Like :meth:`hit`, but raise ``RateLimited`` (with ``Retry-After``) when the hit is denied."""
        decision = await self.hit(key, limit=limit, window=window)
        if not decision.allowed:
            seconds = decision.retry_after
            raise RateLimited(
                f"Too many requests; try again in {seconds} second{'s' if seconds != 1 else ''}.",
                retry_after=seconds,
            )
        return decision
