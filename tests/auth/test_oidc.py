"""OpenID Connect sign-in, end to end against a real OpenID provider (oidc-provider-mock) on a local port.

The browser is played by the test: it follows the redirects by hand, carrying the state cookie, and posts
the provider's consent form the way a person clicking "authorize" would.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from starlette.applications import Starlette

from tests.auth.support import (
    assert_problem,
    bearer,
    directory,
    login,
    monolith,
    running,
    settings_for,
    signup,
)
from tests.support.processes import free_port

# authlib (used by the provider and by auth) warns about its own deprecations; see docs/auth.md.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:authlib"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:oidc_provider_mock"),
]

APP_CALLBACK = "https://app.example/auth/callback"


@pytest.fixture(scope="module")
def provider_url() -> Iterator[str]:
    """A real OpenID provider on a free loopback port, for the whole module."""
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(port=free_port(), require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def oidc_app(settings_factory: Any, backend: dict[str, Any], provider_url: str) -> Starlette:
    providers = [
        {
            "id": "mock",
            "name": "Mock ID",
            "issuer": provider_url,
            "clientId": "wealist-test",
            "clientSecret": "s3cret",
        }
    ]
    settings = settings_for(
        settings_factory, backend, oidc_providers=json.dumps(providers), oidc_redirect_url=APP_CALLBACK
    )
    return monolith(settings.model_copy(update={"public_url": "http://testserver"}))


@pytest.fixture
async def client(oidc_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with running(oidc_app) as client:
        yield client


@pytest.fixture
async def provider(provider_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=provider_url) as http:
        yield http


async def set_user(provider: httpx.AsyncClient, subject: str, **claims: Any) -> None:
    response = await provider.put(f"/users/{subject}", json=claims)
    assert response.status_code == 204, response.text


async def sign_in_at_provider(
    client: httpx.AsyncClient, provider: httpx.AsyncClient, subject: str
) -> dict[str, str]:
    """Start at Wealist, consent at the provider as ``subject``, come back: the app's query parameters."""
    start = await client.get("/api/auth/oidc/mock/login")
    assert start.status_code == 302, start.text
    authorize = urlsplit(start.headers["location"])
    query = parse_qs(authorize.query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    assert query["redirect_uri"] == ["http://testserver/api/auth/oidc/mock/callback"]

    consent = await provider.post(f"{authorize.path}?{authorize.query}", data={"sub": subject})
    assert consent.status_code == 302, consent.text
    back = urlsplit(consent.headers["location"])
    callback = await client.get(f"{back.path}?{back.query}")
    assert callback.status_code == 302, callback.text
    landing = urlsplit(callback.headers["location"])
    assert f"{landing.scheme}://{landing.netloc}{landing.path}" == APP_CALLBACK
    return {k: v[0] for k, v in parse_qs(landing.query).items()}


async def exchange(client: httpx.AsyncClient, code: str, **extra: Any) -> httpx.Response:
    return await client.post("/api/auth/oidc/exchange", json={"code": code, **extra})


async def test_the_configured_providers_are_listed(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/auth/providers")
    assert response.status_code == 200
    assert response.json() == [{"id": "mock", "name": "Mock ID"}]


async def test_first_sign_in_creates_the_account_and_the_next_finds_it(
    client: httpx.AsyncClient, provider: httpx.AsyncClient, oidc_app: Starlette
) -> None:
    subject = f"sub-{uuid.uuid4().hex[:8]}"
    email = f"{subject}@example.com"
    await set_user(provider, subject, email=email, email_verified=True, name="Grace Hopper")

    landing = await sign_in_at_provider(client, provider, subject)
    assert set(landing) == {"code"}  # tokens never travel in a URL
    first = await exchange(client, landing["code"])

    assert first.status_code == 200, first.text
    pair = first.json()
    [user] = await directory(oidc_app).get_users([uuid.UUID(pair["userId"])])
    assert (user.email, user.name) == (email, "Grace Hopper")
    me = await client.get("/api/whoami", headers=bearer(pair["accessToken"]))
    assert me.json()["userId"] == pair["userId"]
    assert (
        await client.post("/api/auth/refresh", json={"refreshToken": pair["refreshToken"]})
    ).status_code == 200

    again = await exchange(client, (await sign_in_at_provider(client, provider, subject))["code"])
    assert again.json()["userId"] == pair["userId"]


async def test_a_one_time_code_works_once(client: httpx.AsyncClient, provider: httpx.AsyncClient) -> None:
    subject = f"sub-{uuid.uuid4().hex[:8]}"
    await set_user(provider, subject, email=f"{subject}@example.com", email_verified=True)
    code = (await sign_in_at_provider(client, provider, subject))["code"]

    assert (await exchange(client, code)).status_code == 200
    assert_problem(await exchange(client, code), 401, "UNAUTHORIZED")
    assert_problem(await exchange(client, "made-up"), 401, "UNAUTHORIZED")


async def test_a_verified_email_links_the_existing_account(
    client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    email = f"ada.{uuid.uuid4().hex[:8]}@example.com"
    pair = await signup(client, email)
    subject = f"sub-{uuid.uuid4().hex[:8]}"
    await set_user(provider, subject, email=email.upper(), email_verified=True)

    signed_in = await exchange(client, (await sign_in_at_provider(client, provider, subject))["code"])

    assert signed_in.json()["userId"] == pair["userId"]
    assert (await login(client, email)).status_code == 200  # the password still works too


async def test_an_unverified_email_never_claims_an_existing_account(
    client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    email = f"ada.{uuid.uuid4().hex[:8]}@example.com"
    await signup(client, email)
    subject = f"sub-{uuid.uuid4().hex[:8]}"
    await set_user(provider, subject, email=email, email_verified=False)

    landing = await sign_in_at_provider(client, provider, subject)

    assert landing == {"error": "OIDC_ACCOUNT_EXISTS"}


async def test_a_provider_without_an_email_is_refused(
    client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    subject = f"sub-{uuid.uuid4().hex[:8]}"
    await set_user(provider, subject, name="No Mail")
    assert await sign_in_at_provider(client, provider, subject) == {"error": "OIDC_EMAIL_REQUIRED"}


async def test_the_callback_needs_the_state_and_the_browser_that_started(
    client: httpx.AsyncClient, provider: httpx.AsyncClient, oidc_app: Starlette
) -> None:
    subject = f"sub-{uuid.uuid4().hex[:8]}"
    await set_user(provider, subject, email=f"{subject}@example.com", email_verified=True)
    start = await client.get("/api/auth/oidc/mock/login")
    authorize = urlsplit(start.headers["location"])
    consent = await provider.post(f"{authorize.path}?{authorize.query}", data={"sub": subject})
    back = urlsplit(consent.headers["location"])
    params = parse_qs(back.query)

    # Another browser (no state cookie) presenting the victim's callback URL: refused.
    transport = httpx.ASGITransport(oidc_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other_browser:
        hijack = await other_browser.get(f"{back.path}?{back.query}")
    assert "error=OIDC_STATE_INVALID" in hijack.headers["location"]

    # The state was consumed by that attempt, and a made-up one is unknown.
    replay = await client.get(f"{back.path}?{back.query}")
    forged = await client.get(f"{back.path}?code={params['code'][0]}&state=forged")
    for response in (replay, forged):
        assert response.status_code == 302
        assert "error=OIDC_STATE_INVALID" in response.headers["location"]


async def test_a_denied_consent_comes_back_as_an_error(
    client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    start = await client.get("/api/auth/oidc/mock/login")
    authorize = urlsplit(start.headers["location"])
    denied = await provider.post(f"{authorize.path}?{authorize.query}", data={"action": "deny"})
    back = urlsplit(denied.headers["location"])

    callback = await client.get(f"{back.path}?{back.query}")

    assert callback.headers["location"] == f"{APP_CALLBACK}?error=OIDC_DENIED"


async def test_with_totp_on_the_exchange_needs_a_code(
    client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    email = f"ada.{uuid.uuid4().hex[:8]}@example.com"
    pair = await signup(client, email)
    headers = bearer(pair["accessToken"])
    secret = (await client.post("/api/auth/totp/enroll", headers=headers)).json()["secret"]
    now_code = pyotp.TOTP(secret).now()
    assert (
        await client.post("/api/auth/totp/confirm", json={"code": now_code}, headers=headers)
    ).status_code == 200
    subject = f"sub-{uuid.uuid4().hex[:8]}"
    await set_user(provider, subject, email=email, email_verified=True)
    code = (await sign_in_at_provider(client, provider, subject))["code"]

    assert_problem(await exchange(client, code), 401, "TOTP_REQUIRED")
    assert_problem(await exchange(client, code, totpCode=now_code), 401, "TOTP_INVALID")  # already used
    next_code = pyotp.TOTP(secret).at(int(__import__("time").time()) + 30)
    signed_in = await exchange(client, code, totpCode=next_code)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["userId"] == pair["userId"]


async def test_an_unknown_provider_is_a_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/auth/oidc/nope/login"), 404, "OIDC_PROVIDER_NOT_FOUND")
    assert_problem(
        await client.get("/api/auth/oidc/nope/callback?code=x&state=y"), 404, "OIDC_PROVIDER_NOT_FOUND"
    )
