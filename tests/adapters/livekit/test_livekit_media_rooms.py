"""The LiveKit adapter against a server speaking RoomService's and Egress's real protocol (Twirp, protobuf,
JWT grants), and webhooks signed as LiveKit signs them."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import jwt
import pytest
from livekit import api
from livekit.protocol import room as proto_room
from wealist_adapters.livekit.rooms import LiveKitMediaRooms

from tests.support.processes import free_port, serving
from tests.video.fake_livekit import FakeLiveKit
from wealist_core import AdapterError, ProblemError
from wealist_core.adapters import AdapterContext
from wealist_core.testing import hermetic_settings


def _context(url: str, tmp_path: object = None) -> AdapterContext:
    return AdapterContext(url=url, settings=hermetic_settings("data"), setting="WEALIST_MEDIA_URL")


@pytest.fixture
async def server() -> AsyncIterator[tuple[FakeLiveKit, str]]:
    fake = FakeLiveKit()
    async with serving(fake.app(), port=free_port()) as base:
        yield fake, base


@pytest.fixture
async def rooms(server: tuple[FakeLiveKit, str]) -> AsyncIterator[LiveKitMediaRooms]:
    fake, base = server
    host = base.removeprefix("http://")
    media = LiveKitMediaRooms.from_context(
        _context(f"livekit://{fake.api_key}:{fake.api_secret}@{host}?egress=true")
    )
    await media.start()
    yield media
    await media.close()


def test_urls_for_self_hosted_and_cloud() -> None:
    local = LiveKitMediaRooms.from_context(_context("livekit://devkey:s%40cret@livekit:7880"))
    assert (local.api_url, local.client_url, local.records) == (
        "http://livekit:7880",
        "ws://livekit:7880",
        False,
    )
    assert local._secret == "s@cret"
    cloud = LiveKitMediaRooms.from_context(
        _context("livekits://APIkey:secret@team.livekit.cloud?egress=true")
    )
    assert (cloud.api_url, cloud.client_url, cloud.records) == (
        "https://team.livekit.cloud",
        "wss://team.livekit.cloud",
        True,
    )
    spelled = LiveKitMediaRooms.from_context(_context("wss://APIkey:secret@team.livekit.cloud"))
    assert (spelled.api_url, spelled.client_url) == ("https://team.livekit.cloud", "wss://team.livekit.cloud")
    plain = LiveKitMediaRooms.from_context(_context("ws://k:s@127.0.0.1:7880"))
    assert (plain.api_url, plain.client_url) == ("http://127.0.0.1:7880", "ws://127.0.0.1:7880")
    proxied = LiveKitMediaRooms.from_context(
        _context("livekit://k:s@livekit:7880?client_url=wss://video.example.com&tls=false")
    )
    assert (proxied.api_url, proxied.client_url) == ("http://livekit:7880", "wss://video.example.com")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("livekit://livekit:7880", "no API key and secret"),
        ("livekit://k:s@", "names no host"),
        ("livekit://k:s@h?egres=true", "unknown option 'egres'"),
        ("livekit://k:s@h?tls=maybe", "neither true nor false"),
        ("livekit://k:s@h?timeout=-1", "not positive"),
        ("livekit://k:s@h?client_url=ftp://x", "client_url"),
    ],
)
def test_a_bad_url_is_refused_at_start_up_with_its_setting(url: str, says: str) -> None:
    with pytest.raises(AdapterError) as caught:
        LiveKitMediaRooms.from_context(_context(url))
    assert "WEALIST_MEDIA_URL" in str(caught.value) and says in str(caught.value)
    assert ":s@" not in str(caught.value)  # the secret is masked


async def test_rooms_are_created_listed_and_deleted_with_the_grants_each_call_needs(
    server: tuple[FakeLiveKit, str], rooms: LiveKitMediaRooms
) -> None:
    fake, _ = server
    await rooms.create_room("r1", max_participants=3, empty_timeout=60, metadata='{"w": 1}')
    assert fake.rooms["r1"].max_participants == 3 and fake.rooms["r1"].empty_timeout == 60
    create = fake.calls[-1]
    assert create.method == "CreateRoom" and create.grants.room_create
    assert isinstance(create.request, proto_room.CreateRoomRequest) and create.request.metadata == '{"w": 1}'

    token = rooms.join_token("r1", identity="u-1", name="Ada", ttl=600)
    fake.connect(token)
    [ada] = await rooms.list_participants("r1")
    assert (ada.identity, ada.name) == ("u-1", "Ada") and ada.joined_at is not None
    listing = fake.calls[-1]
    assert listing.grants.room_admin and listing.grants.room == "r1"

    await rooms.remove_participant("r1", "u-1")
    assert await rooms.list_participants("r1") == []
    await rooms.remove_participant("r1", "u-1")  # gone already: no error

    await rooms.delete_room("r1")
    assert "r1" not in fake.rooms
    await rooms.delete_room("r1")  # deleted already: no error
    assert await rooms.list_participants("r1") == []


async def test_a_join_token_grants_one_room_to_one_identity_for_its_lifetime(
    rooms: LiveKitMediaRooms,
) -> None:
    token = rooms.join_token("room-a", identity="user-1", name="에이다", ttl=900)
    claims = jwt.decode(token, rooms._secret, algorithms=["HS256"], issuer=rooms._key)
    assert claims["sub"] == "user-1" and claims["name"] == "에이다"
    assert claims["video"]["room"] == "room-a" and claims["video"]["roomJoin"] is True
    assert not {"roomCreate", "roomAdmin", "roomList", "roomRecord"} & set(claims["video"])
    assert claims["exp"] - claims["nbf"] == 900


async def test_a_token_signed_with_another_secret_is_refused_by_the_server(
    server: tuple[FakeLiveKit, str],
) -> None:
    fake, base = server
    wrong = LiveKitMediaRooms.from_context(
        _context(f"livekit://{fake.api_key}:another-secret-entirely-32-bytes-long@{base[7:]}")
    )
    await wrong.start()
    try:
        with pytest.raises(ProblemError) as caught:
            await wrong.create_room("r2")
        assert caught.value.status == 503 and caught.value.code == "VIDEO_SERVER_REFUSED"
        assert "r2" not in fake.rooms
    finally:
        await wrong.close()


async def test_an_unreachable_server_is_a_503() -> None:
    media = LiveKitMediaRooms.from_context(
        _context(f"livekit://k:{'s' * 40}@127.0.0.1:{free_port()}?timeout=2")
    )
    await media.start()
    try:
        with pytest.raises(ProblemError) as caught:
            await media.create_room("r")
        assert (caught.value.status, caught.value.code) == (503, "SERVICE_UNAVAILABLE")
        assert caught.value.extra["dependency"] == "media" and caught.value.headers["Retry-After"]
    finally:
        await media.close()
        await media.close()  # twice is harmless


async def test_recordings_start_and_stop_through_egress_into_the_key_prefix(
    server: tuple[FakeLiveKit, str], rooms: LiveKitMediaRooms
) -> None:
    fake, _ = server
    await rooms.create_room("r3")
    started = await rooms.start_recording("r3", key_prefix="video/r3/")
    assert started.status == "STARTING" and started.room == "r3"
    call = fake.calls[-1]
    assert call.service == "Egress" and call.grants.room_record
    assert (
        fake.egresses[started.recording_id].room_composite.file_outputs[0].filepath == "video/r3/{time}.mp4"
    )
    stopped = await rooms.stop_recording(started.recording_id)
    assert stopped.status == "ENDING"

    body, headers = fake.webhook("egress_ended", egress=fake.finish_egress(started.recording_id, size=99))
    hook = rooms.verify_webhook(body, headers["Authorization"])
    assert hook.event == "egress_ended" and hook.room == "r3"
    assert hook.recording is not None and hook.recording.status == "COMPLETE"
    [file] = hook.recording.files
    assert (
        file.key.startswith("video/r3/") and file.size == 99 and file.duration_seconds == pytest.approx(61.5)
    )


async def test_without_egress_recording_is_a_503_that_says_so(server: tuple[FakeLiveKit, str]) -> None:
    fake, base = server
    media = LiveKitMediaRooms.from_context(_context(f"livekit://{fake.api_key}:{fake.api_secret}@{base[7:]}"))
    await media.start()
    try:
        assert not media.records
        with pytest.raises(ProblemError) as caught:
            await media.start_recording("r", key_prefix="video/r/")
        assert (caught.value.status, caught.value.code) == (503, "RECORDING_NOT_CONFIGURED")
        assert fake.methods("Egress") == []
    finally:
        await media.close()


def test_webhooks_are_verified_by_signature_and_body_hash(rooms: LiveKitMediaRooms) -> None:
    fake = FakeLiveKit(api_key=rooms._key, api_secret=rooms._secret)
    body, headers = fake.webhook("participant_joined", room="r9", identity="user-7", name="Bo")
    hook = rooms.verify_webhook(body, headers["Authorization"])
    assert (hook.event, hook.room, hook.identity, hook.name) == ("participant_joined", "r9", "user-7", "Bo")
    assert hook.event_id.startswith("EV_") and hook.created_at.tzinfo == dt.UTC
    assert rooms.verify_webhook(body, "Bearer " + headers["Authorization"]).event_id == hook.event_id

    tampered = body.replace(b"user-7", b"user-8")
    forged, forged_headers = fake.webhook("room_finished", room="r9", secret="x" * 40)
    expired = (
        api.AccessToken(rooms._key, rooms._secret)
        .with_sha256("")
        .with_ttl(dt.timedelta(seconds=-120))
        .to_jwt()
    )
    for content, authorization in [
        (tampered, headers["Authorization"]),  # the body hash no longer matches
        (forged, forged_headers["Authorization"]),  # another secret
        (body, ""),  # no signature
        (body, expired),
        (body, "not-a-jwt"),
    ]:
        with pytest.raises(ProblemError) as caught:
            rooms.verify_webhook(content, authorization)
        assert (caught.value.status, caught.value.code) == (401, "WEBHOOK_SIGNATURE_INVALID")
