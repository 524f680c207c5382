"""Time-based one-time passwords (RFC 6238, through pyotp) and single-use recovery codes.

A code is accepted for the current 30-second step and one step either side (clock drift). The step it
matched is returned, so the caller can store it and refuse any code of the same or an earlier step: a
code seen once (shoulder-surfed, phished) cannot be replayed.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections.abc import Callable

import pyotp

__all__ = ["RECOVERY_CODES", "Totp", "is_totp_code", "new_recovery_codes", "normalise_recovery_code"]

RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: codes are read off paper
_TOTP_CODE = re.compile(r"^\d{6}$")
_DRIFT_STEPS = 1


def is_totp_code(code: str) -> bool:
    return bool(_TOTP_CODE.match(code.strip()))


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Codes such as ``k7m2q-xp9rt`` (50 bits each)."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalise_recovery_code(code: str) -> str:
    """Case, spaces and dashes do not matter when a code is typed back."""
    return re.sub(r"[\s-]", "", code).lower()


class Totp:
    """Secrets, provisioning URIs and verification for one issuer name."""

    def __init__(self, issuer: str, *, clock: Callable[[], float] = time.time) -> None:
        self.issuer = issuer
        self._clock = clock

    @staticmethod
    def new_secret() -> str:
        return pyotp.random_base32()

    def uri(self, secret: str, account: str) -> str:
        """The ``otpauth://`` URI an authenticator app reads from a QR code."""
        return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=self.issuer)

    def matching_step(self, secret: str, code: str) -> int | None:
        """The time step ``code`` belongs to (within the drift window), or None."""
        code = code.strip()
        if not _TOTP_CODE.match(code):
            return None
        totp = pyotp.TOTP(secret)
        step = totp.timecode(self._clock())
        for offset in range(-_DRIFT_STEPS, _DRIFT_STEPS + 1):
            if hmac.compare_digest(totp.generate_otp(step + offset), code):
                return step + offset
        return None

    def code_at(self, secret: str, timestamp: float) -> str:
        """The code of ``timestamp`` (what an authenticator app would show then)."""
        return pyotp.TOTP(secret).at(int(timestamp))
