"""Where the chat plugin's frames go: rooms, users and workspaces as topics of the plugin's hub, and a
control channel on ``PubSub`` telling every process which sockets to move in or out of a room.

Topics: ``chat:room:{chatId}`` (a chat's messages, typing, reads), ``chat:user:{userId}`` (a user's own
frames: a chat joined or left), ``chat:workspace:{workspaceId}`` (presence of the workspace's members).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable

from wealist_core import PubSub
from wealist_core.realtime import Cursor, Hub, Payload

__all__ = ["CONTROL_CHANNEL", "Fanout", "room_topic", "user_topic", "workspace_topic"]

#: The pub/sub channel of membership changes (every chat process listens to it).
CONTROL_CHANNEL = "chat:control"


def room_topic(chat_id: uuid.UUID | str) -> str:
    return f"chat:room:{chat_id}"


def user_topic(user_id: uuid.UUID | str) -> str:
    return f"chat:user:{user_id}"


def workspace_topic(workspace_id: uuid.UUID | str) -> str:
    return f"chat:workspace:{workspace_id}"


class Fanout:
    """Publishing for the services; call it after the commit (``uow.after_commit``)."""

    def __init__(self, hub: Hub, pubsub: PubSub) -> None:
        self.hub = hub
        self.pubsub = pubsub

    async def room(
        self, chat_id: uuid.UUID, type_: str, payload: Payload = None, cursor: Cursor | None = None
    ) -> None:
        await self.hub.publish(room_topic(chat_id), type_, payload, cursor=cursor)

    async def user(self, user_id: uuid.UUID, type_: str, payload: Payload = None) -> None:
        await self.hub.publish(user_topic(user_id), type_, payload)

    async def workspace(self, workspace_id: uuid.UUID, type_: str, payload: Payload = None) -> None:
        await self.hub.publish(workspace_topic(workspace_id), type_, payload)

    async def moved(self, op: str, chat_id: uuid.UUID, user_ids: Iterable[uuid.UUID]) -> None:
        """``op`` is ``join`` or ``leave``: the users' sockets, in every process, follow the room or stop."""
        message = {"op": op, "chatId": str(chat_id), "userIds": [str(u) for u in user_ids]}
        await self.pubsub.publish(CONTROL_CHANNEL, json.dumps(message))

    async def workspace_moved(self, op: str, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """``op`` is ``join`` or ``leave``: the user's sockets follow the workspace's presence, or stop."""
        message = {"op": f"{op}_workspace", "workspaceId": str(workspace_id), "userIds": [str(user_id)]}
        await self.pubsub.publish(CONTROL_CHANNEL, json.dumps(message))
