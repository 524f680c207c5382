"""Signing keys: generated on first start, sealed at rest, loaded from settings, rotated and retired."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from wealist_plugins.auth.cli import rotate_keys
from wealist_plugins.auth.keys import KeyRing, SigningKey, thumbprint
from wealist_plugins.auth.models import SigningKeyRow
from wealist_plugins.auth.plugin import AuthPlugin

from tests.auth.support import (
    ADAPTERS,
    auth_plugin,
    bearer,
    login,
    monolith,
    running,
    settings_for,
    signup,
    unique_email,
)
from wealist_core import ConfigurationError

JWKS = "/api/auth/.well-known/jwks.json"


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


async def published(client: httpx.AsyncClient) -> list[str]:
    return [key["kid"] for key in (await client.get(JWKS)).json()["keys"]]


async def test_the_first_start_generates_a_key_kept_sealed_in_the_database(
    settings_factory: Any, backend: dict[str, Any]
) -> None:
    app = monolith(settings_for(settings_factory, backend))
    async with running(app) as client:
        [kid] = await published(client)
        async with auth_plugin(app).service.database.unit_of_work() as uow:
            row = (await uow.session.scalars(select(SigningKeyRow))).one()
    raw = (
        auth_plugin(app)
        .keys.current()
        .private_key.private_bytes(  # type: ignore[union-attr]
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
    )
    assert row.kid == kid and row.algorithm == "EdDSA"
    assert raw.hex() not in row.private_key and "PRIVATE" not in row.private_key

    again = monolith(settings_for(settings_factory, backend))  # a restart (or a second replica) reuses it
    async with running(again) as client:
        assert await published(client) == [kid]


async def test_rotation_adds_a_current_key_and_keeps_the_old_one_published(
    settings_factory: Any, backend: dict[str, Any]
) -> None:
    settings = settings_for(settings_factory, backend, key_reload_interval="0")
    app = monolith(settings)
    async with running(app) as client:
        email = unique_email()
        before = await signup(client, email)
        old_kid = kid_of(before["accessToken"])

        result = await rotate_keys(settings, adapters=ADAPTERS)

        assert result.new.kid != old_kid
        assert set(await published(client)) == {old_kid, result.new.kid}
        after = (await login(client, email)).json()
        assert kid_of(after["accessToken"]) == result.new.kid
        for pair in (before, after):  # tokens of both keys verify
            assert (await client.get("/api/whoami", headers=bearer(pair["accessToken"]))).status_code == 200


class ListStore:
    """A key store in a list: the ring's retention rule without a database."""

    def __init__(self) -> None:
        self.keys: list[SigningKey] = []

    async def load(self) -> list[SigningKey]:
        return sorted(self.keys, key=lambda k: k.created_at)

    async def add(self, key: SigningKey) -> None:
        self.keys.append(key)

    async def remove(self, kids: list[str]) -> None:
        self.keys = [k for k in self.keys if k.kid not in kids]


async def test_a_superseded_key_is_dropped_once_its_tokens_have_expired() -> None:
    now = [1_000_000.0]
    store = ListStore()
    ring = KeyRing(
        store=store,  # type: ignore[arg-type]
        access_ttl=900,
        retention=300,
        reload_interval=60,
        production=False,
        clock=lambda: now[0],
    )
    await ring.start()
    first = ring.current()
    now[0] += 10
    second = await ring.rotate()
    assert [k.kid for k in ring.published()] == [first.kid, second.kid]

    now[0] += 900 + 299  # a token signed by the first key just before the rotation may still be alive
    assert [k.kid for k in ring.published()] == [first.kid, second.kid]
    now[0] += 2
    assert [k.kid for k in ring.published()] == [second.kid]

    third = await ring.rotate()  # rotating also deletes what no token can need any more
    assert [k.kid for k in store.keys] == [second.kid, third.kid]


async def test_production_without_keys_stops_at_start(settings_factory: Any, backend: dict[str, Any]) -> None:
    settings = settings_for(settings_factory, backend).model_copy(update={"environment": "production"})
    app = monolith(settings)
    with pytest.raises(ConfigurationError, match="WEALIST_AUTH__SIGNING_KEY"):
        async with running(app):
            pass


def pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


async def test_keys_from_settings_sign_and_the_retired_ones_still_verify(
    settings_factory: Any, tmp_path: Path
) -> None:
    current, retired = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    key_file = tmp_path / "signing.pem"
    key_file.write_text(pem(current))
    settings = settings_for(settings_factory, {}, signing_key=str(key_file), verification_keys=pem(retired))
    app = monolith(settings.model_copy(update={"environment": "production"}))

    async with running(app) as client:
        pair = await signup(client)
        assert kid_of(pair["accessToken"]) == thumbprint(current.public_key())
        assert set(await published(client)) == {
            thumbprint(current.public_key()),
            thumbprint(retired.public_key()),
        }
        claims = jwt.decode(pair["accessToken"], options={"verify_signature": False})
        old = jwt.encode(
            claims, retired, algorithm="EdDSA", headers={"kid": thumbprint(retired.public_key())}
        )
        assert (await client.get("/api/whoami", headers=bearer(old))).status_code == 200

    with pytest.raises(ConfigurationError, match="WEALIST_AUTH__SIGNING_KEY is set"):
        await rotate_keys(settings, adapters=ADAPTERS)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"signing_key": "/no/such/file.pem"}, "neither a PEM key nor a readable file"),
        ({"signing_key": "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"}, "cannot be read"),
        ({"verification_keys": "-----BEGIN PUBLIC KEY-----"}, "WEALIST_AUTH__SIGNING_KEY is not"),
        ({"access_token_ttl": "soon"}, "WEALIST_AUTH__ACCESS_TOKEN_TTL is invalid"),
        ({"rate_limit_login_ip": "10 per minute"}, "WEALIST_AUTH__RATE_LIMIT_LOGIN_IP is invalid"),
        ({"oidc_providers": '[{"id": "g"}]'}, "lacks issuer, clientId"),
    ],
)
def test_bad_settings_stop_the_start_with_one_sentence(
    settings_factory: Any, options: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        monolith(settings_for(settings_factory, {}, **options))


def test_an_rsa_signing_key_is_refused(settings_factory: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    text = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(ConfigurationError, match="not an Ed25519 key"):
        monolith(settings_for(settings_factory, {}, signing_key=text))


def test_the_rotate_keys_command_is_registered() -> None:
    parser = argparse.ArgumentParser(prog="wealist")
    sub = parser.add_subparsers(dest="command")
    AuthPlugin().wealist_register_commands(cli=sub)

    args = parser.parse_args(["auth", "rotate-keys"])

    assert callable(args.func)
