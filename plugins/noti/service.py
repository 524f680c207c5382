"""The rules of notifications: who gets one, once; reading, counting, preferences.

Methods take the request's unit of work first; the event handlers open their own on the plugin's database.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from wealist_plugins.noti.drafts import TYPES, Draft
from wealist_plugins.noti.models import Notification, Preference
from wealist_plugins.noti.schemas import (
    NotificationOut,
    NotificationQuery,
    PreferenceIn,
    PreferenceOut,
    ResourceOut,
)
from wealist_plugins.user.contract import Directory

from wealist_core import (
    Clock,
    Database,
    KeyValue,
    Mailer,
    MailMessage,
    NotFound,
    UnitOfWork,
    ValidationProblem,
    utcnow,
)
from wealist_core.pagination import Page, keyset
from wealist_core.realtime import Hub

__all__ = ["NotificationService"]

NEWEST_FIRST = (Notification.created_at.desc(), Notification.id.desc())
#: How long a cached unread count lives (it is dropped on every change anyway).
COUNT_TTL = 300.0


def render(n: Notification) -> NotificationOut:
    return NotificationOut(
        notification_id=n.id,
        type=n.type,
        workspace_id=n.workspace_id,
        actor_id=n.actor_id,
        resource=ResourceOut(type=n.resource_type, id=n.resource_id, name=n.resource_name),
        text=n.text,
        link=n.link,
        metadata=n.meta or {},
        read_at=n.read_at,
        created_at=n.created_at,
    )


class NotificationService:
    def __init__(
        self, database: Database, directory: Directory, cache: KeyValue, hub: Hub, clock: Clock = utcnow
    ):
        self.database = database
        self.directory = directory
        self.cache = cache
        self.hub = hub
        self.clock = clock

    # --- storing -----------------------------------------------------------------------------------

    async def store(self, event_id: str, drafts: Sequence[Draft]) -> list[Notification]:
        """Store the drafts of one event: once per recipient however often the event comes, never for the
        actor, only for members of the workspace, never for a muted type."""
        wanted = [(d, r) for d in drafts for r in d.recipients if r != d.actor_id]
        if not wanted:
            return []
        users = {u.user_id: u for u in await self.directory.get_users(list({r for _, r in wanted}))}
        stored: list[Notification] = []
        async with self.database.unit_of_work() as uow:
            seen = set(
                (
                    await uow.session.scalars(
                        select(Notification.recipient_id).where(Notification.event_id == event_id)
                    )
                ).all()
            )
            for draft, recipient in wanted:
                user = users.get(recipient)
                if recipient in seen or user is None or user.deleted:
                    continue
                if await self.directory.membership(draft.workspace_id, recipient) is None:
                    continue
                in_app, _ = await self._wants(uow, recipient, draft.workspace_id, draft.type)
                if not in_app:
                    continue
                seen.add(recipient)
                n = Notification(
                    event_id=event_id,
                    type=draft.type,
                    recipient_id=recipient,
                    actor_id=draft.actor_id,
                    workspace_id=draft.workspace_id,
                    resource_type=draft.resource_type,
                    resource_id=draft.resource_id,
                    resource_name=draft.resource_name[:300],
                    text=draft.text(user.locale)[:500],
                    link=draft.link,
                    meta=draft.metadata,
                    created_at=self.clock(),
                )
                uow.session.add(n)
                stored.append(n)
            if stored:
                await uow.session.flush()
                recipients = {(n.recipient_id, n.workspace_id) for n in stored}
                # The notification first, then the counts it changed.
                uow.after_commit(lambda: self._push(stored))
                uow.after_commit(lambda: self._forget_counts(recipients))
        return stored

    async def _wants(
        self, uow: UnitOfWork, user_id: uuid.UUID, workspace_id: uuid.UUID, kind: str
    ) -> tuple[bool, bool]:
        """(in app, by mail) for this type here: the workspace's row, else the default, else yes."""
        rows = (
            await uow.session.scalars(
                select(Preference).where(
                    Preference.user_id == user_id,
                    Preference.type == kind,
                    Preference.workspace_key.in_([str(workspace_id), ""]),
                )
            )
        ).all()
        row = next((p for p in rows if p.workspace_key), None) or next(iter(rows), None)
        return (True, True) if row is None else (row.in_app, row.email)

    # --- counting ----------------------------------------------------------------------------------

    @staticmethod
    def _count_key(user_id: uuid.UUID, workspace_id: uuid.UUID | None) -> str:
        return f"unread:{user_id}:{workspace_id or 'all'}"

    async def _forget_counts(self, pairs: set[tuple[uuid.UUID, uuid.UUID | None]]) -> None:
        keys = {self._count_key(u, w) for u, w in pairs} | {self._count_key(u, None) for u, _ in pairs}
        await self.cache.delete(*keys)
        # The total of all workspaces (workspaceId null), then each workspace that changed.
        for user_id, workspace_id in sorted(
            pairs | {(u, None) for u, _ in pairs}, key=lambda p: str(p[1] or "")
        ):
            count = await self.count_now(user_id, workspace_id)
            frame = {"workspaceId": str(workspace_id) if workspace_id else None, "count": count}
            await self.hub.publish(f"user:{user_id}", "UNREAD_COUNT", frame)

    async def _push(self, stored: Sequence[Notification]) -> None:
        for n in stored:
            frame = {"notification": render(n).model_dump(mode="json", by_alias=True)}
            await self.hub.publish(f"user:{n.recipient_id}", "NOTIFICATION", frame, cursor=str(n.id))

    async def count_now(self, user_id: uuid.UUID, workspace_id: uuid.UUID | None = None) -> int:
        """My unread count in a workspace (in all without one), from the store."""
        async with self.database.unit_of_work() as uow:
            stmt = (
                select(func.count())
                .select_from(Notification)
                .where(Notification.recipient_id == user_id, Notification.read_at.is_(None))
            )
            if workspace_id is not None:
                stmt = stmt.where(Notification.workspace_id == workspace_id)
            return int((await uow.session.scalar(stmt)) or 0)

    async def exists_for(self, user_id: uuid.UUID, notification_id: uuid.UUID) -> bool:
        async with self.database.unit_of_work() as uow:
            n = await uow.session.get(Notification, notification_id)
            return n is not None and n.recipient_id == user_id

    async def after(
        self, user_id: uuid.UUID, after_id: uuid.UUID | None, limit: int
    ) -> tuple[list[Notification], bool]:
        """My notifications stored after ``after_id`` (the newest ``limit`` without one), oldest first, and
        whether there were more."""
        async with self.database.unit_of_work() as uow:
            stmt = select(Notification).where(Notification.recipient_id == user_id)
            if after_id is None:
                rows = list((await uow.session.scalars(stmt.order_by(*NEWEST_FIRST).limit(limit))).all())
                return rows[::-1], False
            anchor = await uow.session.get(Notification, after_id)
            assert anchor is not None
            stmt = stmt.where(
                (Notification.created_at > anchor.created_at)
                | ((Notification.created_at == anchor.created_at) & (Notification.id > anchor.id))
            ).order_by(Notification.created_at, Notification.id)
            rows = list((await uow.session.scalars(stmt.limit(limit + 1))).all())
            return rows[:limit], len(rows) > limit

    async def unread_count(self, uow: UnitOfWork, user_id: uuid.UUID, workspace_id: uuid.UUID | None) -> int:
        key = self._count_key(user_id, workspace_id)
        cached = await self.cache.get(key)
        if cached is not None:
            return int(cached)
        stmt = (
            select(func.count())
            .select_from(Notification)
            .where(Notification.recipient_id == user_id, Notification.read_at.is_(None))
        )
        if workspace_id is not None:
            stmt = stmt.where(Notification.workspace_id == workspace_id)
        count = int((await uow.session.scalar(stmt)) or 0)
        await self.cache.set(key, str(count), ttl=COUNT_TTL)
        return count

    # --- reading -----------------------------------------------------------------------------------

    async def page(
        self, uow: UnitOfWork, user_id: uuid.UUID, query: NotificationQuery
    ) -> Page[NotificationOut]:
        stmt = select(Notification).where(Notification.recipient_id == user_id)
        if query.workspace_id is not None:
            stmt = stmt.where(Notification.workspace_id == query.workspace_id)
        if query.unread_only:
            stmt = stmt.where(Notification.read_at.is_(None))
        ks = keyset(stmt, query, order=NEWEST_FIRST)
        part = ks.slice((await uow.session.scalars(ks.statement)).all())
        return Page(items=[render(n) for n in part.rows], next_cursor=part.next_cursor)

    async def _mine(self, uow: UnitOfWork, user_id: uuid.UUID, notification_id: uuid.UUID) -> Notification:
        n = await uow.session.get(Notification, notification_id)
        if n is None or n.recipient_id != user_id:
            raise NotFound(f"No notification {notification_id} of yours.", code="NOTIFICATION_NOT_FOUND")
        return n

    async def mark_read(
        self, uow: UnitOfWork, user_id: uuid.UUID, notification_id: uuid.UUID
    ) -> NotificationOut:
        n = await self._mine(uow, user_id, notification_id)
        if n.read_at is None:
            n.read_at = self.clock()
            await uow.session.flush()
            pairs = {(user_id, n.workspace_id)}
            uow.after_commit(lambda: self._forget_counts(pairs))
        return render(n)

    async def read_all(self, uow: UnitOfWork, user_id: uuid.UUID, workspace_id: uuid.UUID | None) -> int:
        stmt = update(Notification).where(
            Notification.recipient_id == user_id, Notification.read_at.is_(None)
        )
        if workspace_id is not None:
            stmt = stmt.where(Notification.workspace_id == workspace_id)
        result = await uow.session.execute(stmt.values(read_at=self.clock()))
        workspaces = {w.workspace_id for w in await self.directory.user_workspaces(user_id)}
        pairs: set[tuple[uuid.UUID, uuid.UUID | None]] = {(user_id, w) for w in workspaces | {workspace_id}}
        uow.after_commit(lambda: self._forget_counts(pairs))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def remove(self, uow: UnitOfWork, user_id: uuid.UUID, notification_id: uuid.UUID) -> None:
        n = await self._mine(uow, user_id, notification_id)
        await uow.session.delete(n)
        await uow.session.flush()
        pairs = {(user_id, n.workspace_id)}
        uow.after_commit(lambda: self._forget_counts(pairs))

    # --- preferences -------------------------------------------------------------------------------

    async def preferences(self, uow: UnitOfWork, user_id: uuid.UUID) -> list[PreferenceOut]:
        rows = (await uow.session.scalars(select(Preference).where(Preference.user_id == user_id))).all()
        order = {t: i for i, t in enumerate(TYPES)}
        rows = sorted(rows, key=lambda p: (p.workspace_key, order.get(p.type, 99)))
        return [
            PreferenceOut(
                workspace_id=uuid.UUID(p.workspace_key) if p.workspace_key else None,
                type=p.type,  # type: ignore[arg-type]
                in_app=p.in_app,
                email=p.email,
            )
            for p in rows
        ]

    async def set_preferences(
        self, uow: UnitOfWork, user_id: uuid.UUID, body: list[PreferenceIn]
    ) -> list[PreferenceOut]:
        """Set the given rows (others stay); a workspace must be one of mine."""
        if len(body) > 500:
            raise ValidationProblem(
                "body: at most 500 preferences", errors=[{"field": "body", "message": "too many"}]
            )
        for i, p in enumerate(body):
            if (
                p.workspace_id is not None
                and await self.directory.membership(p.workspace_id, user_id) is None
            ):
                raise NotFound(
                    f"No workspace {p.workspace_id} that you belong to.",
                    code="WORKSPACE_NOT_FOUND",
                )
            _ = i
        for p in body:
            values = {
                "id": uuid.uuid4(),
                "user_id": user_id,
                "workspace_key": str(p.workspace_id) if p.workspace_id else "",
                "type": p.type,
                "in_app": p.in_app,
                "email": p.email,
            }
            await uow.upsert(
                Preference, values, conflict=("user_id", "workspace_key", "type"), update=("in_app", "email")
            )
        return await self.preferences(uow, user_id)

    async def forget_user(self, user_id: uuid.UUID) -> None:
        async with self.database.unit_of_work() as uow:
            await uow.session.execute(delete(Notification).where(Notification.recipient_id == user_id))
            await uow.session.execute(delete(Preference).where(Preference.user_id == user_id))
        await self._forget_counts({(user_id, None)})

    # --- the email digest --------------------------------------------------------------------------

    async def send_digests(self, mailer: Mailer, now: dt.datetime, delay: dt.timedelta) -> int:
        """Mail each user the notifications still unread ``delay`` after they were made, in one message per
        user; they are marked mailed in the transaction that sends, so none is mailed twice. Those whose type
        is kept from mail are marked too, unsent. Answers how many messages were sent."""
        cutoff = now - delay
        due = (
            select(Notification.recipient_id)
            .where(
                Notification.mailed_at.is_(None),
                Notification.read_at.is_(None),
                Notification.created_at <= cutoff,
            )
            .distinct()
        )
        async with self.database.unit_of_work() as uow:
            recipients = list((await uow.session.scalars(due)).all())
        if not recipients:
            return 0
        users = {u.user_id: u for u in await self.directory.get_users(recipients)}
        sent = 0
        for recipient in recipients:
            async with self.database.unit_of_work() as uow:
                rows = (
                    await uow.session.scalars(
                        select(Notification)
                        .where(
                            Notification.recipient_id == recipient,
                            Notification.mailed_at.is_(None),
                            Notification.read_at.is_(None),
                            Notification.created_at <= cutoff,
                        )
                        .order_by(Notification.created_at, Notification.id)
                        .limit(200)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
                wanted = []
                for n in rows:
                    n.mailed_at = now
                    if (await self._wants(uow, recipient, n.workspace_id, n.type))[1]:
                        wanted.append(n)
                user = users.get(recipient)
                if wanted and user is not None and not user.deleted:
                    await uow.session.flush()
                    await mailer.send(digest_message(user.email, user.locale, wanted))
                    sent += 1
        return sent


def digest_message(email: str, locale: str | None, rows: Sequence[Notification]) -> MailMessage:
    korean = (locale or "").lower().startswith("ko")
    if korean:
        subject = f"[Wealist] 읽지 않은 알림 {len(rows)}개"
        intro = "읽지 않은 알림이 있습니다:"
    else:
        subject = f"[Wealist] {len(rows)} unread notification{'s' if len(rows) != 1 else ''}"
        intro = "You have unread notifications:"
    lines = [intro, ""] + [f"- {n.text} ({n.link})" for n in rows]
    return MailMessage(to=[email], subject=subject, text="\n".join(lines))
