"""Headers and exposure: ``nosniff`` on every answer, framing and script policies on HTML pages,
``no-store`` on every token answer, and no absolute filesystem path in readiness or the HTML 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.auth.support import bearer, monolith, running, settings_for, signup

pytestmark = pytest.mark.asyncio


@pytest.fixture
def app(settings_factory: Any, tmp_path: Any) -> Starlette:
    settings = settings_for(settings_factory, {})
    return monolith(settings.model_copy(update={"frontend_dir": tmp_path / "no-frontend-here"}))


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        yield client


async def test_every_json_answer_and_problem_carries_nosniff(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/health/live"),
        await client.get("/api/openapi.json"),
        await client.get("/api/no-such-route"),
        await client.post("/api/auth/login", json={}),
    ):
        assert response.headers.get("x-content-type-options") == "nosniff", response.url


async def test_html_pages_forbid_framing_and_foreign_scripts(client: httpx.AsyncClient) -> None:
    for path in ("/", "/api/docs", "/some/page"):
        response = await client.get(path)
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers.get("x-content-type-options") == "nosniff"
        assert response.headers.get("x-frame-options") == "DENY"
        csp = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert "'unsafe-eval'" not in csp
        assert response.headers.get("referrer-policy") == "strict-origin-when-cross-origin"
    # The docs page's own inline script is allowed by its hash, nothing else inline.
    docs = await client.get("/api/docs")
    assert "'sha256-" in docs.headers["content-security-policy"]


async def test_every_token_answer_is_no_store(client: httpx.AsyncClient) -> None:
    created = await signup(client)
    fresh = await client.post(
        "/api/auth/signup",
        json={"email": "no.store@example.com", "password": "correct horse battery staple", "name": "Ada"},
    )
    login = await client.post(
        "/api/auth/login", json={"email": "no.store@example.com", "password": "correct horse battery staple"}
    )
    refresh = await client.post("/api/auth/refresh", json={"refreshToken": created["refreshToken"]})
    enrol = await client.post("/api/auth/totp/enroll", headers=bearer(created["accessToken"]))
    for response in (fresh, login, refresh, enrol):
        assert response.status_code in (200, 201), response.text
        assert "no-store" in response.headers.get("cache-control", ""), response.url


async def test_no_absolute_path_in_readiness_or_the_html_404(
    client: httpx.AsyncClient, app: Starlette, tmp_path: Any
) -> None:
    data_dir = str(tmp_path)

    async def failing() -> None:
        raise OSError(f"unable to open database file {tmp_path / 'data' / 'wealist.db'}")

    app.state.wealist.health_checks["disk"] = failing
    ready = await client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["failing"] == ["disk"]
    assert data_dir not in ready.text and "/data/" not in ready.text
    missing = await client.get("/no/such/page")
    assert missing.status_code == 404
    assert data_dir not in missing.text and "no-frontend-here" not in missing.text
