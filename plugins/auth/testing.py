"""Test helpers of the auth plugin: cheap password hashing and roomy rate limits through its settings, and
sign-up and sign-in over HTTP, for its own suite and for any plugin tested with real accounts.

The options are what ``WEALIST_AUTH__ARGON2_TIME_COST=1`` and friends would give: production code reads
them as it always does, nothing is patched. Argon2 at its production cost takes ~160 ms per hash; at
``time_cost=1, memory_cost=1024`` it takes well under a millisecond.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from wealist_core import Settings
from wealist_core.testing import with_options

__all__ = [
    "CHEAP_HASHING",
    "PASSWORD",
    "ROOMY_RATE_LIMITS",
    "TEST_OPTIONS",
    "bearer",
    "login",
    "signup",
    "unique_email",
    "with_test_options",
]

#: A password the password rules accept.
PASSWORD = "correct horse battery staple"

#: Argon2id at its cheapest (``WEALIST_AUTH__ARGON2_*``).
CHEAP_HASHING: dict[str, str] = {
    "argon2_time_cost": "1",
    "argon2_memory_cost": "1024",
    "argon2_parallelism": "1",
}
#: Rate limits no test reaches by accident (``WEALIST_AUTH__RATE_LIMIT_*``); a test of a limit sets its own.
ROOMY_RATE_LIMITS: dict[str, str] = {
    f"rate_limit_{what}_{per}": "1000/60"
    for what in ("login", "signup", "refresh")
    for per in ("ip", "account")
}
#: Both: the auth options of a test.
TEST_OPTIONS: dict[str, str] = {**CHEAP_HASHING, **ROOMY_RATE_LIMITS}


def with_test_options(settings: Settings, **options: object) -> Settings:
    """``settings`` with :data:`TEST_OPTIONS` for auth and then ``options`` (``totp_issuer="Acme"``)."""
    return with_options(settings, "auth", TEST_OPTIONS, **options)


def unique_email(prefix: str = "ada") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@example.com"


def bearer(token: str) -> dict[str, str]:
    """The headers carrying an access token."""
    return {"Authorization": f"Bearer {token}"}


async def signup(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD, name: str = "Ada Lovelace"
) -> dict[str, Any]:
    """Sign up through ``POST /api/auth/signup`` (asserting 201); the answer: ``userId``, ``accessToken``,
    ``refreshToken``, ..."""
    response = await client.post(
        "/api/auth/signup", json={"email": email or unique_email(), "password": password, "name": name}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: Any
) -> httpx.Response:
    """``POST /api/auth/login``, answered as it is (a test of refusals reads the problem)."""
    return await client.post("/api/auth/login", json={"email": email, "password": password, **extra})
