"""``/ws/notifications``: every socket follows its user's topic ``user:{id}``; NOTIFICATION frames carry the
notification's id as their cursor, so ``RESUME {afterId}`` replays what was stored since without a gap or a
duplicate."""

from __future__ import annotations

import uuid

from wealist_plugins.noti.service import NotificationService, render

from wealist_core import NotFound, Principal
from wealist_core.http import ApiModel
from wealist_core.realtime import Channel, Connection, Frame, frame

__all__ = ["NotificationSocket", "ResumeIn"]

#: At most this many notifications are replayed; beyond it the client gets RESYNC and reloads over HTTP.
REPLAY_LIMIT = 200


class ResumeIn(ApiModel):
    after_id: uuid.UUID | None = None


class NotificationSocket(Channel):
    path = "/ws/notifications"

    def __init__(self, service: NotificationService) -> None:
        self.service = service

    async def authorize(self, principal: Principal, topic: str) -> bool:
        return topic == f"user:{principal.id}"

    async def on_connect(self, conn: Connection) -> None:
        await conn.subscribe(f"user:{conn.user_id}", authorize=False)

    @frame("RESUME")
    async def resume(self, conn: Connection, body: ResumeIn) -> None:
        """Replay my notifications stored after ``afterId`` (all recent ones without it), oldest first, then
        the unread count."""
        me = uuid.UUID(conn.user_id)
        after = body.after_id
        if after is not None and not await self.service.exists_for(me, after):
            raise NotFound(f"No notification {after} of yours.", code="NOTIFICATION_NOT_FOUND")

        async def missed() -> list[Frame]:
            rows, more = await self.service.after(me, after, REPLAY_LIMIT)
            frames = [
                Frame(
                    "NOTIFICATION",
                    {"notification": render(n).model_dump(mode="json", by_alias=True)},
                    cursor=str(n.id),
                )
                for n in rows
            ]
            if more:
                frames.append(Frame("RESYNC", {"reason": "TOO_MANY_MISSED"}))
            total = await self.service.count_now(me)
            frames.append(Frame("UNREAD_COUNT", {"workspaceId": None, "count": total}))
            return frames

        await conn.subscribe(f"user:{conn.user_id}", replay=missed, authorize=False)
