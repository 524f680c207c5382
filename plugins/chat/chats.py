"""Chats and their participants: direct messages (one per pair), groups and project channels."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from wealist_plugins.chat.access import SeenChat, chat_not_found
from wealist_plugins.chat.fanout import Fanout
from wealist_plugins.chat.models import Chat, Participant
from wealist_plugins.chat.options import ChatOptions
from wealist_plugins.chat.rendering import render_chats
from wealist_plugins.chat.schemas import ChatIn, ChatOut, ChatPatch, ChatQuery
from wealist_plugins.user.contract import Directory, Membership

from wealist_core import Conflict, Database, Forbidden, NotFound, UnitOfWork, ValidationProblem, utcnow
from wealist_core.pagination import Page, keyset

__all__ = ["ChatService"]

CHATS_ORDER = (Chat.activity_at.desc(), Chat.id)


def _invalid(field: str, message: str, code: str) -> ValidationProblem:
    return ValidationProblem(
        f"{field}: {message}", code=code, errors=[{"field": field, "message": message, "type": code.lower()}]
    )


class ChatService:
    """The rules of chats and participants. Methods take the request's unit of work first."""

    def __init__(
        self, database: Database, directory: Directory, fanout: Fanout, options: ChatOptions
    ) -> None:
        self.database = database
        self.directory = directory
        self.fanout = fanout
        self.options = options

    # -------------------------------------------------------------------------------------------- reading

    async def chat_ids_of(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        """Every chat the user is in, in workspaces she still belongs to."""
        workspaces = {m.workspace_id for m in await self.directory.user_workspaces(user_id)}
        async with self.database.reading() as session:
            rows = await session.execute(
                select(Chat.id, Chat.workspace_id).join(Participant).where(Participant.user_id == user_id)
            )
            return [chat_id for chat_id, ws in rows.all() if ws in workspaces]

    async def is_participant(self, user_id: uuid.UUID, chat_id: uuid.UUID) -> Chat | None:
        """The chat when the user is in it and still a member of its workspace."""
        async with self.database.reading() as session:
            chat = await session.get(Chat, chat_id)
            if chat is None or await session.get(Participant, (chat_id, user_id)) is None:
                return None
        if await self.directory.membership(chat.workspace_id, user_id) is None:
            return None
        return chat

    async def list(self, uow: UnitOfWork, member: Membership, query: ChatQuery) -> Page[ChatOut]:
        stmt = (
            select(Chat)
            .join(Participant, Participant.chat_id == Chat.id)
            .where(Chat.workspace_id == member.workspace_id, Participant.user_id == member.user_id)
        )
        if query.type is not None:
            stmt = stmt.where(Chat.type == query.type)
        ks = keyset(stmt, query, order=CHATS_ORDER)
        part = ks.slice((await uow.session.scalars(ks.statement)).all())
        return Page(
            items=await render_chats(uow.session, member.user_id, part.rows), next_cursor=part.next_cursor
        )

    async def read(self, uow: UnitOfWork, seen: SeenChat) -> ChatOut:
        chat = await uow.session.get(Chat, seen.chat.id)
        if chat is None:
            raise chat_not_found(seen.chat.id)
        [out] = await render_chats(uow.session, seen.me, [chat])
        return out

    # -------------------------------------------------------------------------------------------- writing

    async def _check_members(
        self, workspace_id: uuid.UUID, user_ids: Iterable[uuid.UUID], field: str
    ) -> None:
        members = {m.user_id for m in await self.directory.members(workspace_id)}
        strangers = [str(u) for u in user_ids if u not in members]
        if strangers:
            raise _invalid(
                field, f"not members of the workspace: {', '.join(strangers)}", "PARTICIPANT_NOT_MEMBER"
            )

    async def create(self, uow: UnitOfWork, member: Membership, body: ChatIn) -> tuple[ChatOut, bool]:
        """The new chat and True; for a direct message or project channel that exists, it and False."""
        me = member.user_id
        others = list(dict.fromkeys(u for u in body.participant_ids if u != me))
        key: str | None = None
        name = (body.name or "").strip()
        if body.type == "DM":
            if len(others) > 1:
                raise _invalid(
                    "body.participantIds", "a direct message is between two people", "DM_NEEDS_ONE_OTHER"
                )
            pair = sorted({me, *others}, key=str)
            key = "dm:" + ":".join(u.hex for u in pair)
            name = ""
        else:
            if not name:
                raise _invalid("body.name", "a group or project chat needs a name", "CHAT_NAME_REQUIRED")
            if len(others) + 1 > self.options.max_participants:
                raise _invalid("body.participantIds", "too many participants", "TOO_MANY_PARTICIPANTS")
        if body.type == "PROJECT":
            if body.project_id is None:
                raise _invalid("body.projectId", "a project chat names its project", "PROJECT_REQUIRED")
            key = f"project:{body.project_id.hex}"
        elif body.project_id is not None:
            raise _invalid("body.projectId", "only a project chat has a project", "PROJECT_NOT_ALLOWED")
        await self._check_members(member.workspace_id, others, "body.participantIds")

        chat_id = uuid.uuid4()
        now = utcnow()
        values: dict[str, Any] = {
            "id": chat_id,
            "workspace_id": member.workspace_id,
            "type": body.type,
            "name": name,
            "description": (body.description or "").strip(),
            "project_id": body.project_id,
            "dm_key": key,
            "created_by": me,
            "last_seq": 0,
            "created_at": now,
            "activity_at": now,
        }
        if key is None:
            uow.session.add(Chat(**values))
            await uow.session.flush()
        else:  # one per pair (or per project), even when two requests race
            await uow.upsert(Chat, values, conflict=("workspace_id", "dm_key"))
            existing = await uow.session.scalar(
                select(Chat).where(Chat.workspace_id == member.workspace_id, Chat.dm_key == key)
            )
            assert existing is not None
            if existing.id != chat_id:
                if await uow.session.get(Participant, (existing.id, me)) is None:
                    if existing.type == "DM":
                        raise chat_not_found(existing.id)  # cannot happen: a DM's pair are its participants
                    await self._add(uow, existing, [me], now)
                [out] = await render_chats(uow.session, me, [existing])
                return out, False
        chat = await uow.session.get(Chat, chat_id)
        assert chat is not None
        uow.session.add(
            Participant(
                chat_id=chat_id, user_id=me, role="MEMBER" if body.type == "DM" else "ADMIN", joined_at=now
            )
        )
        for user_id in others:
            uow.session.add(Participant(chat_id=chat_id, user_id=user_id, role="MEMBER", joined_at=now))
        await uow.session.flush()
        [out] = await render_chats(uow.session, me, [chat])
        everyone = [me, *others]
        uow.after_commit(lambda: self._announce_join(chat_id, everyone))
        return out, True

    async def _announce_join(self, chat_id: uuid.UUID, user_ids: list[uuid.UUID]) -> None:
        # Every process moves those users' sockets into the room, then tells them (CHAT_JOINED).
        await self.fanout.moved("join", chat_id, user_ids)

    async def _announce_leave(self, chat_id: uuid.UUID, user_ids: list[uuid.UUID]) -> None:
        # Every process takes those users' sockets out of the room, then tells them (CHAT_LEFT).
        await self.fanout.moved("leave", chat_id, user_ids)

    async def _add(
        self, uow: UnitOfWork, chat: Chat, user_ids: list[uuid.UUID], now: Any = None
    ) -> list[uuid.UUID]:
        present = set(
            (
                await uow.session.scalars(select(Participant.user_id).where(Participant.chat_id == chat.id))
            ).all()
        )
        new = [u for u in dict.fromkeys(user_ids) if u not in present]
        if len(present) + len(new) > self.options.max_participants:
            raise _invalid("body.userIds", "too many participants", "TOO_MANY_PARTICIPANTS")
        for user_id in new:
            uow.session.add(
                Participant(chat_id=chat.id, user_id=user_id, role="MEMBER", joined_at=now or utcnow())
            )
        await uow.session.flush()
        if new:
            chat_id = chat.id
            uow.after_commit(lambda: self._announce_join(chat_id, new))
            uow.after_commit(
                lambda: self.fanout.room(
                    chat_id, "PARTICIPANTS_ADDED", {"chatId": str(chat_id), "userIds": [str(u) for u in new]}
                )
            )
        return new

    async def update(self, uow: UnitOfWork, seen: SeenChat, patch: ChatPatch) -> ChatOut:
        seen.require_participant()
        if seen.chat.type == "DM":
            raise Conflict("A direct message has no name to change.", code="CHAT_IS_DM")
        seen.require_moderator("rename the chat")
        chat = await uow.session.get(Chat, seen.chat.id)
        if chat is None:
            raise chat_not_found(seen.chat.id)
        if patch.name is not None:
            chat.name = patch.name.strip() or chat.name
        if patch.description is not None:
            chat.description = patch.description.strip()
        await uow.session.flush()
        [out] = await render_chats(uow.session, seen.me, [chat])
        chat_id = chat.id
        frame = {"chatId": str(chat_id), "name": chat.name, "description": chat.description}
        uow.after_commit(lambda: self.fanout.room(chat_id, "CHAT_UPDATED", frame))
        return out

    async def delete(self, uow: UnitOfWork, seen: SeenChat) -> None:
        chat = seen.chat
        if chat.type == "DM":
            raise Forbidden("A direct message cannot be deleted.", code="CHAT_IS_DM")
        if chat.created_by != seen.me and not seen.is_manager:
            raise Forbidden(
                "Only the chat's creator or a workspace admin may delete it.", code="CHAT_CREATOR_REQUIRED"
            )
        everyone = list(
            (
                await uow.session.scalars(select(Participant.user_id).where(Participant.chat_id == chat.id))
            ).all()
        )
        await uow.session.execute(delete(Participant).where(Participant.chat_id == chat.id))
        await uow.session.execute(delete(Chat).where(Chat.id == chat.id))
        chat_id = chat.id

        async def announce() -> None:
            await self.fanout.room(chat_id, "CHAT_DELETED", {"chatId": str(chat_id)})
            await self._announce_leave(chat_id, everyone)

        uow.after_commit(announce)

    async def add_participants(self, uow: UnitOfWork, seen: SeenChat, user_ids: list[uuid.UUID]) -> ChatOut:
        seen.require_participant()
        if seen.chat.type == "DM":
            raise Conflict(
                "A direct message is between two people; start a group instead.", code="CHAT_IS_DM"
            )
        await self._check_members(seen.chat.workspace_id, user_ids, "body.userIds")
        chat = await uow.session.get(Chat, seen.chat.id)
        if chat is None:
            raise chat_not_found(seen.chat.id)
        await self._add(uow, chat, user_ids)
        [out] = await render_chats(uow.session, seen.me, [chat])
        return out

    async def remove_participant(self, uow: UnitOfWork, seen: SeenChat, user_id: uuid.UUID) -> None:
        """Leave (``user_id`` is me) or remove someone (the chat's admins)."""
        seen.require_participant()
        if seen.chat.type == "DM":
            raise Conflict(
                "Nobody leaves a direct message; hide it in the client instead.", code="CHAT_IS_DM"
            )
        if user_id != seen.me:
            seen.require_moderator("remove participants")
        await self._remove(uow, seen.chat.id, [user_id])

    async def _remove(self, uow: UnitOfWork, chat_id: uuid.UUID, user_ids: list[uuid.UUID]) -> None:
        result = await uow.session.execute(
            delete(Participant).where(Participant.chat_id == chat_id, Participant.user_id.in_(user_ids))
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFound("That person is not in this chat.", code="PARTICIPANT_NOT_FOUND")
        # A chat left without an admin gets its oldest participant as one.
        admins = await uow.session.scalar(
            select(Participant.user_id)
            .where(Participant.chat_id == chat_id, Participant.role == "ADMIN")
            .limit(1)
        )
        if admins is None:
            oldest = await uow.session.scalar(
                select(Participant)
                .where(Participant.chat_id == chat_id)
                .order_by(Participant.joined_at)
                .limit(1)
            )
            if oldest is not None:
                oldest.role = "ADMIN"
        uow.after_commit(lambda: self._announce_leave(chat_id, user_ids))
        uow.after_commit(
            lambda: self.fanout.room(
                chat_id,
                "PARTICIPANTS_REMOVED",
                {"chatId": str(chat_id), "userIds": [str(u) for u in user_ids]},
            )
        )

    async def forget_member(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """Someone who left the workspace leaves its chats (their messages stay)."""
        async with self.database.unit_of_work() as uow:
            chat_ids = list(
                (
                    await uow.session.scalars(
                        select(Chat.id)
                        .join(Participant)
                        .where(Chat.workspace_id == workspace_id, Participant.user_id == user_id)
                    )
                ).all()
            )
            for chat_id in chat_ids:
                await self._remove(uow, chat_id, [user_id])
        await self.fanout.workspace_moved("leave", workspace_id, user_id)
