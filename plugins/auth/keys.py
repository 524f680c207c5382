"""Signing keys: Ed25519 keys that sign access tokens, their JWKS, and their rotation.

Keys come from one of two places:

- **the auth database** (the default): the first start of a non-production installation generates a key;
  ``wealist auth rotate-keys`` adds a new one. Private keys are stored sealed with ``WEALIST_SECRET_KEY``.
- **settings**: ``WEALIST_AUTH__SIGNING_KEY`` (an Ed25519 private key in PEM, or the path of one) signs, and
  ``WEALIST_AUTH__VERIFICATION_KEYS`` (PEM, or a path) lists retired keys still accepted.

The newest key signs. A key superseded by a newer one stays in the JWKS until every token it signed has
expired (the access-token lifetime plus ``WEALIST_AUTH__KEY_RETENTION``), then it is dropped. Each process
re-reads the database every ``WEALIST_AUTH__KEY_RELOAD_INTERVAL`` seconds, so a rotation made by the command
line reaches running processes without a restart. Private keys are never logged or serialised here.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import itertools
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import delete, select
from wealist_plugins.auth.models import SigningKeyRow
from wealist_plugins.auth.secretbox import SealedValueError, SecretBox

from wealist_core import ConfigurationError, Database

__all__ = ["ALGORITHM", "KeyRing", "KeyStore", "SigningKey", "load_static_keys"]

log = logging.getLogger("wealist.auth.keys")

ALGORITHM = "EdDSA"
_FORCED_RELOAD_INTERVAL = 1.0
_GENERATE_HINT = "openssl genpkey -algorithm ed25519 -out auth-signing-key.pem"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def thumbprint(key: Ed25519PublicKey) -> str:
    """The RFC 7638 thumbprint of the key's JWK: a stable key id, the same in every process."""
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _b64(_raw_public(key))}, separators=(",", ":")
    )
    return _b64(hashlib.sha256(canonical.encode()).digest())


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One key pair; ``private_key`` is None for a key that only verifies."""

    kid: str
    public_key: Ed25519PublicKey
    private_key: Ed25519PrivateKey | None = field(default=None, repr=False)
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @classmethod
    def generate(cls, created_at: dt.datetime | None = None) -> SigningKey:
        private = Ed25519PrivateKey.generate()
        public = private.public_key()
        return cls(thumbprint(public), public, private, created_at or dt.datetime.now(dt.UTC))

    def jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64(_raw_public(self.public_key)),
            "kid": self.kid,
            "alg": ALGORITHM,
            "use": "sig",
        }


# ------------------------------------------------------------------------------------------------- settings


def _pem_text(value: str, setting: str) -> bytes:
    if value.lstrip().startswith("-----BEGIN"):
        return value.encode()
    path = Path(value).expanduser()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"{setting} is neither a PEM key nor a readable file ({exc.strerror}: {path}); "
            f"create one with `{_GENERATE_HINT}`."
        ) from None


def _pem_blocks(data: bytes) -> list[bytes]:
    blocks: list[bytes] = []
    for part in data.split(b"-----BEGIN ")[1:]:
        blocks.append(b"-----BEGIN " + part)
    return blocks


def load_static_keys(signing_key: str, verification_keys: str) -> list[SigningKey]:
    """The keys given in settings, the signing one last; empty when ``signing_key`` is empty."""
    if not signing_key:
        if verification_keys:
            raise ConfigurationError(
                "WEALIST_AUTH__VERIFICATION_KEYS is set but WEALIST_AUTH__SIGNING_KEY is not; set both, or "
                "neither to keep keys in the auth database."
            )
        return []
    setting = "WEALIST_AUTH__SIGNING_KEY"
    try:
        private = serialization.load_pem_private_key(_pem_text(signing_key, setting), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"{setting} cannot be read as an unencrypted PEM private key ({exc}); "
            f"create one with `{_GENERATE_HINT}`."
        ) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise ConfigurationError(
            f"{setting} holds a {type(private).__name__.lstrip('_')}, not an Ed25519 key; "
            f"create one with `{_GENERATE_HINT}`."
        )
    keys: list[SigningKey] = []
    if verification_keys:
        setting = "WEALIST_AUTH__VERIFICATION_KEYS"
        for block in _pem_blocks(_pem_text(verification_keys, setting)):
            try:
                loaded: Any = (
                    serialization.load_pem_private_key(block, password=None).public_key()
                    if b"PRIVATE KEY" in block.split(b"\n", 1)[0]
                    else serialization.load_pem_public_key(block)
                )
            except (ValueError, TypeError) as exc:
                raise ConfigurationError(f"{setting} holds a key that cannot be read ({exc}).") from None
            if not isinstance(loaded, Ed25519PublicKey):
                raise ConfigurationError(
                    f"{setting} holds a {type(loaded).__name__.lstrip('_')}, not an Ed25519 key."
                )
            keys.append(SigningKey(thumbprint(loaded), loaded))
    public = private.public_key()
    keys.append(SigningKey(thumbprint(public), public, private))
    return keys


# ------------------------------------------------------------------------------------------------ database


class KeyStore:
    """Signing keys in the ``auth_signing_key`` table, private halves sealed with the deployment secret."""

    def __init__(self, database: Database, box: SecretBox) -> None:
        self._database = database
        self._box = box

    async def load(self) -> list[SigningKey]:
        """Every readable key, oldest first; a key sealed under another secret key is skipped (logged)."""
        async with self._database.unit_of_work() as uow:
            rows = (await uow.session.scalars(select(SigningKeyRow).order_by(SigningKeyRow.created_at))).all()
        keys: list[SigningKey] = []
        for row in rows:
            try:
                raw = self._box.open(row.private_key, label=row.kid)
            except SealedValueError:
                log.warning("signing key %s cannot be opened with WEALIST_SECRET_KEY; it is ignored", row.kid)
                continue
            private = Ed25519PrivateKey.from_private_bytes(raw)
            keys.append(SigningKey(row.kid, private.public_key(), private, row.created_at))
        return keys

    async def add(self, key: SigningKey) -> None:
        assert key.private_key is not None
        raw = key.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        async with self._database.unit_of_work() as uow:
            uow.session.add(
                SigningKeyRow(
                    kid=key.kid,
                    algorithm=ALGORITHM,
                    public_key=_b64(_raw_public(key.public_key)),
                    private_key=self._box.seal(raw, label=key.kid),
                    created_at=key.created_at,
                )
            )

    async def remove(self, kids: Sequence[str]) -> None:
        if not kids:
            return
        async with self._database.unit_of_work() as uow:
            await uow.session.execute(delete(SigningKeyRow).where(SigningKeyRow.kid.in_(list(kids))))


# --------------------------------------------------------------------------------------------------- ring


class KeyRing:
    """This process's view of the signing keys: the newest signs, the published ones verify."""

    def __init__(
        self,
        *,
        store: KeyStore | None,
        static: Sequence[SigningKey] = (),
        access_ttl: float,
        retention: float,
        reload_interval: float,
        production: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._static = list(static)
        self._store = None if self._static else store  # keys from settings: the database is not consulted
        self._keep = access_ttl + retention
        self._reload_interval = reload_interval
        self._production = production
        self._clock = clock
        self._keys: list[SigningKey] = list(static)
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    @property
    def from_settings(self) -> bool:
        return bool(self._static)

    async def start(self) -> None:
        """Load the keys; generate the first one unless this is production (where that is an error)."""
        if self.from_settings:
            return
        await self.reload()
        if self._keys:
            return
        if self._production:
            raise ConfigurationError(
                "WEALIST_AUTH__SIGNING_KEY is empty and the auth database holds no usable signing key; in "
                f"production set it to an Ed25519 private key in PEM or its path (`{_GENERATE_HINT}`), or "
                "create a key in the database with `wealist auth rotate-keys`."
            )
        await self.rotate()
        log.info("generated the first signing key %s", self.current().kid)

    async def reload(self) -> None:
        if self._store is None:
            return
        async with self._lock:
            self._keys = await self._store.load()
            self._loaded_at = self._clock()

    async def _fresh(self) -> None:
        if self._store is not None and self._clock() - self._loaded_at >= self._reload_interval:
            await self.reload()

    def current(self) -> SigningKey:
        if not self._keys:
            raise RuntimeError("the key ring has not been started")
        return self._keys[-1]

    async def signing_key(self) -> SigningKey:
        """The key that signs new tokens (reloaded from the database when the last load is old)."""
        await self._fresh()
        return self.current()

    def published(self) -> list[SigningKey]:
        """The current key and each older one still within reach of a live token."""
        if self.from_settings:
            return list(self._keys)
        now = self._clock()
        keys = self._keys
        out = [
            key for key, newer in itertools.pairwise(keys) if now < newer.created_at.timestamp() + self._keep
        ]
        if keys:
            out.append(keys[-1])
        return out

    async def jwks(self, refresh: bool = False) -> dict[str, Any]:
        """The JWKS document; ``refresh`` (a verifier met an unknown ``kid``) re-reads the database, at most
        once a second however many forged kids arrive."""
        if refresh and self._store is not None and self._clock() - self._loaded_at >= _FORCED_RELOAD_INTERVAL:
            await self.reload()
        else:
            await self._fresh()
        return {"keys": [key.jwk() for key in self.published()]}

    async def rotate(self) -> SigningKey:
        """Add a new current key and drop the keys no live token can need any more."""
        if self._store is None or self.from_settings:
            raise ConfigurationError(
                "Signing keys come from WEALIST_AUTH__SIGNING_KEY: rotate them there (move the old key to "
                "WEALIST_AUTH__VERIFICATION_KEYS until its tokens expire), or unset it to keep keys in the "
                "database."
            )
        await self.reload()
        key = SigningKey.generate(dt.datetime.fromtimestamp(self._clock(), dt.UTC))
        await self._store.add(key)
        await self.reload()
        published = {k.kid for k in self.published()}
        await self._store.remove([k.kid for k in self._keys if k.kid not in published])
        await self.reload()
        return key
