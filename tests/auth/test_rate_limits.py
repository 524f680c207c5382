"""Rate limits on sign-in, sign-up and refresh, per client IP and per account: 429 with Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.auth.support import (
    PASSWORD,
    assert_problem,
    login,
    monolith,
    running,
    settings_for,
    signup,
    unique_email,
)


@pytest.fixture
def app(settings_factory: Any, backend: dict[str, Any]) -> Starlette:
    return monolith(
        settings_for(
            settings_factory,
            backend,
            rate_limit_login_account="3/60",
            rate_limit_login_ip="6/60",
            rate_limit_signup_account="2/60",
            rate_limit_signup_ip="4/60",
            rate_limit_refresh_account="3/60",
            rate_limit_refresh_ip="5/60",
        )
    )


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        yield client


def assert_limited(response: httpx.Response) -> None:
    body = assert_problem(response, 429, "RATE_LIMITED")
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert body["retryAfter"] == retry_after


async def test_sign_in_is_limited_per_account(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await signup(client, email)
    for _ in range(3):
        assert_problem(await login(client, email, "wrong password!"), 401, "UNAUTHORIZED")

    assert_limited(await login(client, email))  # even the right password waits now
    assert_limited(await login(client, email.upper()))  # the same account, however it is typed
    other = unique_email()
    assert_problem(await login(client, other, "wrong password!"), 401, "UNAUTHORIZED")


async def test_sign_in_is_limited_per_ip(client: httpx.AsyncClient, app: Starlette) -> None:
    for _ in range(6):
        assert_problem(await login(client, unique_email(), "wrong password!"), 401, "UNAUTHORIZED")

    assert_limited(await login(client, unique_email()))
    transport = httpx.ASGITransport(app, client=("10.1.2.3", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        assert_problem(await login(elsewhere, unique_email(), "wrong password!"), 401, "UNAUTHORIZED")


async def test_sign_up_is_limited_per_ip_and_account(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await signup(client, email)
    assert_problem(
        await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD, "name": "A"}),
        409,
        "EMAIL_TAKEN",
    )
    assert_limited(
        await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD, "name": "A"})
    )

    await signup(client)  # the fourth attempt from this IP (the refused one counted too)
    assert_limited(
        await client.post(
            "/api/auth/signup", json={"email": unique_email(), "password": PASSWORD, "name": "A"}
        )
    )


async def test_refresh_is_limited_per_account(client: httpx.AsyncClient) -> None:
    token = (await signup(client))["refreshToken"]
    for _ in range(3):
        response = await client.post("/api/auth/refresh", json={"refreshToken": token})
        assert response.status_code == 200, response.text
        token = response.json()["refreshToken"]

    assert_limited(await client.post("/api/auth/refresh", json={"refreshToken": token}))


async def test_refresh_is_limited_per_ip(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert_problem(
            await client.post("/api/auth/refresh", json={"refreshToken": "made-up"}), 401, "UNAUTHORIZED"
        )

    assert_limited(await client.post("/api/auth/refresh", json={"refreshToken": "made-up"}))
