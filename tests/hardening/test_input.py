"""Bad input never answers 500: NUL and control characters in any request string are a 422 naming the field
(free text typed ``Text`` keeps its line breaks), JSON nested too deeply is 400 ``MALFORMED_JSON``, a body
that stalls short of its ``Content-Length`` is 408, and no statement's parameters reach the log.

Every HTTP test runs on the embedded defaults and on PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import text
from starlette.applications import Starlette

from tests.auth.support import PASSWORD, bearer, monolith, running, settings_for, signup, unique_email
from wealist_core.http import ApiModel, Text
from wealist_core.http import routing as http_routing
from wealist_core.http.models import INPUT_CONTEXT
from wealist_core.testing import BACKENDS


@pytest.fixture(params=BACKENDS)
def wealist_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app(settings_factory: Any, wealist_infrastructure: dict[str, Any]) -> Starlette:
    return monolith(settings_for(settings_factory, wealist_infrastructure))


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        yield client


def _field_of(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {error["field"] for error in response.json()["errors"]}


@pytest.mark.parametrize(
    "email",
    ["a\u0000@example.com", "a\u0007@example.com", "a\u202e@example.com", "a\ud800@example.com"],
    ids=["nul", "bell", "rtl-override", "lone-surrogate"],
)
async def test_a_control_character_in_the_login_email_is_a_422_naming_the_field(
    client: httpx.AsyncClient, email: str
) -> None:
    raw = json.dumps({"email": email, "password": PASSWORD})  # ASCII escapes: a lone surrogate survives
    response = await client.post("/api/auth/login", content=raw, headers={"content-type": "application/json"})
    assert _field_of(response) == {"body.email"}


async def test_a_name_with_an_rtl_override_or_a_newline_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    for name in ("Ada\u202eecalevol", "Ada\nLovelace", "Ada\u0000"):
        response = await client.post(
            "/api/auth/signup", json={"email": email, "password": PASSWORD, "name": name}
        )
        assert _field_of(response) == {"body.name"}
    # Nothing was half-written: the same email signs up cleanly afterwards.
    created = await signup(client, email=email)
    me = await client.get("/api/users/me", headers=bearer(created["accessToken"]))
    assert me.status_code == 200 and me.json()["name"] == "Ada Lovelace"


async def test_a_nul_in_a_query_string_or_a_path_is_refused_not_500(client: httpx.AsyncClient) -> None:
    token = (await signup(client))["accessToken"]
    listed = await client.get("/api/auth/sessions", params={"cursor": "a\u0000b"}, headers=bearer(token))
    assert listed.status_code < 500
    provider = await client.get("/api/auth/oidc/a%00b/login")
    assert provider.status_code in (404, 422)


async def test_json_nested_a_thousand_levels_is_a_400_malformed_json(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    for depth in (1000, 100_000):
        with caplog.at_level(logging.ERROR):
            response = await client.post(
                "/api/auth/login",
                content=b"[" * depth + b"]" * depth,
                headers={"content-type": "application/json"},
            )
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "MALFORMED_JSON"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # A shallow body still reaches validation.
    shallow = await client.post("/api/auth/login", json={"email": [[[["x"]]]], "password": PASSWORD})
    assert shallow.status_code == 422


async def test_a_body_shorter_than_its_content_length_is_answered_408(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_routing, "BODY_READ_TIMEOUT", 0.3)
    async with running(app):
        sent: list[dict[str, Any]] = []
        stalled = asyncio.Event()
        first = True

        async def receive() -> dict[str, Any]:
            nonlocal first
            if first:
                first = False
                return {"type": "http.request", "body": b'{"email": "a@', "more_body": True}
            await stalled.wait()  # the client never sends the rest
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/auth/login",
            "raw_path": b"/api/auth/login",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"test"),
                (b"content-type", b"application/json"),
                (b"content-length", b"500"),
            ],
            "client": ("127.0.0.1", 5000),
            "server": ("test", 80),
        }
        await asyncio.wait_for(app(scope, receive, send), timeout=10)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 408
    assert (b"connection", b"close") in [(k.lower(), v) for k, v in start["headers"]]


def test_text_fields_keep_line_breaks_and_tabs_but_never_nul() -> None:
    class Note(ApiModel):
        title: str
        body: Text = ""
        tags: list[str] = []

    note = Note.model_validate(
        {"title": "Plan", "body": "line one\n\tline two\r\n"}, context={INPUT_CONTEXT: True}
    )
    assert note.body == "line one\n\tline two\r\n"
    for bad in (
        {"title": "a\nb"},
        {"title": "a", "body": "x\u0000"},
        {"title": "a", "tags": ["ok", "\u0085"]},
    ):
        with pytest.raises(ValidationError) as raised:
            Note.model_validate(bad, context={INPUT_CONTEXT: True})
        assert raised.value.errors()[0]["type"] == "control_character"
    # A response model built from stored values is never refused.
    assert Note(title="a\nb").title == "a\nb"


async def test_a_failing_statement_never_carries_its_parameters(app: Starlette) -> None:
    async with running(app):
        database = app.state.wealist.container.database("auth")
        secret = "grace.hopper.secret@example.com"
        with pytest.raises(Exception) as raised:
            async with database.engine.connect() as connection:
                await connection.execute(
                    text("SELECT * FROM no_such_table WHERE email = :email"), {"email": secret}
                )
        assert secret not in str(raised.value)
