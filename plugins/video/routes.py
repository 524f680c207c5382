"""The video API under ``/api/video``: each route declared once by its handler's signature."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from wealist_plugins.user.contract import MemberOf
from wealist_plugins.video.access import VisibleCall, VisibleRoom
from wealist_plugins.video.calls import CallService
from wealist_plugins.video.rooms import RoomService
from wealist_plugins.video.schemas import (
    CallOut,
    HistoryQuery,
    JoinOut,
    RecordingOut,
    RoomIn,
    RoomOut,
    RoomQuery,
    TranscriptIn,
)

from wealist_core import BadRequest, PayloadTooLarge, UnitOfWork
from wealist_core.http import Controller, Page, delete, get, post, put

__all__ = ["History", "Rooms", "Webhooks"]

#: A transcript of a long call: a million characters, up to three bytes each in UTF-8 (Korean).
TRANSCRIPT_LIMIT = 4 * 1024 * 1024
#: LiveKit's webhooks are small JSON documents; anything larger is not one.
WEBHOOK_LIMIT = 256 * 1024


class Rooms(Controller):
    """``/api/video/rooms``: calls in a workspace."""

    path = "/api/video/rooms"
    tags = ("video",)

    def __init__(self, service: RoomService) -> None:
        self.service = service

    @post("", status=201, errors=(503,))
    async def create_room(self, member: MemberOf, body: RoomIn) -> RoomOut:
        """Start a call in a workspace I belong to (from a chat or a project when named)."""
        return await self.service.create(member, body)

    @get("")
    async def list_rooms(self, member: MemberOf, query: RoomQuery, uow: UnitOfWork) -> Page[RoomOut]:
        """The workspace's calls under way, newest first, with who is in them."""
        return await self.service.active(uow, member, query)

    @get("/{roomId}")
    async def get_room(self, roomId: uuid.UUID, room: VisibleRoom, uow: UnitOfWork) -> RoomOut:
        """A room with its participants."""
        return await self.service.read(uow, room)

    @delete("/{roomId}", errors=(410, 503))
    async def end_room(self, roomId: uuid.UUID, room: VisibleRoom, uow: UnitOfWork) -> None:
        """End the call for everyone (its creator or a workspace admin)."""
        await self.service.end(uow, room)

    @post("/{roomId}/join", errors=(409, 410, 503))
    async def join_room(self, roomId: uuid.UUID, room: VisibleRoom) -> JoinOut:
        """A LiveKit token for this room, its URL and the ICE servers; joining again gives a fresh token."""
        return await self.service.join(room)

    @post("/{roomId}/leave")
    async def leave_room(self, roomId: uuid.UUID, room: VisibleRoom, uow: UnitOfWork) -> None:
        """Leave the call (my seat is freed and LiveKit disconnects me)."""
        await self.service.leave(uow, room)

    @post("/{roomId}/recording", status=201, errors=(409, 410, 503))
    async def start_recording(self, roomId: uuid.UUID, room: VisibleRoom) -> RecordingOut:
        """Record the call into the blob store under video/{roomId}/ (its creator)."""
        return await self.service.start_recording(room)

    @delete("/{roomId}/recording", status=200, errors=(409, 410, 503))
    async def stop_recording(self, roomId: uuid.UUID, room: VisibleRoom) -> RecordingOut:
        """Stop the recording (its creator); the file appears in the call's history when LiveKit is done."""
        return await self.service.stop_recording(room)


class History(Controller):
    """``/api/video/history``: calls that ended."""

    path = "/api/video/history"
    tags = ("video",)

    def __init__(self, service: CallService) -> None:
        self.service = service

    @get("")
    async def list_calls(self, member: MemberOf, query: HistoryQuery, uow: UnitOfWork) -> Page[CallOut]:
        """The workspace's past calls, latest first; ``userId`` keeps those a member took part in."""
        return await self.service.history(uow, member, query)

    @get("/{callId}")
    async def get_call(self, callId: uuid.UUID, call: VisibleCall, uow: UnitOfWork) -> CallOut:
        """A past call with its participants' times, recordings and transcript."""
        return await self.service.read(uow, call)

    @put("/{callId}/transcript", max_body_bytes=TRANSCRIPT_LIMIT)
    async def put_transcript(
        self, callId: uuid.UUID, call: VisibleCall, body: TranscriptIn, uow: UnitOfWork
    ) -> CallOut:
        """Attach a text transcript to the call (replacing any before)."""
        return await self.service.attach_transcript(uow, call, body)


class Webhooks(Controller):
    """``/api/video/webhooks``: what LiveKit tells us, signed with the API secret."""

    path = "/api/video/webhooks"
    tags = ("video",)

    def __init__(self, service: RoomService) -> None:
        self.service = service

    @post("/livekit", auth=False, errors=(400, 401, 413, 503), max_body_bytes=WEBHOOK_LIMIT)
    async def livekit_webhook(self, request: Request, uow: UnitOfWork) -> None:
        """LiveKit's webhook (participants joining and leaving, rooms finishing, recordings); the
        ``Authorization`` header is LiveKit's signed JWT carrying the body's SHA-256. Not for browsers."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > WEBHOOK_LIMIT:
            raise PayloadTooLarge(f"A webhook is at most {WEBHOOK_LIMIT} bytes.")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > WEBHOOK_LIMIT:
                raise PayloadTooLarge(f"A webhook is at most {WEBHOOK_LIMIT} bytes.")
            chunks.append(chunk)
        body = b"".join(chunks)
        if not body:
            raise BadRequest("The webhook has no body.", code="WEBHOOK_MALFORMED")
        await self.service.on_webhook(uow, body, request.headers.get("authorization", ""))
