"""A LiveKit server for tests: RoomService and Egress over their real protocol, and webhooks signed as
LiveKit signs them.

No LiveKit binary runs here, so this small Starlette app answers the Twirp calls livekit-api makes:
``POST /twirp/livekit.RoomService/<Method>`` (and ``livekit.Egress``) with an ``application/protobuf`` body
decoded with ``livekit.protocol`` messages, and a bearer JWT checked as LiveKit checks it: signed with the
API secret, issued by the API key, not expired, and granting what the method needs (``roomCreate``,
``roomList``, ``roomAdmin`` for the named room, ``roomRecord``). Errors are Twirp's JSON
(``{"code": "not_found", "msg": ...}``). Participants "connect" through :meth:`FakeLiveKit.connect`,
which checks their join token the way the server does at the WebSocket handshake.

:meth:`FakeLiveKit.webhook` builds a notification as LiveKit sends it: the event as protobuf JSON, and an
``Authorization`` header holding a JWT (by the API key and secret) whose ``sha256`` claim is the base64
SHA-256 of the body.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from google.protobuf.json_format import MessageToJson
from google.protobuf.message import DecodeError, Message
from livekit import api
from livekit.protocol import egress as proto_egress
from livekit.protocol import models as proto_models
from livekit.protocol import room as proto_room
from livekit.protocol import webhook as proto_webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["FakeLiveKit", "TwirpCall"]


@dataclass
class TwirpCall:
    """One call the server answered: the service, the method, the decoded request and the token's grants."""

    service: str
    method: str
    request: Message
    grants: api.VideoGrants


