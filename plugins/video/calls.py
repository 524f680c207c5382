"""Call history: the record each ended room leaves, with its stays and recordings, listed per workspace and
per member; a text transcript attached to a call."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import exists, select
from wealist_plugins.user.contract import MANAGERS, Membership
from wealist_plugins.video.access import SeenCall
from wealist_plugins.video.models import Call, Participation, Recording
from wealist_plugins.video.rooms import recording_out
from wealist_plugins.video.schemas import (
    CallOut,
    CallParticipantOut,
    HistoryQuery,
    RecordingOut,
    TranscriptIn,
)

from wealist_core import BlobStore, Forbidden, UnitOfWork, utcnow
from wealist_core.pagination import Page, keyset

__all__ = ["CallService"]

HISTORY_ORDER = (Call.ended_at.desc(), Call.id)


class CallService:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    async def _render(self, uow: UnitOfWork, calls: Sequence[Call]) -> list[CallOut]:
        rooms = [c.room_id for c in calls]
        stays: dict[uuid.UUID, list[CallParticipantOut]] = {r: [] for r in rooms}
        recordings: dict[uuid.UUID, list[RecordingOut]] = {r: [] for r in rooms}
        if rooms:
            rows = await uow.session.scalars(
                select(Participation)
                .where(Participation.room_id.in_(rooms), Participation.joined_at.is_not(None))
                .order_by(Participation.joined_at, Participation.id)
            )
            for s in rows:
                stays[s.room_id].append(
                    CallParticipantOut(
                        user_id=s.user_id, name=s.name, joined_at=s.joined_at, left_at=s.left_at
                    )
                )
            recs = await uow.session.scalars(
                select(Recording)
                .where(Recording.room_id.in_(rooms))
                .order_by(Recording.started_at, Recording.id)
            )
            for rec in recs:
                recordings[rec.room_id].append(await recording_out(rec, self.blobs))
        return [
            CallOut(
                call_id=c.id,
                room_id=c.room_id,
                workspace_id=c.workspace_id,
                name=c.name,
                created_by=c.created_by,
                started_at=c.started_at,
                ended_at=c.ended_at,
                duration_seconds=c.duration_seconds,
                participants=stays[c.room_id],
                recordings=recordings[c.room_id],
                transcript=c.transcript,
            )
            for c in calls
        ]

    async def history(self, uow: UnitOfWork, member: Membership, query: HistoryQuery) -> Page[CallOut]:
        stmt = select(Call).where(Call.workspace_id == member.workspace_id)
        if query.user_id is not None:
            took_part = exists().where(
                Participation.room_id == Call.room_id,
                Participation.user_id == query.user_id,
                Participation.joined_at.is_not(None),
            )
            stmt = stmt.where(took_part)
        ks = keyset(stmt, query, order=HISTORY_ORDER)
        part = ks.slice((await uow.session.scalars(ks.statement)).all())
        return Page(items=await self._render(uow, part.rows), next_cursor=part.next_cursor)

    async def read(self, uow: UnitOfWork, seen: SeenCall) -> CallOut:
        call = await uow.session.get(Call, seen.call.id)
        assert call is not None
        [answer] = await self._render(uow, [call])
        return answer

    async def attach_transcript(self, uow: UnitOfWork, seen: SeenCall, body: TranscriptIn) -> CallOut:
        """The call's creator, someone who took part, or a workspace admin attaches (or replaces) it."""
        me = seen.member.user_id
        call = await uow.session.get(Call, seen.call.id)
        assert call is not None
        took_part = await uow.session.scalar(
            select(Participation.id)
            .where(Participation.room_id == call.room_id, Participation.user_id == me)
            .limit(1)
        )
        if call.created_by != me and took_part is None and seen.member.role not in MANAGERS:
            raise Forbidden(
                "Only someone who took part in the call, or a workspace admin, may attach its transcript.",
                code="NOT_CALL_PARTICIPANT",
            )
        call.transcript = body.text
        call.transcript_by = me
        call.transcript_at = utcnow()
        await uow.session.flush()
        [answer] = await self._render(uow, [call])
        return answer
