"""Messages: send (with a per-chat sequence), threads, reactions, edits with history, soft delete,
attachments, history in both directions, read receipts and search.

Persist first, publish second: every frame leaves after the unit of work has committed.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import Uuid, delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from wealist_plugins.chat.access import SeenChat, chat_not_found
from wealist_plugins.chat.contract import MessageCreated
from wealist_plugins.chat.fanout import Fanout
from wealist_plugins.chat.models import Chat, Edit, Message, Participant, Reaction
from wealist_plugins.chat.options import ChatOptions
from wealist_plugins.chat.presence import Presence
from wealist_plugins.chat.rendering import render_messages, unread_counts
from wealist_plugins.chat.schemas import (
    AttachmentInfo,
    DownloadOut,
    EditOut,
    HistoryQuery,
    MessageIn,
    MessageOut,
    MessagePage,
    ReadOut,
    SearchQuery,
)
from wealist_plugins.user.contract import Directory, Membership

from wealist_core import (
    Conflict,
    Database,
    Forbidden,
    NotFound,
    UnitOfWork,
    Uploads,
    ValidationProblem,
    utcnow,
)
from wealist_core.mentions import mentioned_ids
from wealist_core.pagination import Page, keyset

__all__ = ["MessageService"]

PREVIEW = 140
_WORD = re.compile(r"\w+", re.UNICODE)


def _invalid(field: str, message: str, code: str) -> ValidationProblem:
    return ValidationProblem(
        f"{field}: {message}", code=code, errors=[{"field": field, "message": message, "type": code.lower()}]
    )


def message_not_found(message_id: object) -> NotFound:
    return NotFound(f"No message {message_id} in this chat.", code="MESSAGE_NOT_FOUND")


def change_cursor(change_seq: int) -> str:
    """The cursor of a change frame in its room: apart from the messages' own (their ``seq``)."""
    return f"c{change_seq}"


def change_frame(out: MessageOut, **fields: object) -> dict[str, object]:
    return {"chatId": str(out.chat_id), "seq": out.seq, "changeSeq": out.change_seq, **fields}


def received_frame(out: MessageOut) -> dict[str, object]:
    """The payload of ``MESSAGE_RECEIVED`` (its cursor in the room is the message's ``seq``)."""
    return {"chatId": str(out.chat_id), "seq": out.seq, "message": out.model_dump(mode="json", by_alias=True)}


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