@dataclass
class FakeLiveKit:
    """The state of one fake server: rooms, connected participants, egresses, and every call it took."""

    api_key: str = "devkey"
    api_secret: str = "fake-livekit-secret-of-at-least-32-bytes"
    rooms: dict[str, proto_models.Room] = field(default_factory=dict)
    participants: dict[str, dict[str, proto_models.ParticipantInfo]] = field(default_factory=dict)
    egresses: dict[str, proto_egress.EgressInfo] = field(default_factory=dict)
    calls: list[TwirpCall] = field(default_factory=list)
    #: Set to a Twirp error code to make every call fail with it (an outage, a misconfigured key).
    fail_with: str | None = None

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/twirp/livekit.RoomService/{method}", self._room_service, methods=["POST"]),
                Route("/twirp/livekit.Egress/{method}", self._egress_service, methods=["POST"]),
            ]
        )

    def methods(self, service: str = "RoomService") -> list[str]:
        return [call.method for call in self.calls if call.service == service]

    # --------------------------------------------------------------------------------- participants

    def connect(self, token: str) -> proto_models.ParticipantInfo:
        """What the server does when a browser connects with ``token``: verify it, check its grant and the
        room's capacity, and add the participant."""
        claims = api.TokenVerifier(self.api_key, self.api_secret).verify(token)
        assert claims.video is not None and claims.video.room_join, "the token grants no roomJoin"
        room = self.rooms.get(claims.video.room)
        assert room is not None, f"no room {claims.video.room!r} on the server"
        present = self.participants.setdefault(room.name, {})
        if room.max_participants and len(present) >= room.max_participants and claims.identity not in present:
            raise PermissionError("the room is full")
        info = proto_models.ParticipantInfo(
            sid=f"PA_{uuid.uuid4().hex[:12]}",
            identity=claims.identity,
            name=claims.name,
            state=proto_models.ParticipantInfo.State.ACTIVE,
            joined_at=int(time.time()),
        )
        present[claims.identity] = info
        return info

    def disconnect(self, room: str, identity: str) -> None:
        self.participants.get(room, {}).pop(identity, None)

    # --------------------------------------------------------------------------------- webhooks

    def webhook(
        self,
        event: str,
        *,
        room: str = "",
        identity: str = "",
        name: str = "",
        egress: proto_egress.EgressInfo | None = None,
        secret: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of a webhook as LiveKit posts it (``secret`` signs with another one)."""
        message = proto_webhook.WebhookEvent(
            event=event, id=f"EV_{uuid.uuid4().hex[:12]}", created_at=int(time.time())
        )
        if room:
            message.room.CopyFrom(self.rooms.get(room) or proto_models.Room(name=room, sid=f"RM_{room[:8]}"))
        if identity:
            message.participant.CopyFrom(proto_models.ParticipantInfo(identity=identity, name=name))
        if egress is not None:
            message.egress_info.CopyFrom(egress)
        body = MessageToJson(message).encode()
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        token = api.AccessToken(self.api_key, secret or self.api_secret).with_sha256(digest).to_jwt()
        return body, {"Authorization": token, "Content-Type": "application/webhook+json"}

    def finish_egress(
        self, egress_id: str, *, size: int = 1234, seconds: float = 61.5
    ) -> proto_egress.EgressInfo:
        """The egress as it ends: complete, with the file it wrote (``filepath`` with ``{time}`` expanded)."""
        info = self.egresses[egress_id]
        info.status = proto_egress.EgressStatus.EGRESS_COMPLETE
        filepath = info.room_composite.file_outputs[0].filepath.replace("{time}", "2026-12-03T101500")
        info.file_results.append(
            proto_egress.FileInfo(
                filename=filepath, size=size, duration=int(seconds * 1e9), location=filepath
            )
        )
        return info

    # --------------------------------------------------------------------------------- the Twirp side

    async def _decode(
        self,
        request: Request,
        service: str,
        message: type[Message],
        needs: Callable[[Message, api.VideoGrants], bool],
    ) -> Message | Response:
        if request.headers.get("content-type") != "application/protobuf":
            return _twirp_error("malformed", "protobuf bodies only", 400)
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Bearer "):
            return _twirp_error("unauthenticated", "no bearer token", 401)
        try:
            claims = api.TokenVerifier(self.api_key, self.api_secret).verify(authorization[7:])
        except Exception as exc:
            return _twirp_error("unauthenticated", f"invalid token: {exc}", 401)
        try:
            decoded = message.FromString(await request.body())
        except DecodeError:
            return _twirp_error("malformed", "not a protobuf message", 400)
        grants = claims.video or api.VideoGrants()
        if not needs(decoded, grants):
            return _twirp_error("permission_denied", "the token does not grant this", 403)
        self.calls.append(TwirpCall(service, request.path_params["method"], decoded, grants))
        if self.fail_with:
            return _twirp_error(
                self.fail_with, "failing on purpose", 503 if self.fail_with == "unavailable" else 500
            )
        return decoded

    async def _room_service(self, request: Request) -> Response:
        method = request.path_params["method"]
        spec = _ROOM_METHODS.get(method)
        if spec is None:
            return _twirp_error("bad_route", f"no method {method}", 404)
        message, needs = spec
        decoded = await self._decode(request, "RoomService", message, needs)
        if isinstance(decoded, Response):
            return decoded
        if isinstance(decoded, proto_room.CreateRoomRequest):
            room = self.rooms.get(decoded.name)
            if room is None:
                room = proto_models.Room(
                    sid=f"RM_{uuid.uuid4().hex[:12]}",
                    name=decoded.name,
                    empty_timeout=decoded.empty_timeout,
                    max_participants=decoded.max_participants,
                    metadata=decoded.metadata,
                    creation_time=int(time.time()),
                )
                self.rooms[decoded.name] = room
            return _proto(room)
        if isinstance(decoded, proto_room.ListRoomsRequest):
            rooms = [r for name, r in self.rooms.items() if not decoded.names or name in decoded.names]
            return _proto(proto_room.ListRoomsResponse(rooms=rooms))
        if isinstance(decoded, proto_room.DeleteRoomRequest):
            if self.rooms.pop(decoded.room, None) is None:
                return _twirp_error("not_found", "room not found", 404)
            self.participants.pop(decoded.room, None)
            return _proto(proto_room.DeleteRoomResponse())
        if isinstance(decoded, proto_room.ListParticipantsRequest):
            if decoded.room not in self.rooms:
                return _twirp_error("not_found", "room not found", 404)
            present = list(self.participants.get(decoded.room, {}).values())
            return _proto(proto_room.ListParticipantsResponse(participants=present))
        assert isinstance(decoded, proto_room.RoomParticipantIdentity)
        if decoded.identity not in self.participants.get(decoded.room, {}):
            return _twirp_error("not_found", "participant not found", 404)
        self.disconnect(decoded.room, decoded.identity)
        return _proto(proto_room.RemoveParticipantResponse())

    async def _egress_service(self, request: Request) -> Response:
        method = request.path_params["method"]
        spec = _EGRESS_METHODS.get(method)
        if spec is None:
            return _twirp_error("bad_route", f"no method {method}", 404)
        message, needs = spec
        decoded = await self._decode(request, "Egress", message, needs)
        if isinstance(decoded, Response):
            return decoded
        if isinstance(decoded, proto_egress.RoomCompositeEgressRequest):
            if decoded.room_name not in self.rooms:
                return _twirp_error("not_found", "room not found", 404)
            info = proto_egress.EgressInfo(
                egress_id=f"EG_{uuid.uuid4().hex[:12]}",
                room_name=decoded.room_name,
                room_id=self.rooms[decoded.room_name].sid,
                status=proto_egress.EgressStatus.EGRESS_STARTING,
                started_at=time.time_ns(),
            )
            info.room_composite.CopyFrom(decoded)
            self.egresses[info.egress_id] = info
            return _proto(info)
        assert isinstance(decoded, proto_egress.StopEgressRequest)
        info = self.egresses.get(decoded.egress_id)
        if info is None:
            return _twirp_error("not_found", "egress not found", 404)
        if info.status >= proto_egress.EgressStatus.EGRESS_COMPLETE:
            return _twirp_error("failed_precondition", "egress already ended", 412)
        info.status = proto_egress.EgressStatus.EGRESS_ENDING
        return _proto(info)


def _room_admin(message: Message, grants: api.VideoGrants) -> bool:
    return bool(grants.room_admin) and grants.room == getattr(message, "room", None)


_ROOM_METHODS: dict[str, tuple[type[Message], Callable[[Message, api.VideoGrants], bool]]] = {
    "CreateRoom": (proto_room.CreateRoomRequest, lambda m, g: bool(g.room_create)),
    "ListRooms": (proto_room.ListRoomsRequest, lambda m, g: bool(g.room_list)),
    "DeleteRoom": (proto_room.DeleteRoomRequest, lambda m, g: bool(g.room_create)),
    "ListParticipants": (proto_room.ListParticipantsRequest, _room_admin),
    "RemoveParticipant": (proto_room.RoomParticipantIdentity, _room_admin),
}
_EGRESS_METHODS: dict[str, tuple[type[Message], Callable[[Message, api.VideoGrants], bool]]] = {
    "StartRoomCompositeEgress": (proto_egress.RoomCompositeEgressRequest, lambda m, g: bool(g.room_record)),
    "StopEgress": (proto_egress.StopEgressRequest, lambda m, g: bool(g.room_record)),
}


def _proto(message: Message) -> Response:
    return Response(message.SerializeToString(), media_type="application/protobuf")


def _twirp_error(code: str, msg: str, status: int) -> Response:
    return JSONResponse({"code": code, "msg": msg}, status_code=status)
