"""Messages and chats as their answers, loaded in bulk (one query per kind of detail, never one per row)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from wealist_plugins.chat.models import Chat, Message, Participant, Reaction, uploads
from wealist_plugins.chat.schemas import AttachmentInfo, ChatOut, MessageOut, ParticipantOut, ReactionOut

__all__ = ["render_chats", "render_messages", "unread_counts"]


async def render_messages(session: AsyncSession, messages: Sequence[Message]) -> list[MessageOut]:
    if not messages:
        return []
    ids = [m.id for m in messages]
    reactions: dict[uuid.UUID, dict[str, list[uuid.UUID]]] = defaultdict(lambda: defaultdict(list))
    rows = await session.execute(
        select(Reaction.message_id, Reaction.emoji, Reaction.user_id)
        .where(Reaction.message_id.in_(ids))
        .order_by(Reaction.created_at, Reaction.user_id)
    )
    for message_id, emoji, user_id in rows:
        reactions[message_id][emoji].append(user_id)
    attachment_ids = [m.attachment_id for m in messages if m.attachment_id is not None]
    attachments: dict[uuid.UUID, AttachmentInfo] = {}
    if attachment_ids:
        for row in (
            await session.execute(select(uploads).where(uploads.c.id.in_(attachment_ids)))
        ).mappings():
            attachments[row["id"]] = AttachmentInfo(
                attachment_id=row["id"],
                file_name=row["file_name"],
                content_type=row["content_type"],
                size=row["size"],
            )
    replies = dict(
        (
            await session.execute(
                select(Message.reply_to_id, func.count())
                .where(Message.reply_to_id.in_(ids), Message.deleted_at.is_(None))
                .group_by(Message.reply_to_id)
            )
        ).all()
    )
    out = []
    for m in messages:
        deleted = m.deleted_at is not None
        out.append(
            MessageOut(
                message_id=m.id,
                chat_id=m.chat_id,
                seq=m.seq,
                sender_id=m.sender_id,
                content="" if deleted else m.content,
                reply_to_id=m.reply_to_id,
                attachment=None if deleted or m.attachment_id is None else attachments.get(m.attachment_id),
                reactions=[
                    ReactionOut(emoji=emoji, count=len(users), user_ids=users)
                    for emoji, users in reactions.get(m.id, {}).items()
                ],
                mentions=[] if deleted else [uuid.UUID(str(u)) for u in m.mentions or []],
                client_id=m.client_id,
                reply_count=replies.get(m.id, 0),
                change_seq=m.change_seq,
                edited_at=m.edited_at,
                deleted_at=m.deleted_at,
                created_at=m.created_at,
            )
        )
    return out


async def unread_counts(
    session: AsyncSession, me: uuid.UUID, chat_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Per chat: messages of others after my last read one, deleted ones left out."""
    if not chat_ids:
        return {}
    rows = await session.execute(
        select(Message.chat_id, func.count())
        .join(Participant, and_(Participant.chat_id == Message.chat_id, Participant.user_id == me))
        .where(
            Message.chat_id.in_(chat_ids),
            Message.seq > Participant.last_read_seq,
            Message.sender_id != me,
            Message.deleted_at.is_(None),
        )
        .group_by(Message.chat_id)
    )
    return {chat_id: count for chat_id, count in rows.all()}


async def render_chats(session: AsyncSession, me: uuid.UUID, chats: Sequence[Chat]) -> list[ChatOut]:
    if not chats:
        return []
    ids = [c.id for c in chats]
    participants: dict[uuid.UUID, list[ParticipantOut]] = defaultdict(list)
    for p in await session.scalars(
        select(Participant)
        .where(Participant.chat_id.in_(ids))
        .order_by(Participant.joined_at, Participant.user_id)
    ):
        participants[p.chat_id].append(
            ParticipantOut(
                user_id=p.user_id, role=p.role, last_read_seq=p.last_read_seq, joined_at=p.joined_at
            )  # type: ignore[arg-type]
        )
    lasts = (
        await session.scalars(
            select(Message)
            .join(Chat, and_(Chat.id == Message.chat_id, Chat.last_seq == Message.seq))
            .where(Message.chat_id.in_(ids))
        )
    ).all()
    last_by_chat = {m.chat_id: m for m in await render_messages(session, lasts)}
    unread = await unread_counts(session, me, ids)
    return [
        ChatOut(
            chat_id=c.id,
            workspace_id=c.workspace_id,
            type=c.type,  # type: ignore[arg-type]
            name=c.name,
            description=c.description,
            project_id=c.project_id,
            created_by=c.created_by,
            participants=participants.get(c.id, []),
            last_seq=c.last_seq,
            last_change=c.last_change,
            unread_count=unread.get(c.id, 0),
            last_message=last_by_chat.get(c.id),
            created_at=c.created_at,
        )
        for c in chats
    ]
