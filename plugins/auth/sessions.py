"""Sessions and their refresh-token families, in the key-value store (auth's ``auth:`` key space).

A session is one sign-in on one device. It holds one valid refresh token at a time; every refresh
rotates it. Keys:

- ``refresh_token:{userId}:{sessionId}``: the session (JSON), including the hash of its current token;
- ``refresh_token_hash:{hash}``: which session a token (current or rotated) belongs to;
- ``refresh_token_used:{hash}``: set once when a token is rotated, so two racing uses cannot both win;
- ``refresh_sessions:{userId}``: the user's session ids;
- ``session_revoked:{sessionId}``: kills the session's live access tokens (checked by the verifier).

Presenting a token that was already rotated means two parties hold the family (a stolen token): the whole
session is revoked, the event logged, and the caller gets a 401, as does the legitimate holder next time.
Tokens are stored only as SHA-256 hashes (they are 256-bit random strings, so no slow hash is needed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass

from wealist_plugins.auth.tokens import blacklist_key, session_key, session_revoked_key

from wealist_core import KeyValue, Unauthorized

__all__ = ["RefreshResult", "SessionInfo", "SessionStore"]

log = logging.getLogger("wealist.auth.sessions")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat()


@dataclass(slots=True)
class SessionInfo:
    """One session as stored (times are ISO 8601 UTC)."""

    session_id: str
    user_id: str
    current: str  # hash of the valid refresh token
    device: str
    ip: str | None
    created_at: str
    last_used_at: str
    amr: list[str]


@dataclass(frozen=True, slots=True)
class RefreshResult:
    user_id: str
    session_id: str
    refresh_token: str
    amr: list[str]


def _invalid() -> Unauthorized:
    return Unauthorized("The refresh token is invalid, expired or revoked; sign in again.")


class SessionStore:
    """Creates, rotates, lists and revokes sessions."""

    def __init__(
        self,
        kv: KeyValue,
        *,
        refresh_ttl: float,
        revocation_ttl: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._kv = kv
        self._ttl = refresh_ttl
        self._revocation_ttl = revocation_ttl  # how long a revoked session's access tokens may live
        self._clock = clock

    @staticmethod
    def _session_key(user_id: str, session_id: str) -> str:
        return session_key(user_id, session_id)  # the verifier requires it: see tokens.py

    async def create(self, user_id: str, *, device: str, ip: str | None, amr: list[str]) -> tuple[str, str]:
        """A new session; returns ``(session id, refresh token)``."""
        session_id = str(uuid.uuid4())
        token = secrets.token_urlsafe(32)
        now = _iso(self._clock())
        info = SessionInfo(session_id, user_id, _hash(token), device, ip, now, now, amr)
        await self._kv.set(f"refresh_token_hash:{info.current}", f"{user_id}:{session_id}", ttl=self._ttl)
        await self._save(info)
        await self._kv.sadd(f"refresh_sessions:{user_id}", session_id)
        await self._kv.expire(f"refresh_sessions:{user_id}", self._ttl)
        return session_id, token

    async def rotate(self, token: str, *, ip: str | None) -> RefreshResult:
        """Exchange a refresh token for the next one of its family; reuse revokes the family."""
        hashed = _hash(token)
        owner = await self._kv.get(f"refresh_token_hash:{hashed}")
        if owner is None:
            raise _invalid()
        user_id, _, session_id = owner.partition(":")
        info = await self._load(user_id, session_id)
        if info is None:
            raise _invalid()
        if info.current != hashed or not await self._kv.set(
            f"refresh_token_used:{hashed}", "1", ttl=self._ttl, only_if_absent=True
        ):
            await self.revoke(user_id, session_id)
            log.warning(
                "refresh token reused: session revoked",
                extra={"user_id": user_id, "session_id": session_id, "ip": ip},
            )
            raise Unauthorized(
                "The refresh token was already used; the session has been revoked. Sign in again."
            )
        new_token = secrets.token_urlsafe(32)
        info.current = _hash(new_token)
        info.last_used_at = _iso(self._clock())
        info.ip = ip or info.ip
        await self._kv.set(f"refresh_token_hash:{info.current}", f"{user_id}:{session_id}", ttl=self._ttl)
        await self._save(info)
        # A revocation that landed while this rotation ran must win over the record just written.
        if await self._kv.exists(session_revoked_key(session_id)):
            await self._kv.delete(self._session_key(user_id, session_id))
            raise _invalid()
        await self._kv.expire(f"refresh_sessions:{user_id}", self._ttl)
        return RefreshResult(user_id, session_id, new_token, info.amr)

    async def user_of(self, token: str) -> str | None:
        """The user a refresh token was issued to (current or rotated), for per-account rate limits."""
        owner = await self._kv.get(f"refresh_token_hash:{_hash(token)}")
        return owner.partition(":")[0] if owner else None

    async def owner(self, token: str) -> tuple[str, str] | None:
        """``(user id, session id)`` of a refresh token of a live session, without using it."""
        owner = await self._kv.get(f"refresh_token_hash:{_hash(token)}")
        if owner is None:
            return None
        user_id, _, session_id = owner.partition(":")
        return (user_id, session_id) if await self._load(user_id, session_id) is not None else None

    async def list_for(self, user_id: str) -> list[SessionInfo]:
        """The user's live sessions, most recently used first."""
        ids = await self._kv.smembers(f"refresh_sessions:{user_id}")
        sessions: list[SessionInfo] = []
        for session_id in ids:
            info = await self._load(user_id, session_id)
            if info is None:
                await self._kv.srem(f"refresh_sessions:{user_id}", session_id)  # expired meanwhile
            else:
                sessions.append(info)
        return sorted(sessions, key=lambda s: s.last_used_at, reverse=True)

    async def exists(self, user_id: str, session_id: str) -> bool:
        return await self._load(user_id, session_id) is not None

    async def revoke(self, user_id: str, session_id: str) -> bool:
        """End a session: its refresh token stops working and its access tokens die at once. True when it
        was live."""
        await self._kv.set(session_revoked_key(session_id), "1", ttl=self._revocation_ttl)
        removed = await self._kv.delete(self._session_key(user_id, session_id))
        await self._kv.srem(f"refresh_sessions:{user_id}", session_id)
        return removed > 0

    async def revoke_all(self, user_id: str, *, keep: str | None = None) -> int:
        """End every session of the user but ``keep``; the number ended."""
        count = 0
        for session_id in await self._kv.smembers(f"refresh_sessions:{user_id}"):
            if session_id != keep and await self.revoke(user_id, session_id):
                count += 1
        return count

    async def revoke_access_token(self, jti: str, expires_at: float | None) -> None:
        """Revoke one access token in every process until it would have expired anyway."""
        remaining = (expires_at - self._clock()) if expires_at is not None else self._revocation_ttl
        await self._kv.set(blacklist_key(jti), "1", ttl=max(1.0, remaining + 60))

    # ----------------------------------------------------------------------------------------------- storage

    async def _load(self, user_id: str, session_id: str) -> SessionInfo | None:
        raw = await self._kv.get(self._session_key(user_id, session_id))
        if raw is None:
            return None
        return SessionInfo(**json.loads(raw))

    async def _save(self, info: SessionInfo) -> None:
        await self._kv.set(
            self._session_key(info.user_id, info.session_id), json.dumps(asdict(info)), ttl=self._ttl
        )
