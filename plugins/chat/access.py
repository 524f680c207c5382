"""Who may see a chat: its participants, while they are members of its workspace; a workspace manager may
also delete a group or project chat they are not in. One dependency loads the chat a route names, so a
stranger gets the same 404 ``CHAT_NOT_FOUND`` whether the chat exists or not."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from sqlalchemy import and_, select
from wealist_plugins.chat.models import Chat, Participant
from wealist_plugins.user.contract import MANAGERS, Directory, Membership

from wealist_core import Forbidden, NotFound
from wealist_core.http import Call, Dependency

__all__ = ["ChatAccess", "SeenChat", "VisibleChat", "chat_not_found"]


def chat_not_found(chat_id: object) -> NotFound:
    return NotFound(f"No chat {chat_id} of yours.", code="CHAT_NOT_FOUND")


@dataclass(frozen=True)
class SeenChat:
    """A chat (as read before the request's unit of work opened), the caller's participation (None for a
    manager who is not in it) and membership of its workspace."""

    chat: Chat
    participant: Participant | None
    member: Membership

    @property
    def me(self) -> uuid.UUID:
        return self.member.user_id

    @property
    def is_manager(self) -> bool:
        return self.member.role in MANAGERS

    @property
    def is_chat_admin(self) -> bool:
        return self.participant is not None and self.participant.role == "ADMIN"

    def require_participant(self) -> Participant:
        if self.participant is None:
            raise chat_not_found(self.chat.id)
        return self.participant

    def require_moderator(self, action: str) -> None:
        """The chat's creator, one of its admins, or a manager of the workspace."""
        if not (self.chat.created_by == self.me or self.is_chat_admin or self.is_manager):
            raise Forbidden(f"Only the chat's admins may {action}.", code="CHAT_ADMIN_REQUIRED")


class ChatAccess(Dependency):
    """The chat of ``chatId`` for one of its participants (or a workspace manager), else 404."""

    errors = (401, 403, 404)
    needs_principal = True

    async def resolve(self, call: Call) -> SeenChat:
        chat_id: uuid.UUID = call.find("chatId")
        me = call.user_id()
        async with call.container.database(call.plugin).reading() as session:
            found = (
                await session.execute(
                    select(Chat, Participant)
                    .outerjoin(Participant, and_(Participant.chat_id == Chat.id, Participant.user_id == me))
                    .where(Chat.id == chat_id)
                )
            ).first()
        chat, participant = found if found is not None else (None, None)
        member = None
        if chat is not None:
            directory = call.container.contracts.get(Directory)
            member = await call.remember(
                ("user.membership", chat.workspace_id, me),
                lambda: directory.membership(chat.workspace_id, me),
            )
        if chat is None or member is None or (participant is None and member.role not in MANAGERS):
            raise chat_not_found(chat_id)
        return SeenChat(chat, participant, member)


#: ``async def read(self, chatId: uuid.UUID, chat: VisibleChat, ...)``
VisibleChat = Annotated[SeenChat, ChatAccess()]
