"""Assertions on what the host answers."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["assert_problem"]


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """``response`` is an RFC 9457 problem with ``status`` and the stable ``code``; its body."""
    assert response.status_code == status, f"{response.status_code} instead of {status}: {response.text}"
    assert response.headers["content-type"] == "application/problem+json", response.headers["content-type"]
    body: dict[str, Any] = response.json()
    assert body.get("code") == code, f"code {body.get('code')!r} instead of {code!r}: {body}"
    assert body.get("status") == status, body
    return body
