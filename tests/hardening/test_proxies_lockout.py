"""The per-account sign-in limit keeps guessing out without locking the rightful owner out: once the account
is limited, a correct password from an address that has not failed on it recently still signs in; the
guessing address, and a wrong password from anywhere, get 429. On the embedded defaults and on PostgreSQL +
Redis."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.auth.support import PASSWORD, monolith, running, settings_for, unique_email
from wealist_core.testing import BACKENDS


@pytest.fixture(params=BACKENDS)
def wealist_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_the_owner_signs_in_from_a_clean_address_while_the_guesser_is_locked_out(
    settings_factory: Any, wealist_infrastructure: dict[str, Any]
) -> None:
    app = monolith(settings_for(settings_factory, wealist_infrastructure, rate_limit_login_account="3/300"))
    email = unique_email()
    async with running(app) as setup:
        created = await setup.post(
            "/api/auth/signup", json={"email": email, "password": PASSWORD, "name": "Ada"}
        )
        assert created.status_code == 201

        def client_from(address: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(address, 40000))
            return httpx.AsyncClient(transport=transport, base_url="http://test")

        async with client_from("198.51.100.7") as guesser, client_from("203.0.113.20") as owner:
            statuses = [
                (
                    await guesser.post("/api/auth/login", json={"email": email, "password": f"wrong {n}"})
                ).status_code
                for n in range(5)
            ]
            assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429]
            # The guesser cannot get in even with the right password now.
            assert (
                await guesser.post("/api/auth/login", json={"email": email, "password": PASSWORD})
            ).status_code == 429
            # The owner, from an address that has not failed, gets in.
            signed_in = await owner.post("/api/auth/login", json={"email": email, "password": PASSWORD})
            assert signed_in.status_code == 200, signed_in.text
            assert signed_in.json()["accessToken"]
            # A wrong password while the account is limited is refused as limited, not checked as 401.
            wrong = await owner.post("/api/auth/login", json={"email": email, "password": "wrong again"})
            assert wrong.status_code == 429
