"""The chat API under ``/api/chats``: each route declared once by its handler's signature."""

from __future__ import annotations

import uuid

from wealist_plugins.chat.access import VisibleChat
from wealist_plugins.chat.chats import ChatService
from wealist_plugins.chat.messages import MessageService
from wealist_plugins.chat.presence import Presence
from wealist_plugins.chat.schemas import (
    AttachmentIn,
    AttachmentOut,
    ChatIn,
    ChatOut,
    ChatPatch,
    ChatQuery,
    DownloadOut,
    EditOut,
    HistoryQuery,
    MessageIn,
    MessageOut,
    MessagePage,
    MessagePatch,
    ParticipantsIn,
    PresenceOut,
    PresenceQuery,
    ReactionIn,
    ReadIn,
    ReadOut,
    SearchQuery,
)
from wealist_plugins.user.contract import Directory, MemberOf

from wealist_core import UnitOfWork, Uploads
from wealist_core.http import Controller, Page, delete, get, patch, post, render

__all__ = ["Chats"]


class Chats(Controller):
    """``/api/chats``: direct messages, groups and project channels, and their messages."""

    path = "/api/chats"
    tags = ("chat",)

    def __init__(
        self,
        chats: ChatService,
        messages: MessageService,
        presence: Presence,
        attachments: Uploads,
        directory: Directory,
    ) -> None:
        self.chats = chats
        self.messages = messages
        self.presence = presence
        self.attachments = attachments
        self.directory = directory

    # ------------------------------------------------------------------------------------------- chats

    @post("", status=201, errors=(200, 422))
    async def create_chat(self, member: MemberOf, body: ChatIn, uow: UnitOfWork) -> ChatOut:
        """Start a chat in a workspace I belong to; a direct message (or project channel) that exists
        answers 200 with it."""
        out, created = await self.chats.create(uow, member, body)
        return out if created else render(out, status_code=200)  # type: ignore[return-value]

    @get("")
    async def list_chats(self, member: MemberOf, query: ChatQuery, uow: UnitOfWork) -> Page[ChatOut]:
        """My chats in a workspace, most recently active first, with unread counts and last messages."""
        return await self.chats.list(uow, member, query)

    @get("/search", errors=(422,))
    async def search_messages(
        self, member: MemberOf, query: SearchQuery, uow: UnitOfWork
    ) -> Page[MessageOut]:
        """Messages of my chats in a workspace containing every word of ``q`` (words match by prefix)."""
        return await self.messages.search(uow, member, query)

    @get("/presence")
    async def presence_of_members(self, member: MemberOf, query: PresenceQuery) -> list[PresenceOut]:
        """Who of the workspace is online, away or offline, and when each was last connected."""
        out = []
        for m in await self.directory.members(member.workspace_id):
            status, seen = await self.presence.status_of(m.user_id)
            out.append(PresenceOut(user_id=m.user_id, status=status, last_seen_at=seen))  # type: ignore[arg-type]
        return out

    @get("/{chatId}")
    async def get_chat(self, chatId: uuid.UUID, chat: VisibleChat, uow: UnitOfWork) -> ChatOut:
        """A chat with its participants, unread count and last message."""
        chat.require_participant()
        return await self.chats.read(uow, chat)

    @patch("/{chatId}", errors=(409,))
    async def update_chat(
        self, chatId: uuid.UUID, chat: VisibleChat, body: ChatPatch, uow: UnitOfWork
    ) -> ChatOut:
        """Rename a group or project chat, or change its description (its admins)."""
        return await self.chats.update(uow, chat, body)

    @delete("/{chatId}")
    async def delete_chat(self, chatId: uuid.UUID, chat: VisibleChat, uow: UnitOfWork) -> None:
        """Delete a group or project chat with its messages (its creator or a workspace admin)."""
        await self.chats.delete(uow, chat)

    @post("/{chatId}/participants", errors=(409, 422))
    async def add_participants(
        self, chatId: uuid.UUID, chat: VisibleChat, body: ParticipantsIn, uow: UnitOfWork
    ) -> ChatOut:
        """Add members of the workspace to a group or project chat."""
        return await self.chats.add_participants(uow, chat, body.user_ids)

    @delete("/{chatId}/participants/{userId}", errors=(409,))
    async def remove_participant(
        self, chatId: uuid.UUID, userId: uuid.UUID, chat: VisibleChat, uow: UnitOfWork
    ) -> None:
        """Leave the chat (my own id), or remove someone from it (its admins)."""
        await self.chats.remove_participant(uow, chat, userId)

    # ---------------------------------------------------------------------------------------- messages

    @get("/{chatId}/messages", errors=(422,))
    async def list_messages(
        self, chatId: uuid.UUID, chat: VisibleChat, query: HistoryQuery, uow: UnitOfWork
    ) -> MessagePage:
        """History in sequence order: the newest ``limit`` messages, those before ``before`` or after
        ``after`` (a sequence number); ``replyToId`` gives a thread."""
        chat.require_participant()
        return await self.messages.history(uow.session, chat.chat.id, query)

    @post("/{chatId}/messages", status=201, errors=(409, 422))
    async def send_message(
        self, chatId: uuid.UUID, chat: VisibleChat, body: MessageIn, uow: UnitOfWork
    ) -> MessageOut:
        """Post a message (text in markdown with ``@[name](userId)`` mentions, a reply, an attachment).
        The same ``clientId`` again answers 200 with the message stored the first time."""
        out, created = await self.messages.send(uow, chat, body)
        return out if created else render(out, status_code=200)  # type: ignore[return-value]

    @patch("/{chatId}/messages/{messageId}", errors=(409, 422))
    async def edit_message(
        self, chatId: uuid.UUID, messageId: uuid.UUID, chat: VisibleChat, body: MessagePatch, uow: UnitOfWork
    ) -> MessageOut:
        """Edit my message; its former text is kept in its history."""
        return await self.messages.edit(uow, chat, messageId, body.content)

    @delete("/{chatId}/messages/{messageId}")
    async def delete_message(
        self, chatId: uuid.UUID, messageId: uuid.UUID, chat: VisibleChat, uow: UnitOfWork
    ) -> None:
        """Delete a message (its author or the chat's admins): its text goes, its place stays."""
        await self.messages.delete(uow, chat, messageId)

    @get("/{chatId}/messages/{messageId}/edits")
    async def message_edits(
        self, chatId: uuid.UUID, messageId: uuid.UUID, chat: VisibleChat, uow: UnitOfWork
    ) -> list[EditOut]:
        """The earlier texts of an edited message, oldest first."""
        return await self.messages.edits(uow, chat, messageId)

    @post("/{chatId}/messages/{messageId}/reactions", status=200, errors=(409, 422))
    async def add_reaction(
        self, chatId: uuid.UUID, messageId: uuid.UUID, chat: VisibleChat, body: ReactionIn, uow: UnitOfWork
    ) -> MessageOut:
        """React to a message with an emoji (again: no change)."""
        return await self.messages.react(uow, chat, messageId, body.emoji, add=True)

    @delete("/{chatId}/messages/{messageId}/reactions", status=200, errors=(409, 422))
    async def remove_reaction(
        self, chatId: uuid.UUID, messageId: uuid.UUID, chat: VisibleChat, body: ReactionIn, uow: UnitOfWork
    ) -> MessageOut:
        """Take my reaction back."""
        return await self.messages.react(uow, chat, messageId, body.emoji, add=False)

    @post("/{chatId}/read", errors=(422,))
    async def mark_read(self, chatId: uuid.UUID, chat: VisibleChat, body: ReadIn, uow: UnitOfWork) -> ReadOut:
        """I have read up to ``seq`` (never moves back); the others see a read receipt."""
        return await self.messages.mark_read(uow, chat, body.seq)

    @post("/{chatId}/attachments", status=201, errors=(413, 422))
    async def start_attachment(
        self, chatId: uuid.UUID, chat: VisibleChat, body: AttachmentIn, uow: UnitOfWork
    ) -> AttachmentOut:
        """Declare a file or image to send: upload it to ``uploadUrl``, then post a message with its
        ``attachmentId``."""
        chat.require_participant()
        issued = await self.attachments.issue(
            uow,
            uploader=chat.me,
            file_name=body.file_name,
            content_type=body.content_type,
            size=body.size,
            key_prefix=f"ws/{chat.chat.workspace_id.hex}/{chat.chat.id.hex}",
            workspace_id=chat.chat.workspace_id,
        )
        out = issued.out()
        return AttachmentOut(
            attachment_id=out.upload_id,
            key=out.key,
            upload_url=out.upload_url,
            method=out.method,
            headers=out.headers,
            fields=out.fields,
            expires_at=out.expires_at,
        )

    @get("/{chatId}/attachments/{attachmentId}/download")
    async def download_attachment(
        self, chatId: uuid.UUID, attachmentId: uuid.UUID, chat: VisibleChat, uow: UnitOfWork
    ) -> DownloadOut:
        """A short-lived URL to fetch a file or image sent in this chat."""
        chat.require_participant()
        return await self.messages.download(uow, chat, attachmentId)
