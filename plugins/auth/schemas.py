"""Request and response bodies of ``/api/auth`` (camelCase on the wire)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from wealist_core.http import ApiModel, Field

__all__ = [
    "Jwks",
    "LoginRequest",
    "LogoutRequest",
    "OidcExchangeRequest",
    "PasswordChangeRequest",
    "ProviderOut",
    "RecoveryCodes",
    "RefreshRequest",
    "SessionOut",
    "SignupRequest",
    "TokenPair",
    "TotpCodeRequest",
    "TotpEnrollment",
]

# Generous caps against abuse only: the password rules (8 to 128 characters) answer WEAK_PASSWORD.
_SECRET = Field(min_length=1, max_length=4096)


class SignupRequest(ApiModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = _SECRET
    name: str = Field(min_length=1, max_length=100, pattern=r"\S")
    locale: str | None = Field(default=None, min_length=2, max_length=16)


class LoginRequest(ApiModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = _SECRET
    totp_code: str | None = Field(default=None, max_length=32)


class TokenPair(ApiModel):
    """What a successful sign-in, sign-up, refresh or OIDC exchange answers."""

    user_id: uuid.UUID
    access_token: str
    refresh_token: str
    expires_in: int = Field(description="Seconds until the access token expires.")


class RefreshRequest(ApiModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutRequest(ApiModel):
    refresh_token: str | None = Field(default=None, max_length=512)


class SessionOut(ApiModel):
    session_id: uuid.UUID
    device: str
    ip: str | None
    created_at: dt.datetime
    last_used_at: dt.datetime
    current: bool = Field(description="Whether this is the session of the token making the request.")


class PasswordChangeRequest(ApiModel):
    current_password: str = _SECRET
    new_password: str = _SECRET


class TotpEnrollment(ApiModel):
    secret: str = Field(description="Base32 secret, for typing into an authenticator app.")
    otpauth_uri: str = Field(description="The otpauth:// URI to show as a QR code.")


class TotpCodeRequest(ApiModel):
    code: str = Field(
        min_length=1, max_length=32, description="A TOTP code (or, where accepted, a recovery code)."
    )


class RecoveryCodes(ApiModel):
    recovery_codes: list[str] = Field(description="Single-use codes; shown once, store them safely.")


class ProviderOut(ApiModel):
    id: str
    name: str


class OidcExchangeRequest(ApiModel):
    code: str = Field(min_length=1, max_length=256)
    totp_code: str | None = Field(default=None, max_length=32)


class Jwks(ApiModel):
    keys: list[dict[str, Any]]
