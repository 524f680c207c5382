"""Rate limits of sign-in, sign-up and refresh, per client IP and per account, shared by every process.

Accounts are keyed by a hash of the email (or the user id), so the key-value store holds no addresses.
A denied attempt is a 429 with ``Retry-After``; limits come from ``WEALIST_AUTH__RATE_LIMIT_*``.
"""

from __future__ import annotations

import hashlib
import time

from wealist_plugins.auth.options import AuthOptions, RateLimit

from wealist_core import KeyValue, RateLimiter
from wealist_core.errors import RateLimited

__all__ = ["AuthLimits"]


def _account(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


class AuthLimits:
    """One method per guarded action; each raises ``RateLimited`` when a limit is reached."""

    def __init__(self, kv: KeyValue, settings: AuthOptions) -> None:
        self._limiter = RateLimiter(kv, prefix="ratelimit:")
        self._kv = kv.namespace("ratelimit:")
        self._settings = settings

    async def _enforce(self, key: str, limit: RateLimit) -> None:
        await self._limiter.enforce(key, limit=limit.limit, window=limit.window)

    async def login(self, ip: str | None, email: str) -> bool:
        """Count a sign-in attempt; True when the account is locked (too many attempts) but this address has
        not failed on it recently: a correct password may still pass, a wrong one is refused as limited. The
        rightful owner is not locked out by someone else's guesses."""
        s = self._settings
        await self._enforce(f"login:ip:{ip or 'unknown'}", s.login_ip)
        limit = s.login_account
        decision = await self._limiter.hit(
            f"login:account:{_account(email)}", limit=limit.limit, window=limit.window
        )
        if decision.allowed:
            return False
        failed = f"login:failed:{_account(email)}:{ip or 'unknown'}"
        await self._kv.zremrange_by_score(failed, float("-inf"), time.time() - limit.window)
        if await self._kv.zcard(failed):
            raise RateLimited(
                f"Too many attempts; try again in {decision.retry_after} seconds.",
                retry_after=decision.retry_after,
            )
        return True

    async def login_failed(self, ip: str | None, email: str) -> None:
        """Remember that this address failed on this account, for one account window."""
        window = self._settings.login_account.window
        key = f"login:failed:{_account(email)}:{ip or 'unknown'}"
        now = time.time()
        await self._kv.zadd(key, {f"{now:.6f}": now})
        await self._kv.expire(key, window)

    async def second_factor(self, user_id: str) -> None:
        """TOTP confirmations, password changes and OIDC exchanges: guessing is throttled like sign-in."""
        await self._enforce(f"login:account:{_account(user_id)}", self._settings.login_account)

    async def exchange(self, ip: str | None) -> None:
        await self._enforce(f"login:ip:{ip or 'unknown'}", self._settings.login_ip)

    async def signup(self, ip: str | None, email: str) -> None:
        s = self._settings
        await self._enforce(f"signup:ip:{ip or 'unknown'}", s.signup_ip)
        await self._enforce(f"signup:account:{_account(email)}", s.signup_account)

    async def refresh_ip(self, ip: str | None) -> None:
        await self._enforce(f"refresh:ip:{ip or 'unknown'}", self._settings.refresh_ip)

    async def refresh_account(self, user_id: str) -> None:
        await self._enforce(f"refresh:account:{_account(user_id)}", self._settings.refresh_account)
