"""Principals and service tokens."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Principal", "service_token_matches"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request: a user (``kind="user"``) or another Wealist process (``kind="service"``)."""

    id: str
    kind: str = "user"
    session_id: str | None = None
    token_id: str | None = None  # the access token's jti, so logout can revoke it
    expires_at: float | None = None
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def is_service(self) -> bool:
        return self.kind == "service"


def service_token_matches(presented: str | None, expected: str) -> bool:
    """Constant-time comparison; an empty expected token matches nothing."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())
