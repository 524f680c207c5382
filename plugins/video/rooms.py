"""Rooms: create, list, join, leave, end, record; and what LiveKit's webhooks tell about them.

The database holds the truth that outlives a call (rooms, stays, calls, recordings); the key-value store
holds what LiveKit reports live: ``video:room:<id>:participants`` (who is connected now) and
``video:room:<id>:state`` (``ACTIVE`` or ``ENDED``). LiveKit's room is named after the room's id; the
server is told to create it before the room is stored, and to delete it once the end is committed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from wealist_plugins.user.contract import Directory, Membership
from wealist_plugins.video.access import SeenRoom
from wealist_plugins.video.contract import CallEnded, CallStarted
from wealist_plugins.video.ice import ice_servers
from wealist_plugins.video.models import ACTIVE, ENDED, Call, Participation, Recording, Room
from wealist_plugins.video.options import VideoOptions
from wealist_plugins.video.schemas import (
    JoinOut,
    ParticipantOut,
    RecordingOut,
    RoomIn,
    RoomOut,
    RoomQuery,
)

from wealist_core import (
    BlobStore,
    Conflict,
    Database,
    KeyValue,
    MediaRooms,
    MediaWebhook,
    ProblemError,
    RateLimiter,
    ServiceUnavailable,
    UnitOfWork,
    ValidationProblem,
    utcnow,
)
from wealist_core.pagination import Page, keyset

__all__ = ["RoomService", "recording_out"]

logger = logging.getLogger("wealist.video")

ROOMS_ORDER = (Room.created_at.desc(), Room.id)
RUNNING = ("STARTING", "ACTIVE")
FINISHED = ("COMPLETE", "FAILED", "ABORTED", "LIMIT_REACHED")
CREATES_PER_MINUTE = 20
#: Ended calls whose LiveKit room could not be deleted at the end (LiveKit was unreachable): retried by a job.
UNCLOSED = "rooms:unclosed"
#: LiveKit closes a room nobody joined (or everyone left) after this many seconds; room_finished follows.
EMPTY_TIMEOUT = 300


class Gone(ProblemError):
    """410: the call ended; a new room is needed."""

    status, default_code, title = 410, "GONE", "Gone"


def participants_key(room_id: uuid.UUID) -> str:
    return f"room:{room_id}:participants"


def state_key(room_id: uuid.UUID) -> str:
    return f"room:{room_id}:state"


async def recording_out(rec: Recording, blobs: BlobStore) -> RecordingOut:
    url = None
    if rec.status == "COMPLETE" and rec.key:
        url = (await blobs.presign_get(rec.key, filename=rec.key.rsplit("/", 1)[-1])).url
    return RecordingOut(
        recording_id=rec.id,
        room_id=rec.room_id,
        status=rec.status,
        started_by=rec.started_by,
        started_at=rec.started_at,
        ended_at=rec.ended_at,
        key=rec.key,
        size=rec.size,
        duration_seconds=rec.duration_seconds,
        download_url=url,
    )


class RoomService:
    """The rules of rooms. ``media`` is None when no LiveKit is configured: video routes answer 503."""

    def __init__(
        self,
        *,
        media: MediaRooms | None,
        database: Database,
        keyvalue: KeyValue,
        blobs: BlobStore,
        directory: Directory,
        options: VideoOptions,
    ) -> None:
        self.db = database
        self.limiter = RateLimiter(keyvalue)
        self.media = media
        self.kv = keyvalue
        self.blobs = blobs
        self.directory = directory
        self.options = options

    def _media(self) -> MediaRooms:
        if self.media is None:
            raise ServiceUnavailable(
                "Video calls are not configured on this server (no LiveKit); ask its operator to set "
                "WEALIST_MEDIA_URL.",
                code="VIDEO_NOT_CONFIGURED",
            )
        return self.media

    # ------------------------------------------------------------------------------------------ reading

    async def _render(self, session: AsyncSession, rooms: Sequence[Room]) -> list[RoomOut]:
        ids = [room.id for room in rooms]
        stays: dict[uuid.UUID, list[Participation]] = {room_id: [] for room_id in ids}
        recording: set[uuid.UUID] = set()
        if ids:
            rows = await session.scalars(
                select(Participation)
                .where(Participation.room_id.in_(ids), Participation.left_at.is_(None))
                .order_by(Participation.granted_at, Participation.id)
            )
            for stay in rows:
                stays[stay.room_id].append(stay)
            recording = set(
                await session.scalars(
                    select(Recording.room_id).where(Recording.room_id.in_(ids), Recording.status.in_(RUNNING))
                )
            )
        answers = []
        for room in rooms:
            connected = await self.kv.smembers(participants_key(room.id)) if room.status == ACTIVE else set()
            answers.append(
                RoomOut(
                    room_id=room.id,
                    workspace_id=room.workspace_id,
                    name=room.name,
                    capacity=room.capacity,
                    status=room.status,
                    created_by=room.created_by,
                    chat_id=room.chat_id,
                    project_id=room.project_id,
                    participants=[
                        ParticipantOut(
                            user_id=s.user_id,
                            name=s.name,
                            joined_at=s.joined_at,
                            connected=str(s.user_id) in connected,
                        )
                        for s in stays[room.id]
                    ],
                    created_at=room.created_at,
                    ended_at=room.ended_at,
                    recording=room.id in recording,
                )
            )
        return answers

    async def read(self, uow: UnitOfWork, seen: SeenRoom) -> RoomOut:
        room = await uow.session.get(Room, seen.room.id)
        assert room is not None
        [answer] = await self._render(uow.session, [room])
        return answer

    async def active(self, uow: UnitOfWork, member: Membership, query: RoomQuery) -> Page[RoomOut]:
        stmt = select(Room).where(Room.workspace_id == member.workspace_id, Room.status == ACTIVE)
        ks = keyset(stmt, query, order=ROOMS_ORDER)
        part = ks.slice((await uow.session.scalars(ks.statement)).all())
        return Page(items=await self._render(uow.session, part.rows), next_cursor=part.next_cursor)

    # ------------------------------------------------------------------------------------------ creating

    async def create(self, member: Membership, body: RoomIn) -> RoomOut:
        """LiveKit's room first, outside any transaction (no database lock waits on the media server), then
        ours; if storing ours fails, LiveKit's is deleted again."""
        media = self._media()
        await self.limiter.enforce(f"create:{member.user_id}", limit=CREATES_PER_MINUTE, window=60)
        if body.capacity > self.options.max_capacity:
            raise ValidationProblem(
                f"capacity: at most {self.options.max_capacity} on this server.",
                errors=[
                    {
                        "field": "body.capacity",
                        "message": f"at most {self.options.max_capacity}",
                        "type": "less_than_equal",
                    }
                ],
            )
        room = Room(
            id=uuid.uuid4(),
            workspace_id=member.workspace_id,
            name=body.name.strip(),
            capacity=body.capacity,
            status=ACTIVE,
            created_by=member.user_id,
            chat_id=body.chat_id,
            project_id=body.project_id,
            created_at=utcnow(),
        )
        starter = await self._display_name(room.workspace_id, room.created_by)
        metadata = json.dumps({"workspaceId": str(room.workspace_id), "name": room.name}, ensure_ascii=False)
        await media.create_room(
            str(room.id), max_participants=room.capacity, empty_timeout=EMPTY_TIMEOUT, metadata=metadata
        )
        try:
            async with self.db.unit_of_work() as uow:
                uow.session.add(room)
                await uow.session.flush()
                uow.emit(
                    CallStarted(
                        workspace_id=room.workspace_id,
                        room_id=room.id,
                        name=room.name,
                        started_by=room.created_by,
                        started_by_name=starter,
                        chat_id=room.chat_id,
                        project_id=room.project_id,
                        capacity=room.capacity,
                        started_at=room.created_at,
                    )
                )
                uow.after_commit(lambda: self.kv.set(state_key(room.id), ACTIVE, ttl=7 * 86400))
                [answer] = await self._render(uow.session, [room])
        except BaseException:
            with contextlib.suppress(Exception):
                await media.delete_room(str(room.id))
            raise
        return answer

    # ------------------------------------------------------------------------------------------ joining

    async def _locked_room(self, session: AsyncSession, room_id: uuid.UUID) -> Room:
        # FOR UPDATE on PostgreSQL: two joins for the last seat are decided one after the other.
        room = (await session.scalars(select(Room).where(Room.id == room_id).with_for_update())).one()
        if room.status != ACTIVE:
            raise Gone("The call has ended.", code="ROOM_ENDED")
        return room

    async def _open_stay(
        self, session: AsyncSession, room_id: uuid.UUID, user_id: uuid.UUID
    ) -> Participation | None:
        return (
            await session.scalars(
                select(Participation)
                .where(
                    Participation.room_id == room_id,
                    Participation.user_id == user_id,
                    Participation.left_at.is_(None),
                )
                .order_by(Participation.granted_at.desc())
                .limit(1)
            )
        ).first()

    async def _seats_taken(self, session: AsyncSession, room_id: uuid.UUID) -> int:
        count = await session.scalar(
            select(func.count())
            .select_from(Participation)
            .where(Participation.room_id == room_id, Participation.left_at.is_(None))
        )
        return int(count or 0)

    async def _display_name(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> str:
        profiles = await self.directory.member_profiles(workspace_id, [user_id])
        for profile in profiles:
            if profile.user_id == user_id:
                return profile.nickname or profile.name
        return str(user_id)

    async def _free_stale_seats(
        self, session: AsyncSession, room: Room, connected: set[str], now: dt.datetime
    ) -> None:
        """Seats granted but never used within the hold time go back, unless LiveKit sees them connected."""
        cutoff = now - dt.timedelta(seconds=self.options.seat_hold)
        stale = await session.scalars(
            select(Participation).where(
                Participation.room_id == room.id,
                Participation.left_at.is_(None),
                Participation.joined_at.is_(None),
                Participation.granted_at < cutoff,
            )
        )
        for stay in stale:
            if str(stay.user_id) not in connected:
                stay.left_at = now
        await session.flush()

    async def join(self, seen: SeenRoom) -> JoinOut:
        """A seat and a token. What LiveKit and the Directory are asked is asked before the transaction, so
        the seat is decided under the room's lock without waiting on either."""
        media = self._media()
        me = seen.member.user_id
        async with self.db.reading() as session:
            room = await session.get(Room, seen.room.id)
            assert room is not None
            if room.status != ACTIVE:
                raise Gone("The call has ended.", code="ROOM_ENDED")
            held = await self._open_stay(session, room.id, me)
            full = held is None and await self._seats_taken(session, room.id) >= room.capacity
        connected: set[str] | None = None
        if full:
            connected = {p.identity for p in await media.list_participants(str(room.id))}
        name = held.name if held is not None else await self._display_name(room.workspace_id, me)
        now = utcnow()
        async with self.db.unit_of_work() as uow:
            room = await self._locked_room(uow.session, seen.room.id)
            stay = await self._open_stay(uow.session, room.id, me)
            if stay is None:
                if await self._seats_taken(uow.session, room.id) >= room.capacity and connected is not None:
                    await self._free_stale_seats(uow.session, room, connected, now)
                if await self._seats_taken(uow.session, room.id) >= room.capacity:
                    raise Conflict(f"The call is full ({room.capacity} people).", code="ROOM_FULL")
                stay = Participation(id=uuid.uuid4(), room_id=room.id, user_id=me, name=name, granted_at=now)
                uow.session.add(stay)
        ttl = self.options.token_ttl
        metadata = json.dumps({"workspaceId": str(room.workspace_id)})
        token = media.join_token(str(room.id), identity=str(me), name=stay.name, ttl=ttl, metadata=metadata)
        return JoinOut(
            room_id=room.id,
            identity=str(me),
            token=token,
            url=media.client_url,
            ice_servers=ice_servers(self.options, me, now),
            expires_at=now + dt.timedelta(seconds=ttl),
        )

    async def leave(self, uow: UnitOfWork, seen: SeenRoom) -> None:
        me = seen.member.user_id
        stay = await self._open_stay(uow.session, seen.room.id, me)
        if stay is None:
            return
        stay.left_at = utcnow()
        media = self.media
        room_id = seen.room.id

        async def disconnect() -> None:
            await self.kv.srem(participants_key(room_id), str(me))
            if media is not None:
                await media.remove_participant(str(room_id), str(me))

        uow.after_commit(disconnect)

    # ------------------------------------------------------------------------------------------ ending

    async def end(self, uow: UnitOfWork, seen: SeenRoom) -> None:
        seen.require_creator_or_manager("end the call")
        self._media()
        room = await self._locked_room(uow.session, seen.room.id)
        await self._finish(uow, room, ended_by=seen.member.user_id)

    async def _finish(self, uow: UnitOfWork, room: Room, *, ended_by: uuid.UUID | None) -> Call:
        """End an active room: close every stay, write the call record, tell LiveKit after the commit."""
        now = utcnow()
        room.status = ENDED
        room.ended_at = now
        room.ended_by = ended_by
        await uow.session.execute(
            update(Participation)
            .where(Participation.room_id == room.id, Participation.left_at.is_(None))
            .values(left_at=now)
        )
        stays = list(await uow.session.scalars(select(Participation).where(Participation.room_id == room.id)))
        joined = [s.joined_at for s in stays if s.joined_at is not None]
        started = min(joined) if joined else room.created_at
        call = Call(
            id=uuid.uuid4(),
            room_id=room.id,
            workspace_id=room.workspace_id,
            name=room.name,
            created_by=room.created_by,
            started_at=started,
            ended_at=now,
            duration_seconds=max(0, int((now - started).total_seconds())),
        )
        uow.session.add(call)
        await uow.session.execute(
            update(Recording)
            .where(Recording.room_id == room.id, Recording.status.in_(RUNNING))
            .values(status="ENDING")
        )
        await uow.session.flush()
        uow.emit(
            CallEnded(
                workspace_id=room.workspace_id,
                room_id=room.id,
                call_id=call.id,
                chat_id=room.chat_id,
                project_id=room.project_id,
                ended_by=ended_by,
                started_at=started,
                ended_at=now,
                duration_seconds=call.duration_seconds,
                participant_ids=sorted({s.user_id for s in stays if s.joined_at is not None}, key=str),
            )
        )
        media, room_id = self.media, room.id

        async def close_livekit_room() -> None:
            await self.kv.set(state_key(room_id), ENDED, ttl=86400)
            await self.kv.delete(participants_key(room_id))
            if media is not None:
                try:
                    await media.delete_room(str(room_id))
                except ProblemError:
                    # LiveKit is unreachable: whoever is still connected would go on talking. The job
                    # retries until LiveKit has closed the room.
                    logger.warning("LiveKit room %s not deleted yet; retrying later", room_id)
                    await self.kv.sadd(UNCLOSED, str(room_id))

        uow.after_commit(close_livekit_room)
        return call

    # ------------------------------------------------------------------------------------------ recording

    def _recorder(self) -> MediaRooms:
        media = self._media()
        if not media.records:
            raise ServiceUnavailable(
                "Recording is not configured on this server (no LiveKit Egress).",
                code="RECORDING_NOT_CONFIGURED",
            )
        return media

    async def _running(self, session: AsyncSession, room_id: uuid.UUID) -> Recording | None:
        return (
            await session.scalars(
                select(Recording).where(Recording.room_id == room_id, Recording.status.in_(RUNNING))
            )
        ).first()

    async def start_recording(self, seen: SeenRoom) -> RecordingOut:
        """Egress is asked outside the transaction; a second start that lost the race stops its egress."""
        seen.require_creator("record the call")
        async with self.db.reading() as session:
            room = await session.get(Room, seen.room.id)
            assert room is not None
            if room.status != ACTIVE:
                raise Gone("The call has ended.", code="ROOM_ENDED")
            if await self._running(session, room.id) is not None:
                raise Conflict("The call is being recorded already.", code="RECORDING_IN_PROGRESS")
        media = self._recorder()
        started = await media.start_recording(str(room.id), key_prefix=f"video/{room.id}/")
        try:
            async with self.db.unit_of_work() as uow:
                await self._locked_room(uow.session, room.id)
                if await self._running(uow.session, room.id) is not None:
                    raise Conflict("The call is being recorded already.", code="RECORDING_IN_PROGRESS")
                rec = Recording(
                    id=uuid.uuid4(),
                    room_id=room.id,
                    egress_id=started.recording_id,
                    status=started.status,
                    started_by=seen.member.user_id,
                    started_at=utcnow(),
                )
                uow.session.add(rec)
        except BaseException:
            with contextlib.suppress(Exception):
                await media.stop_recording(started.recording_id)
            raise
        return await recording_out(rec, self.blobs)

    async def stop_recording(self, seen: SeenRoom) -> RecordingOut:
        seen.require_creator("stop the recording")
        async with self.db.reading() as session:
            room = await session.get(Room, seen.room.id)
            assert room is not None
            if room.status != ACTIVE:
                raise Gone("The call has ended.", code="ROOM_ENDED")
            running = await self._running(session, room.id)
            if running is None:
                raise Conflict("The call is not being recorded.", code="NOT_RECORDING")
        stopped = await self._recorder().stop_recording(running.egress_id)
        async with self.db.unit_of_work() as uow:
            rec = await uow.session.get(Recording, running.id)
            assert rec is not None
            if rec.status in RUNNING:  # a webhook may have said more meanwhile
                rec.status = stopped.status
        return await recording_out(rec, self.blobs)

    # ------------------------------------------------------------------------------------------ webhooks

    async def on_webhook(self, uow: UnitOfWork, body: bytes, authorization: str) -> None:
        media = self._media()
        hook = media.verify_webhook(body, authorization)
        seen_key = f"webhook:{hook.event_id}"
        if hook.event_id and await self.kv.exists(seen_key):
            return  # LiveKit retried a webhook we already applied
        try:
            room_id = uuid.UUID(hook.room)
        except ValueError:
            logger.info("webhook %s for a room that is not ours: %r", hook.event, hook.room)
            return
        room = (await uow.session.scalars(select(Room).where(Room.id == room_id).with_for_update())).first()
        if room is None:
            logger.info("webhook %s for an unknown room %s", hook.event, room_id)
            return
        if hook.event in ("participant_joined", "participant_left"):
            await self._on_participant(uow, room, hook, media)
        elif hook.event == "room_finished" and room.status == ACTIVE:
            await self._finish(uow, room, ended_by=None)
        elif hook.event.startswith("egress_") and hook.recording is not None:
            await self._on_egress(uow, hook)
        if hook.event_id:
            uow.after_commit(lambda: self.kv.set(seen_key, "1", ttl=86400))

    async def _on_participant(
        self, uow: UnitOfWork, room: Room, hook: MediaWebhook, media: MediaRooms
    ) -> None:
        try:
            user_id = uuid.UUID(hook.identity)
        except ValueError:
            return  # an egress recorder or another service participant, not a member
        stay = await self._open_stay(uow.session, room.id, user_id)
        key, identity = participants_key(room.id), hook.identity
        if hook.event == "participant_joined":
            if room.status != ACTIVE:
                uow.after_commit(lambda: media.remove_participant(str(room.id), identity))
                return
            if stay is None:  # reconnected with a token still valid after leaving
                if await self.directory.membership(room.workspace_id, user_id) is None:
                    # No longer a member (removed since the token was minted): out, and not counted.
                    uow.after_commit(lambda: media.remove_participant(str(room.id), identity))
                    return
                stay = Participation(
                    id=uuid.uuid4(),
                    room_id=room.id,
                    user_id=user_id,
                    name=hook.name,
                    granted_at=hook.created_at,
                )
                uow.session.add(stay)
            if stay.joined_at is None:
                stay.joined_at = hook.created_at
            uow.after_commit(lambda: self.kv.sadd(key, identity))
        else:
            if stay is not None and stay.joined_at is not None:
                stay.left_at = hook.created_at
            uow.after_commit(lambda: self.kv.srem(key, identity))

    async def _on_egress(self, uow: UnitOfWork, hook: MediaWebhook) -> None:
        assert hook.recording is not None
        rec = (
            await uow.session.scalars(
                select(Recording).where(Recording.egress_id == hook.recording.recording_id)
            )
        ).first()
        if rec is None or (rec.status in FINISHED and hook.event != "egress_ended"):
            return  # an update overtaken by the end
        rec.status = hook.recording.status
        rec.error = hook.recording.error[:500]
        if hook.event == "egress_ended":
            rec.ended_at = hook.created_at
            if hook.recording.files:
                first = hook.recording.files[0]
                rec.key = first.key
                rec.size = first.size
                rec.duration_seconds = first.duration_seconds

    # ------------------------------------------------------------------------------------------ membership

    async def on_member_removed(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """Someone who left the workspace (or was removed) leaves its calls at once."""
        now = utcnow()
        async with self.db.unit_of_work() as uow:
            stays = list(
                await uow.session.scalars(
                    select(Participation)
                    .join(Room, Room.id == Participation.room_id)
                    .where(
                        Room.workspace_id == workspace_id,
                        Room.status == ACTIVE,
                        Participation.user_id == user_id,
                        Participation.left_at.is_(None),
                    )
                )
            )
            for stay in stays:
                stay.left_at = now
        for stay in stays:
            await self.kv.srem(participants_key(stay.room_id), str(user_id))
            if self.media is not None:
                try:
                    await self.media.remove_participant(str(stay.room_id), str(user_id))
                except (
                    ProblemError
                ):  # the stay is closed; their token lets them back in only if still a member
                    logger.warning("could not disconnect %s from room %s", user_id, stay.room_id)

    async def close_unclosed(self) -> int:
        """Delete the LiveKit rooms of ended calls that LiveKit could not be told about at the end."""
        if self.media is None:
            return 0
        closed = 0
        for room_id in await self.kv.smembers(UNCLOSED):
            try:
                await self.media.delete_room(room_id)
            except ProblemError:
                continue
            await self.kv.srem(UNCLOSED, room_id)
            closed += 1
        return closed

    async def on_workspace_deleted(self, workspace_id: uuid.UUID) -> None:
        """A deleted workspace's calls end for everyone."""
        async with self.db.unit_of_work() as uow:
            rooms = await uow.session.scalars(
                select(Room).where(Room.workspace_id == workspace_id, Room.status == ACTIVE).with_for_update()
            )
            for room in list(rooms):
                await self._finish(uow, room, ended_by=None)

    async def end_abandoned(self, now: dt.datetime) -> int:
        """End calls LiveKit no longer holds anyone in, in case its room_finished webhook never arrived (the
        webhook URL was down): a room past LiveKit's empty timeout, nobody connected and no fresh seat."""
        if self.media is None:
            return 0
        quiet = now - dt.timedelta(seconds=EMPTY_TIMEOUT + 60)
        async with self.db.reading() as session:
            candidates = list(
                await session.scalars(
                    select(Room.id).where(
                        Room.status == ACTIVE,
                        Room.created_at < quiet,
                        ~select(Participation.id)
                        .where(Participation.room_id == Room.id, Participation.granted_at >= quiet)
                        .exists(),
                    )
                )
            )
        ended = 0
        for room_id in candidates:
            if await self.media.list_participants(str(room_id)):
                continue  # still in use (webhooks about joins may have been lost too)
            async with self.db.unit_of_work() as uow:
                room = (
                    await uow.session.scalars(select(Room).where(Room.id == room_id).with_for_update())
                ).first()
                if room is not None and room.status == ACTIVE:
                    await self._finish(uow, room, ended_by=None)
                    ended += 1
        return ended
