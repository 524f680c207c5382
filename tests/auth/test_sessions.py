"""Refresh-token families, sessions, logout and password changes."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest

from tests.auth.support import PASSWORD, assert_problem, bearer, login, signup, unique_email

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/auth/refresh", json={"refreshToken": token})


async def whoami_status(client: httpx.AsyncClient, access: str) -> int:
    return (await client.get("/api/whoami", headers=bearer(access))).status_code


async def test_refresh_rotates_the_pair(client: httpx.AsyncClient) -> None:
    first = await signup(client)

    response = await refresh(client, first["refreshToken"])

    assert response.status_code == 200, response.text
    second = response.json()
    assert second["userId"] == first["userId"]
    assert second["refreshToken"] != first["refreshToken"]
    assert second["accessToken"] != first["accessToken"]
    assert await whoami_status(client, second["accessToken"]) == 200
    third = await refresh(client, second["refreshToken"])
    assert third.status_code == 200, third.text


async def test_refresh_token_reuse_revokes_the_family(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    stolen = await signup(client)
    legit = (await refresh(client, stolen["refreshToken"])).json()  # the legitimate holder moved on

    with caplog.at_level(logging.WARNING, logger="wealist.auth.sessions"):
        replay = await refresh(client, stolen["refreshToken"])  # the thief replays the old token

    assert_problem(replay, 401, "UNAUTHORIZED")
    # The whole family is revoked: the legitimate holder's refresh and access tokens die too.
    assert_problem(await refresh(client, legit["refreshToken"]), 401, "UNAUTHORIZED")
    assert await whoami_status(client, legit["accessToken"]) == 401
    [record] = [r for r in caplog.records if "reused" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert record.user_id == stolen["userId"]  # type: ignore[attr-defined]
    assert record.session_id  # type: ignore[attr-defined]


async def test_reuse_revokes_only_that_session(client: httpx.AsyncClient) -> None:
    email = unique_email()
    laptop = await signup(client, email)
    phone = (await login(client, email)).json()
    await refresh(client, laptop["refreshToken"])

    assert_problem(await refresh(client, laptop["refreshToken"]), 401, "UNAUTHORIZED")

    assert (await refresh(client, phone["refreshToken"])).status_code == 200


async def test_an_unknown_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    assert_problem(await refresh(client, "not-a-token"), 401, "UNAUTHORIZED")


async def test_logout_revokes_the_access_token_and_its_refresh_family(client: httpx.AsyncClient) -> None:
    email = unique_email()
    pair = await signup(client, email)
    other = (await login(client, email)).json()

    response = await client.post("/api/auth/logout", headers=bearer(pair["accessToken"]), json={})

    assert response.status_code == 204
    assert await whoami_status(client, pair["accessToken"]) == 401
    assert_problem(await refresh(client, pair["refreshToken"]), 401, "UNAUTHORIZED")
    assert await whoami_status(client, other["accessToken"]) == 200  # another session lives on


async def test_logout_without_a_token_is_a_401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/api/auth/logout", json={}), 401, "UNAUTHORIZED")


async def test_logout_all_revokes_every_session(client: httpx.AsyncClient) -> None:
    email = unique_email()
    sessions = [await signup(client, email)] + [(await login(client, email)).json() for _ in range(2)]
    bystander = await signup(client)

    response = await client.post("/api/auth/logout-all", headers=bearer(sessions[1]["accessToken"]))

    assert response.status_code == 204
    for pair in sessions:
        assert await whoami_status(client, pair["accessToken"]) == 401
        assert_problem(await refresh(client, pair["refreshToken"]), 401, "UNAUTHORIZED")
    assert await whoami_status(client, bystander["accessToken"]) == 200


async def test_sessions_are_listed_with_device_ip_and_which_is_current(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await client.post(
        "/api/auth/signup",
        json={"email": email, "password": PASSWORD, "name": "A"},
        headers={"User-Agent": FIREFOX},
    )
    phone = (
        await client.post(
            "/api/auth/login", json={"email": email, "password": PASSWORD}, headers={"User-Agent": SAFARI_IOS}
        )
    ).json()

    response = await client.get("/api/auth/sessions", headers=bearer(phone["accessToken"]))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["nextCursor"] is None
    items = {item["device"]: item for item in body["items"]}
    assert set(items) == {"Firefox on Linux", "Safari on iOS"}
    assert items["Safari on iOS"]["current"] is True and items["Firefox on Linux"]["current"] is False
    assert all(item["ip"] == "127.0.0.1" for item in body["items"])
    assert all(item["createdAt"] and item["lastUsedAt"] for item in body["items"])


async def test_deleting_one_of_my_sessions_revokes_it(client: httpx.AsyncClient) -> None:
    email = unique_email()
    laptop = await signup(client, email)
    phone = (await login(client, email)).json()
    listed = (await client.get("/api/auth/sessions", headers=bearer(laptop["accessToken"]))).json()["items"]
    phone_session = next(item["sessionId"] for item in listed if not item["current"])

    response = await client.delete(
        f"/api/auth/sessions/{phone_session}", headers=bearer(laptop["accessToken"])
    )

    assert response.status_code == 204
    assert await whoami_status(client, phone["accessToken"]) == 401
    assert_problem(await refresh(client, phone["refreshToken"]), 401, "UNAUTHORIZED")
    assert await whoami_status(client, laptop["accessToken"]) == 200


async def test_a_stranger_cannot_delete_my_session(client: httpx.AsyncClient) -> None:
    mine = await signup(client)
    stranger = await signup(client)
    my_session = (await client.get("/api/auth/sessions", headers=bearer(mine["accessToken"]))).json()[
        "items"
    ][0]

    response = await client.delete(
        f"/api/auth/sessions/{my_session['sessionId']}", headers=bearer(stranger["accessToken"])
    )

    assert_problem(response, 404, "SESSION_NOT_FOUND")
    assert await whoami_status(client, mine["accessToken"]) == 200
    assert (await refresh(client, mine["refreshToken"])).status_code == 200


async def test_an_unknown_or_malformed_session_id_is_a_404(client: httpx.AsyncClient) -> None:
    pair = await signup(client)
    unknown = await client.delete(f"/api/auth/sessions/{uuid.uuid4()}", headers=bearer(pair["accessToken"]))
    malformed = await client.delete("/api/auth/sessions/not-a-uuid", headers=bearer(pair["accessToken"]))
    assert_problem(unknown, 404, "SESSION_NOT_FOUND")
    assert_problem(malformed, 404, "NOT_FOUND")


async def test_changing_the_password_ends_the_other_sessions(client: httpx.AsyncClient) -> None:
    email = unique_email()
    current = await signup(client, email)
    other = (await login(client, email)).json()
    new_password = "a much better passphrase"

    response = await client.post(
        "/api/auth/password",
        json={"currentPassword": PASSWORD, "newPassword": new_password},
        headers=bearer(current["accessToken"]),
    )

    assert response.status_code == 204, response.text
    assert await whoami_status(client, current["accessToken"]) == 200
    assert await whoami_status(client, other["accessToken"]) == 401
    assert_problem(await refresh(client, other["refreshToken"]), 401, "UNAUTHORIZED")
    assert_problem(await login(client, email, PASSWORD), 401, "UNAUTHORIZED")
    assert (await login(client, email, new_password)).status_code == 200


async def test_a_password_change_needs_the_current_password_and_a_good_new_one(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    pair = await signup(client, email)
    headers = bearer(pair["accessToken"])

    wrong = await client.post(
        "/api/auth/password",
        json={"currentPassword": "nope nope nope", "newPassword": "x" * 20},
        headers=headers,
    )
    weak = await client.post(
        "/api/auth/password", json={"currentPassword": PASSWORD, "newPassword": "password1"}, headers=headers
    )
    same = await client.post(
        "/api/auth/password", json={"currentPassword": PASSWORD, "newPassword": PASSWORD}, headers=headers
    )

    assert_problem(wrong, 403, "WRONG_PASSWORD")
    assert assert_problem(weak, 422, "WEAK_PASSWORD")["errors"][0]["field"] == "body.newPassword"
    assert assert_problem(same, 422, "WEAK_PASSWORD")["rule"] == "unchanged"
    assert (await login(client, email)).status_code == 200
