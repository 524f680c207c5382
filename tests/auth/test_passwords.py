"""Sign-up and sign-in with an email and a password: rules, normalisation, no account enumeration."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from wealist_plugins.auth.models import Account
from wealist_plugins.auth.passwords import PasswordHasher
from wealist_plugins.user.contract import UserInfo

from tests.auth.support import (
    PASSWORD,
    FakeUserPlugin,
    assert_problem,
    auth_plugin,
    bearer,
    directory,
    fake_directory,
    login,
    monolith,
    running,
    settings_for,
    signup,
    unique_email,
)


async def test_signup_answers_a_token_pair_for_a_new_directory_user(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    email = unique_email()
    pair = await signup(client, email, name="Ada Lovelace")

    assert set(pair) == {"userId", "accessToken", "refreshToken", "expiresIn"}
    assert pair["expiresIn"] == 900
    [user] = await directory(app).get_users([uuid.UUID(pair["userId"])])
    assert (user.email, user.name) == (email, "Ada Lovelace")
    me = await client.get("/api/whoami", headers=bearer(pair["accessToken"]))
    assert me.status_code == 200, me.text
    assert me.json()["userId"] == pair["userId"]


async def test_the_email_is_trimmed_and_lower_cased(client: httpx.AsyncClient, app: Starlette) -> None:
    local = f"Ada.{uuid.uuid4().hex[:8]}"
    pair = await signup(client, f"  {local}@Example.COM ")

    [user] = await directory(app).get_users([uuid.UUID(pair["userId"])])
    assert user.email == f"{local.lower()}@example.com"
    again = await login(client, f"{local.upper()}@EXAMPLE.com  ")
    assert again.status_code == 200, again.text
    assert again.json()["userId"] == pair["userId"]


async def test_a_taken_email_is_a_409_whatever_its_case(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await signup(client, email)

    response = await client.post(
        "/api/auth/signup", json={"email": email.upper(), "password": "another fine password", "name": "Eve"}
    )
    assert_problem(response, 409, "EMAIL_TAKEN")


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short1!", "min_length"),
        ("x" * 129, "max_length"),
        ("iloveyou", "common"),
        ("Password1", "common"),
        ("qwertyuiop", "common"),
    ],
)
async def test_a_weak_password_is_a_422_naming_the_rule(
    local_client: httpx.AsyncClient, password: str, rule: str
) -> None:
    response = await local_client.post(
        "/api/auth/signup", json={"email": unique_email(), "password": password, "name": "A"}
    )
    body = assert_problem(response, 422, "WEAK_PASSWORD")
    assert body["rule"] == rule
    assert body["errors"][0]["field"] == "body.password"


async def test_the_password_may_not_be_the_email(local_client: httpx.AsyncClient) -> None:
    email = unique_email()
    response = await local_client.post(
        "/api/auth/signup", json={"email": email, "password": email.upper(), "name": "A"}
    )
    assert assert_problem(response, 422, "WEAK_PASSWORD")["rule"] == "equals_email"


@pytest.mark.parametrize("email", ["not-an-address", "two@@example.com", "ada@localhost"])
async def test_an_invalid_email_is_a_422(local_client: httpx.AsyncClient, email: str) -> None:
    response = await local_client.post(
        "/api/auth/signup", json={"email": email, "password": PASSWORD, "name": "A"}
    )
    assert_problem(response, 422, "INVALID_EMAIL")


async def test_missing_or_unknown_fields_are_422_not_500(local_client: httpx.AsyncClient) -> None:
    assert_problem(
        await local_client.post("/api/auth/signup", json={"email": unique_email()}), 422, "VALIDATION_ERROR"
    )
    assert_problem(
        await local_client.post("/api/auth/login", json={"password": PASSWORD}), 422, "VALIDATION_ERROR"
    )
    response = await local_client.post(
        "/api/auth/login", json={"email": "a@b.co", "password": "x", "admin": True}
    )
    assert_problem(response, 422, "VALIDATION_ERROR")
    assert_problem(
        await local_client.post(
            "/api/auth/login", content=b"{", headers={"content-type": "application/json"}
        ),
        400,
        "MALFORMED_JSON",
    )


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await signup(client, email)

    wrong_password = await login(client, email, "not the password at all")
    unknown_email = await login(client, unique_email(), "not the password at all")

    first = assert_problem(wrong_password, 401, "UNAUTHORIZED")
    second = assert_problem(unknown_email, 401, "UNAUTHORIZED")
    assert first["detail"] == second["detail"]
    assert {k: v for k, v in first.items() if k != "requestId"} == {
        k: v for k, v in second.items() if k != "requestId"
    }


class CountingHasher(PasswordHasher):
    """The real hasher, counting the Argon2 verifications it runs."""

    verifications = 0

    async def verify(self, stored: str, password: str) -> bool:
        type(self).verifications += 1
        return await super().verify(stored, password)


async def test_an_unknown_email_still_costs_one_argon2_verification(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    service = auth_plugin(app).service
    service.hasher = CountingHasher(time_cost=1, memory_cost=1024, parallelism=1)
    email = unique_email()
    await signup(client, email)
    CountingHasher.verifications = 0

    await login(client, unique_email(), PASSWORD)
    unknown = CountingHasher.verifications
    await login(client, email, "a wrong password here")
    known = CountingHasher.verifications - unknown

    assert unknown == known == 1


@pytest.fixture
async def fake_client(
    settings_factory: Any, backend: dict[str, Any]
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """An application whose directory is in memory, so a test can place users created at any time."""
    app = monolith(settings_for(settings_factory, backend), user=FakeUserPlugin)
    async with running(app) as client:
        yield app, client


async def test_an_email_taken_in_the_directory_leaves_no_credential_behind(
    fake_client: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = fake_client
    email = unique_email()
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    user_id = uuid.uuid4()
    fake_directory(app).users[user_id] = UserInfo(user_id=user_id, email=email, name="Grace", created_at=old)

    response = await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD, "name": "E"})

    assert_problem(response, 409, "EMAIL_TAKEN")
    async with auth_plugin(app).service.database.unit_of_work() as uow:
        assert await uow.session.scalar(select(Account).where(Account.email == email)) is None
    assert_problem(await login(client, email), 401, "UNAUTHORIZED")


async def test_a_user_left_without_credentials_by_an_interrupted_signup_is_adopted(
    fake_client: tuple[Starlette, httpx.AsyncClient],
) -> None:
    # The directory created the user, then auth's commit failed: the user exists, credentials do not.
    app, client = fake_client
    email = unique_email()
    orphan = uuid.uuid4()
    fake_directory(app).users[orphan] = UserInfo(
        user_id=orphan, email=email, name="Ada", created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    )

    pair = await signup(client, email)

    assert pair["userId"] == str(orphan)
    assert (await login(client, email)).json()["userId"] == str(orphan)


async def test_a_directory_user_who_signed_up_elsewhere_long_ago_is_not_adopted(
    fake_client: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = fake_client
    email = unique_email()
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)
    fake_directory(app).users[uuid.uuid4()] = UserInfo(
        user_id=uuid.uuid4(), email=email, name="A", created_at=old
    )

    response = await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD, "name": "E"})

    assert_problem(response, 409, "EMAIL_TAKEN")


async def test_a_successful_sign_in_upgrades_a_hash_made_with_another_cost(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    email = unique_email()
    pair = await signup(client, email)
    service = auth_plugin(app).service
    older = PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1)
    async with service.database.unit_of_work() as uow:
        account = await uow.session.get(Account, uuid.UUID(pair["userId"]))
        assert account is not None
        account.password_hash = await older.hash(PASSWORD)

    assert (await login(client, email)).status_code == 200

    async with service.database.unit_of_work() as uow:
        account = await uow.session.get(Account, uuid.UUID(pair["userId"]))
        assert account is not None and account.password_hash is not None
        assert "t=1," in account.password_hash and not service.hasher.needs_rehash(account.password_hash)
