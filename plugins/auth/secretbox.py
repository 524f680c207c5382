"""Secrets at rest: signing keys and TOTP secrets are sealed with a key derived from ``WEALIST_SECRET_KEY``.

A copy of the auth tables (a backup, a replica, a dump in a ticket) then reveals no signing key and no
second factor. Each purpose derives its own key (HKDF), and the sealed value is bound to a label (the key
id, the user id) so one row's ciphertext cannot be pasted into another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["SealedValueError", "SecretBox"]

_NONCE = 12


class SealedValueError(ValueError):
    """A sealed value that cannot be opened: tampered, or sealed under another secret key."""


class SecretBox:
    """AES-256-GCM under a key derived from the deployment's secret key for one ``purpose``."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        if not secret_key:
            raise ValueError("a secret key is needed to seal secrets")
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=f"wealist-auth:{purpose}".encode()
        ).derive(secret_key.encode())
        self._aead = AESGCM(key)
        self._mac_key = hashlib.sha256(b"mac:" + key).digest()

    def seal(self, plaintext: bytes, *, label: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, plaintext, label.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, token: str, *, label: str) -> bytes:
        try:
            raw = base64.urlsafe_b64decode(token.encode())
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], label.encode())
        except (InvalidTag, ValueError) as exc:
            raise SealedValueError("the value cannot be opened with this secret key") from exc

    def digest(self, value: str) -> str:
        """A keyed hash (HMAC-SHA256, hex): for one-time codes compared by equality, never reversed."""
        return hmac.new(self._mac_key, value.encode(), hashlib.sha256).hexdigest()
