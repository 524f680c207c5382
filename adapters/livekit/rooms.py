"""``LiveKitMediaRooms``: the MediaRooms port on LiveKit's server API (livekit-api).

The URL names the server and carries the API key and secret:

- ``livekit://KEY:SECRET@livekit:7880``: plain HTTP for the server API, ``ws://livekit:7880`` for browsers;
- ``livekits://KEY:SECRET@project.livekit.cloud``: TLS (``https://`` and ``wss://``), LiveKit Cloud or a
  self-hosted server behind a TLS proxy;
- ``ws://KEY:SECRET@host:7880`` and ``wss://KEY:SECRET@project.livekit.cloud``: the same, spelled as LiveKit
  spells its URLs.

Options (query parameters): ``tls`` (``true``/``false``, overrides the scheme), ``client_url`` (the URL
browsers connect to when it differs from the one the server API is reached at, e.g. ``wss://video.example.com``),
``egress`` (``true`` when LiveKit Egress runs beside the server and writes to the blob store's bucket, which
turns recordings on), ``timeout`` (seconds per server call, default 10). Key and secret are percent-decoded.

RoomService and EgressService are Twirp over HTTP: every call is a POST of a protobuf body with a short-lived
JWT granting just that call. Join tokens and webhook signatures are HS256 JWTs made and checked with the
same key and secret, without a round trip.
"""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import parse_qsl, unquote, urlsplit

import aiohttp
from google.protobuf.json_format import ParseError
from livekit import api
from livekit.protocol import egress as proto_egress
from livekit.protocol import models as proto_models
from livekit.protocol import room as proto_room

from wealist_core.adapters import AdapterContext
from wealist_core.errors import (
    AdapterError,
    BadRequest,
    DependencyUnavailable,
    ServiceUnavailable,
    Unauthorized,
)
from wealist_core.ports import (
    MediaParticipant,
    MediaRecording,
    MediaRecordingFile,
    MediaRooms,
    MediaWebhook,
)
from wealist_core.settings import mask_url

__all__ = ["LiveKitMediaRooms"]

logger = logging.getLogger("wealist.media")

_OPTIONS = frozenset({"tls", "client_url", "egress", "timeout"})
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_NOT_FOUND = frozenset({"not_found"})


def _status_name(status: int) -> str:
    return proto_egress.EgressStatus.Name(status).removeprefix("EGRESS_")


def _recording(info: proto_egress.EgressInfo) -> MediaRecording:
    files = tuple(
        MediaRecordingFile(
            key=result.filename,
            size=int(result.size),
            duration_seconds=result.duration / 1e9,  # LiveKit reports nanoseconds
        )
        for result in info.file_results
    )
    return MediaRecording(
        recording_id=info.egress_id,
        room=info.room_name,
        status=_status_name(info.status),
        files=files,
        error=info.error,
    )


def _when(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC) if seconds else dt.datetime.now(dt.UTC)


