"""Two-factor sign-in with TOTP: enrolment, sign-in, replay protection, recovery codes, turning it off."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp

from tests.auth.support import assert_problem, bearer, login, signup, unique_email


def code(secret: str, steps_ahead: int = 0) -> str:
    """What an authenticator app shows now (or ``steps_ahead`` 30-second steps later)."""
    return pyotp.TOTP(secret).at(int(time.time()) + 30 * steps_ahead)


async def enable_totp(client: httpx.AsyncClient, pair: dict[str, Any]) -> tuple[str, list[str]]:
    headers = bearer(pair["accessToken"])
    enrolled = await client.post("/api/auth/totp/enroll", headers=headers)
    assert enrolled.status_code == 200, enrolled.text
    secret = enrolled.json()["secret"]
    confirmed = await client.post("/api/auth/totp/confirm", json={"code": code(secret)}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recoveryCodes"]


async def test_enrolment_gives_a_secret_and_an_otpauth_uri(client: httpx.AsyncClient) -> None:
    email = unique_email()
    pair = await signup(client, email)

    response = await client.post("/api/auth/totp/enroll", headers=bearer(pair["accessToken"]))

    assert response.status_code == 200, response.text
    body = response.json()
    uri = urlsplit(body["otpauthUri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query)["secret"] == [body["secret"]]
    assert parse_qs(uri.query)["issuer"] == ["Wealist"]
    assert email in uri.path.replace("%40", "@")


async def test_confirming_with_a_wrong_code_keeps_it_off(client: httpx.AsyncClient) -> None:
    email = unique_email()
    pair = await signup(client, email)
    headers = bearer(pair["accessToken"])
    secret = (await client.post("/api/auth/totp/enroll", headers=headers)).json()["secret"]
    wrong = "000000" if code(secret) != "000000" else "111111"

    assert_problem(
        await client.post("/api/auth/totp/confirm", json={"code": wrong}, headers=headers),
        403,
        "TOTP_INVALID",
    )
    assert (await login(client, email)).status_code == 200  # no code asked


async def test_confirming_without_enrolling_is_a_409(client: httpx.AsyncClient) -> None:
    pair = await signup(client)
    response = await client.post(
        "/api/auth/totp/confirm", json={"code": "123456"}, headers=bearer(pair["accessToken"])
    )
    assert_problem(response, 409, "TOTP_NOT_ENROLLING")


async def test_once_enabled_sign_in_needs_a_code_that_cannot_be_replayed(client: httpx.AsyncClient) -> None:
    email = unique_email()
    secret, recovery = await enable_totp(client, await signup(client, email))
    assert len(recovery) == 10 and len(set(recovery)) == 10

    assert_problem(await login(client, email), 401, "TOTP_REQUIRED")
    assert_problem(
        await login(client, email, "wrong password!!", totpCode=code(secret, 1)), 401, "UNAUTHORIZED"
    )

    next_code = code(secret, 1)  # the confirmation used this step's code; the next step's is fresh
    signed_in = await login(client, email, totpCode=next_code)
    assert signed_in.status_code == 200, signed_in.text
    assert_problem(await login(client, email, totpCode=next_code), 401, "TOTP_INVALID")  # replayed
    assert_problem(await login(client, email, totpCode=code(secret)), 401, "TOTP_INVALID")  # an older step


async def test_a_recovery_code_signs_in_once(client: httpx.AsyncClient) -> None:
    email = unique_email()
    _secret, recovery = await enable_totp(client, await signup(client, email))

    typed = recovery[3].upper().replace("-", " ")  # case and separators do not matter
    first = await login(client, email, totpCode=typed)
    again = await login(client, email, totpCode=recovery[3])

    assert first.status_code == 200, first.text
    assert_problem(again, 401, "TOTP_INVALID")
    assert_problem(await login(client, email, totpCode="zzzzz-zzzzz"), 401, "TOTP_INVALID")


async def test_enrolling_twice_is_a_409(client: httpx.AsyncClient) -> None:
    pair = await signup(client)
    await enable_totp(client, pair)
    assert_problem(
        await client.post("/api/auth/totp/enroll", headers=bearer(pair["accessToken"])), 409, "TOTP_ENABLED"
    )


async def test_turning_it_off_needs_a_valid_code(client: httpx.AsyncClient) -> None:
    email = unique_email()
    pair = await signup(client, email)
    secret, _recovery = await enable_totp(client, pair)
    headers = bearer(pair["accessToken"])

    refused = await client.request(
        "DELETE", "/api/auth/totp", json={"code": code(secret)}, headers=headers
    )  # used
    assert_problem(refused, 403, "TOTP_INVALID")
    accepted = await client.request(
        "DELETE", "/api/auth/totp", json={"code": code(secret, 1)}, headers=headers
    )
    assert accepted.status_code == 204, accepted.text

    assert (await login(client, email)).status_code == 200
    again = await client.request("DELETE", "/api/auth/totp", json={"code": code(secret, 1)}, headers=headers)
    assert_problem(again, 409, "TOTP_NOT_ENABLED")


async def test_a_recovery_code_can_turn_it_off(client: httpx.AsyncClient) -> None:
    email = unique_email()
    pair = await signup(client, email)
    _secret, recovery = await enable_totp(client, pair)

    response = await client.request(
        "DELETE", "/api/auth/totp", json={"code": recovery[0]}, headers=bearer(pair["accessToken"])
    )

    assert response.status_code == 204, response.text
    assert (await login(client, email)).status_code == 200