class MessageService:
    def __init__(
        self,
        database: Database,
        directory: Directory,
        fanout: Fanout,
        presence: Presence,
        attachments: Uploads,
        options: ChatOptions,
    ) -> None:
        self.database = database
        self.directory = directory
        self.fanout = fanout
        self.presence = presence
        self.attachments = attachments
        self.options = options

    # -------------------------------------------------------------------------------------------- sending

    def _check_content(self, content: str, has_attachment: bool, field: str = "body.content") -> str:
        if "\x00" in content:
            raise _invalid(field, "must not contain NUL characters", "MESSAGE_INVALID")
        if not content.strip() and not has_attachment:
            raise _invalid(field, "a message needs text or an attachment", "MESSAGE_EMPTY")
        if len(content) > self.options.max_message_length:
            raise _invalid(field, f"at most {self.options.max_message_length} characters", "MESSAGE_TOO_LONG")
        return content

    async def send(
        self, uow: UnitOfWork, seen: SeenChat, body: MessageIn, sender_name: str | None = None
    ) -> tuple[MessageOut, bool]:
        """The stored message and True; for a ``clientId`` sent before, the message stored then and False."""
        seen.require_participant()
        chat, me = seen.chat, seen.me
        content = self._check_content(body.content, body.attachment_id is not None)
        session = uow.session
        if body.client_id is not None:
            earlier = await session.scalar(
                select(Message).where(
                    Message.chat_id == chat.id, Message.sender_id == me, Message.client_id == body.client_id
                )
            )
            if earlier is not None:
                [out] = await render_messages(session, [earlier])
                return out, False
        if body.reply_to_id is not None:
            parent = await session.get(Message, body.reply_to_id)
            if parent is None or parent.chat_id != chat.id:
                raise _invalid("body.replyToId", "no such message in this chat", "REPLY_TARGET_NOT_FOUND")
            if parent.reply_to_id is not None:  # threads are one level deep, as in Slack
                body = body.model_copy(update={"reply_to_id": parent.reply_to_id})
        now = utcnow()
        seq = await session.scalar(
            update(Chat)
            .where(Chat.id == chat.id)
            .values(last_seq=Chat.last_seq + 1, activity_at=now)
            .returning(Chat.last_seq)
        )
        if seq is None:
            raise chat_not_found(chat.id)
        participants = set(
            (await session.scalars(select(Participant.user_id).where(Participant.chat_id == chat.id))).all()
        )
        mentions = [u for u in mentioned_ids(content) if u in participants and u != me]
        message_id = uuid.uuid4()
        values: dict[str, object] = {
            "id": message_id,
            "chat_id": chat.id,
            "seq": seq,
            "sender_id": me,
            "content": content,
            "reply_to_id": body.reply_to_id,
            "attachment_id": body.attachment_id,
            "client_id": body.client_id,
            "mentions": [str(u) for u in mentions],
            "created_at": now,
        }
        if _dialect(session) == "postgresql":
            values["search_vector"] = func.to_tsvector("simple", content)
        await session.execute(insert(Message).values(**values))
        attachment: AttachmentInfo | None = None
        if body.attachment_id is not None:
            upload = await self.attachments.attach(
                uow,
                body.attachment_id,
                by=me,
                owner_type="message",
                owner_id=message_id,
                workspace_id=chat.workspace_id,
            )
            attachment = AttachmentInfo(
                attachment_id=upload.id,
                file_name=upload.file_name,
                content_type=upload.content_type,
                size=upload.size,
            )
        # A new message has no reactions or replies yet: its answer needs no query.
        out = MessageOut(
            message_id=message_id,
            chat_id=chat.id,
            seq=seq,
            sender_id=me,
            content=content,
            reply_to_id=body.reply_to_id,
            attachment=attachment,
            reactions=[],
            mentions=mentions,
            client_id=body.client_id,
            edited_at=None,
            deleted_at=None,
            created_at=now,
        )
        recipients = sorted(participants - {me}, key=str)
        online = await self.presence.connected(chat.workspace_id, recipients)
        if sender_name is None:
            profiles = await self.directory.member_profiles(chat.workspace_id, [me])
            sender_name = (profiles[0].nickname or profiles[0].name) if profiles else ""
        preview = content.strip()[:PREVIEW] or (out.attachment.file_name or "" if out.attachment else "")
        uow.emit(
            MessageCreated(
                workspace_id=chat.workspace_id,
                chat_id=chat.id,
                chat_type=chat.type,  # type: ignore[arg-type]
                chat_name=chat.name,
                message_id=message_id,
                seq=seq,
                sender_id=me,
                sender_name=sender_name,
                preview=preview,
                recipient_ids=recipients,
                offline_recipient_ids=[u for u in recipients if u not in online],
                mentioned_user_ids=mentions,
            )
        )
        frame = received_frame(out)
        chat_id = chat.id
        uow.after_commit(lambda: self.fanout.room(chat_id, "MESSAGE_RECEIVED", frame, cursor=seq))
        return out, True

    # ---------------------------------------------------------------------------------------- one message

    async def _own_message(self, uow: UnitOfWork, seen: SeenChat, message_id: uuid.UUID) -> Message:
        seen.require_participant()
        message = await uow.session.get(Message, message_id)
        if message is None or message.chat_id != seen.chat.id:
            raise message_not_found(message_id)
        return message

    async def edit(self, uow: UnitOfWork, seen: SeenChat, message_id: uuid.UUID, content: str) -> MessageOut:
        message = await self._own_message(uow, seen, message_id)
        if message.sender_id != seen.me:
            raise Forbidden("Only its author may edit a message.", code="NOT_MESSAGE_AUTHOR")
        if message.deleted_at is not None:
            raise Conflict("A deleted message cannot be edited.", code="MESSAGE_DELETED")
        self._check_content(content, message.attachment_id is not None)
        if content != message.content:
            now = utcnow()
            uow.session.add(Edit(message_id=message.id, content=message.content, replaced_at=now))
            message.content = content
            message.edited_at = now
            participants = set(
                (
                    await uow.session.scalars(
                        select(Participant.user_id).where(Participant.chat_id == seen.chat.id)
                    )
                ).all()
            )
            message.mentions = [str(u) for u in mentioned_ids(content) if u in participants and u != seen.me]
            if _dialect(uow.session) == "postgresql":
                message.search_vector = func.to_tsvector("simple", content)  # type: ignore[assignment]
            await uow.session.flush()
            await uow.session.refresh(message)
            await self._change(uow, message)
            [out] = await render_messages(uow.session, [message])
            self._publish_change(
                uow, "MESSAGE_UPDATED", out, message=out.model_dump(mode="json", by_alias=True)
            )
            return out
        [out] = await render_messages(uow.session, [message])
        return out

    async def _change(self, uow: UnitOfWork, message: Message) -> int:
        """The chat's next change number, now the message's ``change_seq`` (a resuming socket replays it)."""
        change = await uow.session.scalar(
            update(Chat)
            .where(Chat.id == message.chat_id)
            .values(last_change=Chat.last_change + 1)
            .returning(Chat.last_change)
        )
        message.change_seq = int(change or 0)
        await uow.session.flush()
        return message.change_seq

    def _publish_change(self, uow: UnitOfWork, type_: str, out: MessageOut, **fields: object) -> None:
        assert out.change_seq is not None
        frame = change_frame(out, **fields)
        chat_id, cursor = out.chat_id, change_cursor(out.change_seq)
        uow.after_commit(lambda: self.fanout.room(chat_id, type_, frame, cursor=cursor))

    async def edits(self, uow: UnitOfWork, seen: SeenChat, message_id: uuid.UUID) -> list[EditOut]:
        message = await self._own_message(uow, seen, message_id)
        if message.deleted_at is not None:
            return []
        rows = await uow.session.scalars(select(Edit).where(Edit.message_id == message.id).order_by(Edit.id))
        return [EditOut(content=e.content, replaced_at=e.replaced_at) for e in rows]

    async def delete(self, uow: UnitOfWork, seen: SeenChat, message_id: uuid.UUID) -> None:
        message = await self._own_message(uow, seen, message_id)
        if message.sender_id != seen.me and not (seen.is_chat_admin or seen.is_manager):
            raise Forbidden(
                "Only its author or the chat's admins may delete a message.", code="NOT_MESSAGE_AUTHOR"
            )
        if message.deleted_at is not None:
            return
        message.deleted_at = utcnow()
        message.content = ""
        message.mentions = []
        if _dialect(uow.session) == "postgresql":
            message.search_vector = None
        await uow.session.execute(delete(Edit).where(Edit.message_id == message.id))
        if message.attachment_id is not None:
            await self.attachments.release(uow, message.attachment_id)
        await uow.session.flush()
        await self._change(uow, message)
        [out] = await render_messages(uow.session, [message])
        self._publish_change(uow, "MESSAGE_DELETED", out, messageId=str(out.message_id))

    async def react(
        self, uow: UnitOfWork, seen: SeenChat, message_id: uuid.UUID, emoji: str, add: bool
    ) -> MessageOut:
        message = await self._own_message(uow, seen, message_id)
        emoji = emoji.strip()
        if not emoji or any(ch.isspace() or ord(ch) < 32 for ch in emoji):
            raise _invalid("body.emoji", "one emoji or :shortcode:", "EMOJI_INVALID")
        if message.deleted_at is not None:
            raise Conflict("A deleted message takes no reactions.", code="MESSAGE_DELETED")
        if add:
            await uow.upsert(
                Reaction,
                {"message_id": message.id, "user_id": seen.me, "emoji": emoji, "created_at": utcnow()},
                conflict=("message_id", "user_id", "emoji"),
            )
        else:
            await uow.session.execute(
                Reaction.__table__.delete().where(
                    Reaction.message_id == message.id, Reaction.user_id == seen.me, Reaction.emoji == emoji
                )
            )
        await self._change(uow, message)
        [out] = await render_messages(uow.session, [message])
        reactions = [r.model_dump(mode="json", by_alias=True) for r in out.reactions]
        self._publish_change(uow, "REACTION_UPDATED", out, messageId=str(out.message_id), reactions=reactions)
        return out

    # ---------------------------------------------------------------------------------------- reading

    async def history(self, session: AsyncSession, chat_id: uuid.UUID, query: HistoryQuery) -> MessagePage:
        if query.before is not None and query.after is not None:
            raise _invalid("query.before", "give before or after, not both", "HISTORY_BOTH_WAYS")
        stmt = select(Message).where(Message.chat_id == chat_id)
        if query.reply_to_id is not None:
            stmt = stmt.where(or_(Message.reply_to_id == query.reply_to_id, Message.id == query.reply_to_id))
        limit = query.limit
        if query.after is not None:
            rows = list(
                (
                    await session.scalars(
                        stmt.where(Message.seq > query.after).order_by(Message.seq).limit(limit + 1)
                    )
                ).all()
            )
            more_after = len(rows) > limit
            rows = rows[:limit]
            more_before = (
                query.after > 0
                and (
                    await session.scalar(
                        select(func.count()).select_from(stmt.where(Message.seq <= query.after).subquery())
                    )
                    or 0
                )
                > 0
            )
        else:
            if query.before is not None:
                stmt_b = stmt.where(Message.seq < query.before)
            else:
                stmt_b = stmt
            rows = list((await session.scalars(stmt_b.order_by(Message.seq.desc()).limit(limit + 1))).all())
            more_before = len(rows) > limit
            rows = list(reversed(rows[:limit]))
            more_after = (
                query.before is not None
                and (
                    await session.scalar(
                        select(func.count()).select_from(stmt.where(Message.seq >= query.before).subquery())
                    )
                    or 0
                )
                > 0
            )
        return MessagePage(
            items=await render_messages(session, rows), has_more_before=more_before, has_more_after=more_after
        )

    async def missed(
        self, chat_id: uuid.UUID, after: int, changes_after: int | None = None
    ) -> tuple[list[MessageOut], list[MessageOut], int, int]:
        """What a socket resuming at ``after`` (and ``changes_after``) missed: the messages after it (at most
        the resume limit), the earlier messages changed since, and the chat's last seq and last change."""
        async with self.database.reading() as session:
            last = (
                await session.execute(select(Chat.last_seq, Chat.last_change).where(Chat.id == chat_id))
            ).first()
            last_seq, last_change = (int(last[0]), int(last[1])) if last is not None else (0, 0)
            rows = (
                await session.scalars(
                    select(Message)
                    .where(Message.chat_id == chat_id, Message.seq > after)
                    .order_by(Message.seq)
                    .limit(self.options.resume_limit)
                )
            ).all()
            changed: list[Message] = []
            if changes_after is not None:
                changed = list(
                    (
                        await session.scalars(
                            select(Message)
                            .where(
                                Message.chat_id == chat_id,
                                Message.seq <= after,
                                Message.change_seq > changes_after,
                            )
                            .order_by(Message.change_seq)
                            .limit(self.options.resume_limit)
                        )
                    ).all()
                )
            return (
                await render_messages(session, rows),
                await render_messages(session, changed),
                last_seq,
                last_change,
            )

    async def mark_read(self, uow: UnitOfWork, seen: SeenChat, seq: int, field: str = "body.seq") -> ReadOut:
        seen.require_participant()
        chat = await uow.session.get(Chat, seen.chat.id)
        if chat is None:
            raise chat_not_found(seen.chat.id)
        if seq > chat.last_seq:
            raise _invalid(
                field, f"this chat has no message {seq} (its last is {chat.last_seq})", "SEQ_UNKNOWN"
            )
        result = await uow.session.execute(
            update(Participant)
            .where(
                Participant.chat_id == chat.id,
                Participant.user_id == seen.me,
                Participant.last_read_seq < seq,
            )
            .values(last_read_seq=seq)
        )
        moved = bool(result.rowcount)  # type: ignore[attr-defined]
        current = await uow.session.scalar(
            select(Participant.last_read_seq).where(
                Participant.chat_id == chat.id, Participant.user_id == seen.me
            )
        )
        unread = (await unread_counts(uow.session, seen.me, [chat.id])).get(chat.id, 0)
        if moved:
            chat_id, me = chat.id, seen.me
            frame = {"chatId": str(chat_id), "userId": str(me), "seq": seq}
            uow.after_commit(lambda: self.fanout.room(chat_id, "MESSAGE_READ", frame))
        return ReadOut(chat_id=chat.id, last_read_seq=int(current or 0), unread_count=unread)

    async def download(self, uow: UnitOfWork, seen: SeenChat, attachment_id: uuid.UUID) -> DownloadOut:
        """A download URL for an attachment of a live message of this chat; anything else is a 404."""
        message = await uow.session.scalar(
            select(Message).where(
                Message.chat_id == seen.chat.id,
                Message.attachment_id == attachment_id,
                Message.deleted_at.is_(None),
            )
        )
        if message is None:
            raise NotFound(f"No attachment {attachment_id} in this chat.", code="ATTACHMENT_NOT_FOUND")
        url = await self.attachments.download(uow, attachment_id)
        return DownloadOut(url=url.url, expires_at=url.expires_at)

    async def search(self, uow: UnitOfWork, member: Membership, query: SearchQuery) -> Page[MessageOut]:
        words = _WORD.findall(query.q.lower())[:10]
        if not words:
            raise _invalid("query.q", "search for at least one word", "SEARCH_QUERY_EMPTY")
        session = uow.session
        mine = (
            select(Chat.id)
            .join(Participant, Participant.chat_id == Chat.id)
            .where(Chat.workspace_id == member.workspace_id, Participant.user_id == member.user_id)
        )
        if query.chat_id is not None:
            mine = mine.where(Chat.id == query.chat_id)
        stmt = select(Message).where(Message.chat_id.in_(mine), Message.deleted_at.is_(None))
        if _dialect(session) == "postgresql":
            tsquery = " & ".join(f"{w}:*" for w in words)
            stmt = stmt.where(Message.search_vector.op("@@")(func.to_tsquery("simple", tsquery)))
        else:
            match = " ".join(f'"{w}"*' for w in words)
            found = (
                text("SELECT message_id FROM fts_chat_message WHERE fts_chat_message MATCH :q")
                .bindparams(q=match)
                .columns(message_id=Uuid)
                .subquery()
            )
            stmt = stmt.where(Message.id.in_(select(found.c.message_id)))
        # Newest first; a cursor is the position (created_at, id) of the page's last message.
        ks = keyset(stmt, query, order=(Message.created_at.desc(), Message.id))
        part = ks.slice((await session.scalars(ks.statement)).all())
        return Page(items=await render_messages(session, part.rows), next_cursor=part.next_cursor)
