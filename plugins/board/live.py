"""``/ws/boards``: a client follows projects and receives their task and comment frames, with who did it;
who is looking at a project is kept in the key-value store with a TTL (``PROJECT_PRESENCE``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from sqlalchemy import select
from wealist_plugins.board.models import Project
from wealist_plugins.board.services import topic
from wealist_plugins.user.contract import Directory

from wealist_core import Database, KeyValue, NotFound, Principal
from wealist_core.http import ApiModel
from wealist_core.realtime import Channel, Connection, Hub, frame

__all__ = ["BoardSocket", "Presence"]

PRESENCE_TTL = 60.0  # seconds a socket counts as looking without a refresh
REFRESH = 20.0


class ProjectRef(ApiModel):
    project_id: uuid.UUID


class Presence:
    """Who looks at a project: a sorted set per project of ``<user>:<socket>`` scored by expiry time."""

    def __init__(self, keyvalue: KeyValue, clock: object = time.time) -> None:
        self.keyvalue = keyvalue
        self.clock = clock

    def _key(self, project_id: uuid.UUID) -> str:
        return f"presence:{project_id}"

    async def touch(self, project_id: uuid.UUID, member: str) -> None:
        now = self.clock()  # type: ignore[operator]
        await self.keyvalue.zadd(self._key(project_id), {member: now + PRESENCE_TTL})
        await self.keyvalue.expire(self._key(project_id), PRESENCE_TTL * 2)

    async def leave(self, project_id: uuid.UUID, member: str) -> None:
        await self.keyvalue.zrem(self._key(project_id), member)

    async def online(self, project_id: uuid.UUID) -> list[uuid.UUID]:
        now = self.clock()  # type: ignore[operator]
        key = self._key(project_id)
        await self.keyvalue.zremrange_by_score(key, float("-inf"), now)
        members = await self.keyvalue.zrange_by_score(key, now)
        return sorted({uuid.UUID(m.split(":", 1)[0]) for m, _ in members}, key=str)


class BoardSocket(Channel):
    path = "/ws/boards"

    def __init__(self, database: Database, directory: Directory, presence: Presence, hub: Hub) -> None:
        self.database = database
        self.directory = directory
        self.presence = presence
        self.hub = hub

    async def _workspace_of(self, project_id: uuid.UUID) -> uuid.UUID | None:
        async with self.database.reading() as session:
            return await session.scalar(select(Project.workspace_id).where(Project.id == project_id))

    async def authorize(self, principal: Principal, topic_name: str) -> bool:
        prefix = "board:project:"
        if not topic_name.startswith(prefix):
            return False
        try:
            project_id = uuid.UUID(topic_name.removeprefix(prefix))
        except ValueError:
            return False
        workspace = await self._workspace_of(project_id)
        if workspace is None:
            return False
        return await self.directory.membership(workspace, uuid.UUID(str(principal.id))) is not None

    def _member(self, conn: Connection) -> str:
        return f"{conn.user_id}:{conn.state.setdefault('socket', uuid.uuid4().hex)}"

    async def on_connect(self, conn: Connection) -> None:
        conn.state["projects"] = set()

        async def refresh() -> None:
            while True:
                await asyncio.sleep(REFRESH)
                for project_id in list(conn.state["projects"]):
                    await self.presence.touch(project_id, self._member(conn))

        conn.state["refresh"] = asyncio.get_running_loop().create_task(refresh())

    async def on_disconnect(self, conn: Connection) -> None:
        task = conn.state.get("refresh")
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for project_id in list(conn.state.get("projects", ())):
            await self._leave(conn, project_id)

    async def _announce(self, project_id: uuid.UUID, actor: str) -> None:
        users = await self.presence.online(project_id)
        payload = {"projectId": str(project_id), "actorId": actor, "userIds": [str(u) for u in users]}
        await self.hub.publish(topic(project_id), "PROJECT_PRESENCE", payload)

    async def _leave(self, conn: Connection, project_id: uuid.UUID) -> None:
        conn.state["projects"].discard(project_id)
        await self.presence.leave(project_id, self._member(conn))
        await self._announce(project_id, conn.user_id)

    @frame("SUBSCRIBE")
    async def subscribe(self, conn: Connection, body: ProjectRef) -> None:
        try:
            await conn.subscribe(topic(body.project_id))
        except NotFound:
            raise NotFound(
                "No such project in a workspace you belong to.", code="PROJECT_NOT_FOUND"
            ) from None
        conn.state["projects"].add(body.project_id)
        await self.presence.touch(body.project_id, self._member(conn))
        await self._announce(body.project_id, conn.user_id)

    @frame("UNSUBSCRIBE")
    async def unsubscribe(self, conn: Connection, body: ProjectRef) -> None:
        if body.project_id in conn.state["projects"]:
            await conn.unsubscribe(topic(body.project_id))
            await self._leave(conn, body.project_id)
