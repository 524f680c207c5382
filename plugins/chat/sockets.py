"""The chat socket ``/ws/chat``: AUTH, then SUBSCRIBE or RESUME my chats, send messages, type, mark read.

Frames in both directions are listed in ``docs/realtime.md`` (the chat section). Every socket follows its
user's topic (chats joined and left) and the topics of the workspaces the user belongs to (presence).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Literal

from wealist_plugins.chat.access import SeenChat, chat_not_found
from wealist_plugins.chat.chats import ChatService
from wealist_plugins.chat.fanout import CONTROL_CHANNEL, room_topic, user_topic, workspace_topic
from wealist_plugins.chat.messages import MessageService, change_cursor, change_frame, received_frame
from wealist_plugins.chat.models import Participant
from wealist_plugins.chat.presence import Presence
from wealist_plugins.chat.schemas import MessageIn
from wealist_plugins.user.contract import Directory

from wealist_core import Database, Principal, PubSub, ValidationProblem
from wealist_core.http import ApiModel, Field
from wealist_core.realtime import Channel, Connection, Frame, frame

__all__ = ["ChatSocket"]

log = logging.getLogger("wealist.chat")


class SubscribeIn(ApiModel):
    chat_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)


class UnsubscribeIn(ApiModel):
    chat_ids: list[uuid.UUID] = Field(max_length=1000)


class ResumeIn(ApiModel):
    cursors: dict[uuid.UUID, int] = Field(max_length=1000)  # chat -> the last seq the client has
    changes: dict[uuid.UUID, int] | None = Field(default=None, max_length=1000)  # chat -> its last changeSeq


class SendIn(MessageIn):
    chat_id: uuid.UUID


class ChatIdIn(ApiModel):
    chat_id: uuid.UUID


class ReadMessageIn(ApiModel):
    chat_id: uuid.UUID
    seq: int = Field(ge=0)


class StatusIn(ApiModel):
    status: Literal["ONLINE", "AWAY"]


class ChatSocket(Channel):
    """``/ws/chat``: the chats of the signed-in user, live."""

    path = "/ws/chat"
    send_queue = 512

    def __init__(
        self,
        database: Database,
        directory: Directory,
        chats: ChatService,
        messages: MessageService,
        presence: Presence,
        pubsub: PubSub,
    ) -> None:
        self.database = database
        self.directory = directory
        self.chats = chats
        self.messages = messages
        self.presence = presence
        self.pubsub = pubsub
        self.local: dict[str, set[Connection]] = defaultdict(set)

    # -------------------------------------------------------------------------------------- who sees what

    async def authorize(self, principal: Principal, topic: str) -> bool:
        kind, _, ident = topic.rpartition(":")
        try:
            target = uuid.UUID(ident)
        except ValueError:
            return False
        me = uuid.UUID(principal.id)
        if kind == "chat:room":
            return await self.chats.is_participant(me, target) is not None
        if kind == "chat:user":
            return target == me
        if kind == "chat:workspace":
            return await self.directory.membership(target, me) is not None
        return False

    async def _seen(self, conn: Connection, chat_id: uuid.UUID) -> SeenChat:
        me = uuid.UUID(conn.user_id)
        async with self.database.reading() as session:
            chat = await self.chats.is_participant(me, chat_id)
            participant = await session.get(Participant, (chat_id, me)) if chat is not None else None
        if chat is None or participant is None:
            raise chat_not_found(chat_id)
        member = await self.directory.membership(chat.workspace_id, me)
        if member is None:
            raise chat_not_found(chat_id)
        return SeenChat(chat, participant, member)

    # ------------------------------------------------------------------------------------------ lifecycle

    async def on_connect(self, conn: Connection) -> None:
        me = uuid.UUID(conn.user_id)
        await conn.subscribe(user_topic(me), authorize=False)
        for membership in await self.directory.user_workspaces(me):
            await conn.subscribe(workspace_topic(membership.workspace_id), authorize=False)
        conn.state["socket_id"] = uuid.uuid4().hex
        conn.state["status"] = "ONLINE"
        conn.state["all_chats"] = False
        self.local[conn.user_id].add(conn)
        await self.presence.set_socket(conn.user_id, conn.state["socket_id"], "ONLINE")

    async def on_disconnect(self, conn: Connection) -> None:
        conns = self.local.get(conn.user_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                self.local.pop(conn.user_id, None)
        if "socket_id" in conn.state:
            await self.presence.drop_socket(conn.user_id, conn.state["socket_id"], conn.state["status"])

    # ----------------------------------------------------------------------------------------- frames

    @frame("SUBSCRIBE")
    async def subscribe(self, conn: Connection, body: SubscribeIn) -> Frame:
        me = uuid.UUID(conn.user_id)
        if body.chat_ids is None:
            conn.state["all_chats"] = True
            chat_ids = await self.chats.chat_ids_of(me)
            for chat_id in chat_ids:
                await conn.subscribe(room_topic(chat_id), authorize=False)
        else:
            chat_ids = list(dict.fromkeys(body.chat_ids))
            for chat_id in chat_ids:
                if await self.chats.is_participant(me, chat_id) is None:
                    raise chat_not_found(chat_id)
            for chat_id in chat_ids:
                await conn.subscribe(room_topic(chat_id), authorize=False)
        return Frame("SUBSCRIBED", {"chatIds": [str(c) for c in chat_ids]})

    @frame("UNSUBSCRIBE")
    async def unsubscribe(self, conn: Connection, body: UnsubscribeIn) -> None:
        for chat_id in body.chat_ids:
            await conn.unsubscribe(room_topic(chat_id))

    @frame("RESUME")
    async def resume(self, conn: Connection, body: ResumeIn) -> None:
        """Replays, per chat, the messages after the client's last seq, then follows the chat live."""
        me = uuid.UUID(conn.user_id)
        for chat_id, seq in body.cursors.items():
            chat = await self.chats.is_participant(me, chat_id)
            if chat is None:
                await conn.error("CHAT_NOT_FOUND", f"No chat {chat_id} of yours.")
                continue
            truncated: list[int] = []
            changes = (body.changes or {}).get(chat_id)

            async def missed(
                chat_id: uuid.UUID = chat_id,
                seq: int = seq,
                changes: int | None = changes,
                truncated: list[int] = truncated,
            ) -> list[Frame]:
                messages, changed, last, last_change = await self.messages.missed(chat_id, seq, changes)
                if seq > last:
                    raise ValidationProblem(
                        f"cursors.{chat_id}: this chat has no message {seq} (its last is {last})",
                        code="SEQ_UNKNOWN",
                    )
                if changes is not None and changes > last_change:
                    raise ValidationProblem(
                        f"changes.{chat_id}: this chat has no change {changes} (its last is {last_change})",
                        code="SEQ_UNKNOWN",
                    )
                if messages and messages[-1].seq < last:
                    truncated.append(last)
                frames = [Frame("MESSAGE_RECEIVED", received_frame(m), cursor=m.seq) for m in messages]
                for m in changed:  # earlier messages edited, deleted or reacted to since: their state now
                    assert m.change_seq is not None
                    if m.deleted_at is not None:
                        frame = change_frame(m, messageId=str(m.message_id))
                        frames.append(Frame("MESSAGE_DELETED", frame, cursor=change_cursor(m.change_seq)))
                    else:
                        frame = change_frame(m, message=m.model_dump(mode="json", by_alias=True))
                        frames.append(Frame("MESSAGE_UPDATED", frame, cursor=change_cursor(m.change_seq)))
                return frames

            followed = room_topic(chat_id) in conn.topics
            try:
                await conn.subscribe(room_topic(chat_id), replay=missed, authorize=False)
            except ValidationProblem as exc:
                if not followed:
                    await conn.unsubscribe(room_topic(chat_id))
                await conn.error(exc.code, exc.detail or "unknown sequence")
                continue
            if truncated:
                await conn.send("RESYNC", {"chatId": str(chat_id), "lastSeq": truncated[0]})

    @frame("MESSAGE")
    async def message(self, conn: Connection, body: SendIn) -> Frame:
        seen = await self._seen(conn, body.chat_id)
        async with self.database.unit_of_work() as uow:
            out, _ = await self.messages.send(
                uow, seen, MessageIn.model_validate(body.model_dump(exclude={"chat_id"}))
            )
        return Frame(
            "MESSAGE_ACK",
            {
                "chatId": str(body.chat_id),
                "clientId": body.client_id,
                "messageId": str(out.message_id),
                "seq": out.seq,
            },
        )

    async def _typing(self, conn: Connection, chat_id: uuid.UUID, type_: str) -> None:
        if (
            room_topic(chat_id) not in conn.topics
            and await self.chats.is_participant(uuid.UUID(conn.user_id), chat_id) is None
        ):
            raise chat_not_found(chat_id)
        await conn.publish(room_topic(chat_id), type_, {"chatId": str(chat_id), "userId": conn.user_id})

    @frame("TYPING_START")
    async def typing_start(self, conn: Connection, body: ChatIdIn) -> None:
        await self._typing(conn, body.chat_id, "USER_TYPING")

    @frame("TYPING_STOP")
    async def typing_stop(self, conn: Connection, body: ChatIdIn) -> None:
        await self._typing(conn, body.chat_id, "USER_TYPING_STOP")

    @frame("READ_MESSAGE")
    async def read_message(self, conn: Connection, body: ReadMessageIn) -> None:
        seen = await self._seen(conn, body.chat_id)
        async with self.database.unit_of_work() as uow:
            await self.messages.mark_read(uow, seen, body.seq, field="seq")

    @frame("STATUS")
    async def status(self, conn: Connection, body: StatusIn) -> None:
        previous = conn.state["status"]
        conn.state["status"] = body.status
        await self.presence.set_socket(conn.user_id, conn.state["socket_id"], body.status, previous)

    # ------------------------------------------------------------------------------------ background work

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """While the application serves: follow membership changes, keep presence alive."""
        subscription = await self.pubsub.subscribe(CONTROL_CHANNEL)
        tasks = [asyncio.create_task(self._follow(subscription)), asyncio.create_task(self._heartbeat())]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(Exception):
                await subscription.close()
            for user_id, conns in list(self.local.items()):
                for conn in list(conns):
                    with contextlib.suppress(Exception):
                        await self.presence.drop_socket(
                            user_id, conn.state["socket_id"], conn.state["status"]
                        )

    async def _follow(self, subscription: object) -> None:
        async for _, data in subscription:  # type: ignore[attr-defined]
            try:
                message = json.loads(data)
                if message["op"] in ("join_workspace", "leave_workspace"):
                    await self._move_workspace(message)
                    continue
                topic = room_topic(message["chatId"])
                leaving = message["op"] == "leave"
                frame = {"chatId": message["chatId"]}
                for user_id in message["userIds"]:
                    for conn in list(self.local.get(user_id, ())):
                        if leaving:
                            await conn.unsubscribe(topic)
                        elif conn.state.get("all_chats"):
                            await conn.subscribe(topic, authorize=False)
                        # After the move: a client told it left receives nothing more of the chat.
                        await conn.send("CHAT_LEFT" if leaving else "CHAT_JOINED", frame)
            except Exception:
                log.exception("chat control message failed")

    async def _move_workspace(self, message: dict[str, object]) -> None:
        topic = workspace_topic(str(message["workspaceId"]))
        for user_id in message["userIds"]:  # type: ignore[attr-defined]
            for conn in list(self.local.get(str(user_id), ())):
                if message["op"] == "leave_workspace":
                    await conn.unsubscribe(topic)
                else:
                    await conn.subscribe(topic, authorize=False)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(max(1.0, self.presence.ttl / 3))
            sockets = [
                (user_id, conn.state["socket_id"], conn.state["status"])
                for user_id, conns in list(self.local.items())
                for conn in list(conns)
                if "socket_id" in conn.state
            ]
            try:
                await self.presence.refresh(sockets)
            except Exception:
                log.exception("presence refresh failed")