class LiveKitMediaRooms(MediaRooms):
    """Rooms, participants, recordings and webhooks on one LiveKit server or Cloud project."""

    def __init__(
        self,
        *,
        api_url: str,
        api_key: str,
        api_secret: str,
        client_url: str = "",
        egress: bool = False,
        timeout: float = 10.0,
        url: str = "",
        setting: str = "WEALIST_MEDIA_URL",
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.client_url = client_url or self.api_url.replace("https://", "wss://", 1).replace(
            "http://", "ws://", 1
        )
        self.url = url or self.api_url
        self._key = api_key
        self._secret = api_secret
        self._egress = egress
        self._timeout = timeout
        self._setting = setting
        self._api: api.LiveKitAPI | None = None
        self._receiver = api.WebhookReceiver(api.TokenVerifier(api_key, api_secret))

    @classmethod
    def from_context(cls, context: AdapterContext) -> LiveKitMediaRooms:
        url, setting = context.url, context.setting
        masked = mask_url(url)

        def bad(what: str) -> AdapterError:
            return AdapterError(
                f"{setting} is {masked}, {what}; set it like livekit://KEY:SECRET@livekit:7880 "
                "(self-hosted) or livekits://KEY:SECRET@project.livekit.cloud (LiveKit Cloud)."
            )

        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise bad(f"which is not a valid URL ({exc})") from exc
        if not parts.hostname:
            raise bad("which names no host")
        if not parts.username or not parts.password:
            raise bad("which carries no API key and secret")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = sorted(set(query) - _OPTIONS)
        if unknown:
            raise bad(f"with unknown option {unknown[0]!r} (known: {', '.join(sorted(_OPTIONS))})")

        def boolean(name: str, default: bool) -> bool:
            if name not in query:
                return default
            value = _BOOLEANS.get(query[name].lower())
            if value is None:
                raise bad(f"with {name}={query[name]!r}, which is neither true nor false")
            return value

        tls = boolean("tls", parts.scheme in ("livekits", "wss"))
        try:
            timeout = float(query.get("timeout", "10"))
        except ValueError as exc:
            raise bad(f"with timeout={query['timeout']!r}, which is not a number of seconds") from exc
        if timeout <= 0:
            raise bad("with a timeout that is not positive")
        client_url = query.get("client_url", "")
        if client_url and urlsplit(client_url).scheme not in {"ws", "wss", "http", "https"}:
            raise bad("with a client_url that is not a ws://, wss://, http:// or https:// URL")
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        netloc = f"{host}:{port}" if port else host
        return cls(
            api_url=f"{'https' if tls else 'http'}://{netloc}{parts.path.rstrip('/')}",
            api_key=unquote(parts.username),
            api_secret=unquote(parts.password),
            client_url=client_url,
            egress=boolean("egress", False),
            timeout=timeout,
            url=url,
            setting=setting,
        )

    # ------------------------------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        # No call to the server here: LiveKit may start after us, and video alone should suffer from it.
        if self._api is None:
            self._api = api.LiveKitAPI(
                self.api_url,
                self._key,
                self._secret,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            )

    async def check(self) -> None:
        """Ready whatever LiveKit's state: an unreachable media server makes the video routes answer 503,
        never the whole process unready (its other plugins keep serving)."""

    async def close(self) -> None:
        if self._api is not None:
            client, self._api = self._api, None
            await client.aclose()

    @property
    def _client(self) -> api.LiveKitAPI:
        if self._api is None:
            raise DependencyUnavailable("media", "The media server client is not started.")
        return self._api

    async def _call(self, what: str, call: object, *, missing_ok: bool = False) -> object:
        """Await a server API call: LiveKit down or failing is 503 naming the ``media`` dependency (with
        Retry-After); a refusal (a wrong key or secret, a missing grant) is 503 ``VIDEO_SERVER_REFUSED``,
        logged as the configuration error it is."""
        try:
            return await call  # type: ignore[misc]
        except api.TwirpError as exc:
            if missing_ok and (exc.code in _NOT_FOUND or exc.status == 404):
                return None
            if exc.status >= 500 or exc.code == "unavailable":
                logger.warning("LiveKit failed to %s: %s", what, exc)
                raise DependencyUnavailable(
                    "media", "The media server is failing; try again shortly."
                ) from exc
            logger.error("LiveKit at %s refused to %s: %s; check %s", self.api_url, what, exc, self._setting)
            raise ServiceUnavailable(
                f"The media server refused to {what} ({exc.code}).", code="VIDEO_SERVER_REFUSED"
            ) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            logger.warning("LiveKit unreachable at %s for %s: %r", self.api_url, what, exc)
            raise DependencyUnavailable(
                "media", "The media server cannot be reached; try again shortly."
            ) from exc

    # ------------------------------------------------------------------------------------------ rooms

    async def create_room(
        self, name: str, *, max_participants: int = 0, empty_timeout: int = 300, metadata: str = ""
    ) -> None:
        request = proto_room.CreateRoomRequest(
            name=name, max_participants=max_participants, empty_timeout=empty_timeout, metadata=metadata
        )
        await self._call("create a room", self._client.room.create_room(request))

    async def delete_room(self, name: str) -> None:
        request = proto_room.DeleteRoomRequest(room=name)
        await self._call("delete a room", self._client.room.delete_room(request), missing_ok=True)

    async def list_participants(self, room: str) -> list[MediaParticipant]:
        request = proto_room.ListParticipantsRequest(room=room)
        answer = await self._call(
            "list participants", self._client.room.list_participants(request), missing_ok=True
        )
        if answer is None:
            return []
        assert isinstance(answer, proto_room.ListParticipantsResponse)
        return [
            MediaParticipant(
                identity=p.identity, name=p.name, joined_at=_when(p.joined_at) if p.joined_at else None
            )
            for p in answer.participants
            if p.state != proto_models.ParticipantInfo.State.DISCONNECTED
        ]

    async def remove_participant(self, room: str, identity: str) -> None:
        request = proto_room.RoomParticipantIdentity(room=room, identity=identity)
        await self._call(
            "remove a participant", self._client.room.remove_participant(request), missing_ok=True
        )

    def join_token(self, room: str, *, identity: str, name: str, ttl: int = 3600, metadata: str = "") -> str:
        grants = api.VideoGrants(
            room_join=True, room=room, can_publish=True, can_subscribe=True, can_publish_data=True
        )
        token = (
            api.AccessToken(self._key, self._secret)
            .with_identity(identity)
            .with_name(name)
            .with_grants(grants)
            .with_ttl(dt.timedelta(seconds=ttl))
        )
        if metadata:
            token = token.with_metadata(metadata)
        return token.to_jwt()

    # ------------------------------------------------------------------------------------------ recordings

    @property
    def records(self) -> bool:
        return self._egress

    async def start_recording(self, room: str, *, key_prefix: str) -> MediaRecording:
        if not self._egress:
            return await super().start_recording(room, key_prefix=key_prefix)
        output = proto_egress.EncodedFileOutput(
            file_type=proto_egress.EncodedFileType.MP4,
            filepath=f"{key_prefix.rstrip('/')}/{{time}}.mp4",  # Egress expands {time}
        )
        request = proto_egress.RoomCompositeEgressRequest(
            room_name=room, layout="grid", file_outputs=[output]
        )
        info = await self._call("start a recording", self._client.egress.start_room_composite_egress(request))
        assert isinstance(info, proto_egress.EgressInfo)
        return _recording(info)

    async def stop_recording(self, recording_id: str) -> MediaRecording:
        if not self._egress:
            return await super().stop_recording(recording_id)
        request = proto_egress.StopEgressRequest(egress_id=recording_id)
        info = await self._call("stop a recording", self._client.egress.stop_egress(request))
        assert isinstance(info, proto_egress.EgressInfo)
        return _recording(info)

    # ------------------------------------------------------------------------------------------ webhooks

    def verify_webhook(self, body: bytes, authorization: str) -> MediaWebhook:
        token = authorization.removeprefix("Bearer ").strip()
        if not token:
            raise Unauthorized("The webhook carries no signature.", code="WEBHOOK_SIGNATURE_INVALID")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest("The webhook's body is not UTF-8.", code="WEBHOOK_MALFORMED") from exc
        try:
            event = self._receiver.receive(text, token)
        except ParseError as exc:
            raise BadRequest("The webhook's body is not a LiveKit event.", code="WEBHOOK_MALFORMED") from exc
        except Exception as exc:  # livekit-api raises bare Exceptions and PyJWT's errors alike
            raise Unauthorized(
                "The webhook's signature or body hash does not verify.", code="WEBHOOK_SIGNATURE_INVALID"
            ) from exc
        recording = _recording(event.egress_info) if event.HasField("egress_info") else None
        room = event.room.name or (recording.room if recording else "")
        return MediaWebhook(
            event=event.event,
            event_id=event.id,
            room=room,
            created_at=_when(event.created_at),
            identity=event.participant.identity,
            name=event.participant.name,
            recording=recording,
        )
