"""Presence: ONLINE, AWAY or OFFLINE per user, from the sockets she holds open, in the key-value store.

Each socket is a member of the sorted set ``chat:user:{userId}:sockets`` (scored by when it expires unless
refreshed), named ``<socket id>:<ONLINE|AWAY>``. A user is ONLINE when one of her live sockets is, AWAY when
all are away, OFFLINE without any: several tabs count once. The result is kept in
``chat:user:{userId}:status`` with the presence TTL (so a process that dies takes its users offline within
the TTL) and ``chat:user:{userId}:seen`` holds when she was last connected. A change is pushed as
``USER_STATUS`` to every workspace she belongs to. ``chat:workspace:{workspaceId}:online`` is a sorted set of
the workspace's connected members (scored by expiry, like the sockets), so that "who of these recipients
has a socket open" is one read per message, whatever the chat's size.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterable

from wealist_plugins.chat.fanout import Fanout
from wealist_plugins.user.contract import Directory

from wealist_core import KeyValue, utcnow

__all__ = ["Presence"]

STATUSES = ("ONLINE", "AWAY", "OFFLINE")
SEEN_TTL = 90 * 86400


class Presence:
    def __init__(self, keyvalue: KeyValue, directory: Directory, fanout: Fanout, ttl: int) -> None:
        self.kv = keyvalue
        self.directory = directory
        self.fanout = fanout
        self.ttl = ttl

    @staticmethod
    def _sockets(user_id: str) -> str:
        return f"user:{user_id}:sockets"

    @staticmethod
    def _status(user_id: str) -> str:
        return f"user:{user_id}:status"

    @staticmethod
    def _seen(user_id: str) -> str:
        return f"user:{user_id}:seen"

    async def _effective(self, user_id: str) -> str:
        now = time.time()
        key = self._sockets(user_id)
        await self.kv.zremrange_by_score(key, float("-inf"), now)
        live = await self.kv.zrange_by_score(key, now, float("inf"))
        if any(member.endswith(":ONLINE") for member, _ in live):
            return "ONLINE"
        return "AWAY" if live else "OFFLINE"

    @staticmethod
    def _online(workspace_id: uuid.UUID | str) -> str:
        return f"workspace:{workspace_id}:online"

    async def _settle(self, user_id: str) -> None:
        """Store the user's status and push it when it changed."""
        status = await self._effective(user_id)
        workspaces = [m.workspace_id for m in await self.directory.user_workspaces(uuid.UUID(user_id))]
        for workspace_id in workspaces:
            key = self._online(workspace_id)
            if status == "OFFLINE":
                await self.kv.zrem(key, user_id)
            else:
                await self.kv.zadd(key, {user_id: time.time() + self.ttl})
                await self.kv.expire(key, self.ttl * 2)
        before = await self.kv.get(self._status(user_id)) or "OFFLINE"
        await self.kv.set(self._seen(user_id), utcnow().isoformat(), ttl=SEEN_TTL)
        if status == "OFFLINE":
            await self.kv.delete(self._status(user_id))
        else:
            await self.kv.set(self._status(user_id), status, ttl=self.ttl)
        if status != before:
            await self.push(uuid.UUID(user_id), status, workspaces)

    async def push(self, user_id: uuid.UUID, status: str, workspaces: list[uuid.UUID]) -> None:
        frame = {"userId": str(user_id), "status": status}
        for workspace_id in workspaces:
            await self.fanout.workspace(
                workspace_id, "USER_STATUS", {**frame, "workspaceId": str(workspace_id)}
            )

    async def set_socket(
        self, user_id: str, socket_id: str, status: str, previous: str | None = None
    ) -> None:
        """A socket of the user is open with ``status`` (``previous`` its former one)."""
        key = self._sockets(user_id)
        if previous is not None and previous != status:
            await self.kv.zrem(key, f"{socket_id}:{previous}")
        await self.kv.zadd(key, {f"{socket_id}:{status}": time.time() + self.ttl})
        await self.kv.expire(key, self.ttl * 2)
        await self._settle(user_id)

    async def drop_socket(self, user_id: str, socket_id: str, status: str) -> None:
        await self.kv.zrem(self._sockets(user_id), f"{socket_id}:{status}")
        await self._settle(user_id)

    async def refresh(self, sockets: Iterable[tuple[str, str, str]]) -> None:
        """Keep these sockets (user id, socket id, status) alive for another TTL."""
        expiry = time.time() + self.ttl
        users: set[str] = set()
        for user_id, socket_id, status in sockets:
            await self.kv.zadd(self._sockets(user_id), {f"{socket_id}:{status}": expiry})
            users.add(user_id)
        for user_id in users:
            await self.kv.expire(self._sockets(user_id), self.ttl * 2)
            await self._settle(user_id)

    async def status_of(self, user_id: uuid.UUID) -> tuple[str, dt.datetime | None]:
        status = await self.kv.get(self._status(str(user_id))) or "OFFLINE"
        seen = await self.kv.get(self._seen(str(user_id)))
        return (status if status in STATUSES else "OFFLINE"), (
            dt.datetime.fromisoformat(seen) if seen else None
        )

    async def connected(self, workspace_id: uuid.UUID, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Those of ``user_ids`` (members of the workspace) with an open chat socket now, in any process."""
        online = await self.kv.zrange_by_score(self._online(workspace_id), time.time(), float("inf"))
        ids = {member for member, _ in online}
        return {u for u in user_ids if str(u) in ids}
