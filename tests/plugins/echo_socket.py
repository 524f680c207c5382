"""The echo_socket toy: a socket endpoint on the real-time toolkit, for testing it in one process and across
several sharing Redis.

``/ws/echo`` (AUTH with a ``test:<user id>`` token; every socket follows ``user:<its user id>``):

- ``ECHO {text}`` answers ``ECHOED {text, userId}`` to this socket only;
- ``SUBSCRIBE {topic}`` / ``UNSUBSCRIBE {topic}`` answer ``SUBSCRIBED`` / ``UNSUBSCRIBED {topic}``;
- ``SAY {room, text}`` stores the message (a per-room sequence number from the key-value store), then
  publishes ``SAID {room, seq, text, userId}`` to ``room:<room>`` with the sequence number as its cursor;
- ``RESUME {cursors: {room: seq}, delayMs}`` follows each room and replays what came after ``seq``;
  ``delayMs`` waits before reading the store, so a test can publish while a resume is under way.

Who may follow what: ``room:<name>`` anyone, unless the name starts with ``private-``; ``user:<id>`` only that
user; nothing else. The HTTP routes publish from outside a socket, as a plugin's service does after a commit:
``POST /api/echo/rooms/{room}/messages {text}`` (as SAY), ``POST /api/echo/users/{userId}/notes {text}``
(``NOTE {text}`` to ``user:<id>``), ``POST /api/echo/topics/{topic}/flood {count, size, everyMs}`` (``BLOB``
frames, one every ``everyMs``).
"""

from __future__ import annotations

import asyncio
import json
import secrets

from starlette.routing import BaseRoute

from wealist_core import KeyValue, PluginManifest, Principal, Settings, hookimpl
from wealist_core.container import Container
from wealist_core.http import ApiModel, CallerId, Controller, Field, post, routes_of
from wealist_core.realtime import Channel, Connection, Frame, Hub, frame, hub_of

__all__ = ["EchoSocket", "EchoSocketPlugin", "EchoStore"]

PLUGIN = "echo"


# ------------------------------------------------------------------------------------------------ schemas


class Text(ApiModel):
    text: str = Field(max_length=1000)


class Topic(ApiModel):
    topic: str = Field(min_length=1, max_length=200)


class Say(ApiModel):
    room: str = Field(min_length=1, max_length=100)
    text: str = Field(max_length=1000)


class Resume(ApiModel):
    cursors: dict[str, int]
    delay_ms: int = Field(default=0, ge=0, le=5000)


class Said(ApiModel):
    room: str
    seq: int
    text: str
    user_id: str


class Echoed(ApiModel):
    text: str
    user_id: str


class Flood(ApiModel):
    count: int = Field(ge=1, le=2000)
    size: int = Field(ge=1, le=256 * 1024)
    every_ms: int = Field(default=0, ge=0, le=100)  # a pace a client that reads keeps up with


class Published(ApiModel):
    seq: int | None = None


# -------------------------------------------------------------------------------------------------- store


class EchoStore:
    """Room messages in the key-value store (persist first, publish second), published through the hub."""

    def __init__(self, keyvalue: KeyValue, hub: Hub) -> None:
        self.keyvalue = keyvalue
        self.hub = hub

    async def say(self, room: str, text: str, user_id: str) -> Said:
        seq = await self.keyvalue.incr(f"room:{room}:seq")
        said = Said(room=room, seq=seq, text=text, user_id=user_id)
        await self.keyvalue.zadd(f"room:{room}:log", {said.model_dump_json(by_alias=True): seq})
        await self.hub.publish(f"room:{room}", "SAID", said, cursor=seq)
        return said

    async def after(self, room: str, seq: int) -> list[Frame]:
        rows = await self.keyvalue.zrange_by_score(f"room:{room}:log", seq + 1, float("inf"), limit=500)
        return [
            Frame("SAID", Said.model_validate(json.loads(member)), cursor=int(score))
            for member, score in rows
        ]


# ------------------------------------------------------------------------------------------------- socket


class EchoSocket(Channel):
    """The toy's socket: echo, topics, rooms with resume."""

    path = "/ws/echo"
    send_queue = 16  # small, so that a test reaches it quickly
    max_frame_bytes = 4096

    def __init__(self, store: EchoStore) -> None:
        self.store = store

    async def authorize(self, principal: Principal, topic: str) -> bool:
        kind, _, rest = topic.partition(":")
        if kind == "room":
            return bool(rest) and not rest.startswith("private-")
        if kind == "user":
            return rest == principal.id
        return False

    async def on_connect(self, conn: Connection) -> None:
        await conn.subscribe(f"user:{conn.user_id}")

    @frame("ECHO")
    async def echo(self, conn: Connection, body: Text) -> Frame:
        return Frame("ECHOED", Echoed(text=body.text, user_id=conn.user_id))

    @frame("SUBSCRIBE")
    async def subscribe(self, conn: Connection, body: Topic) -> None:
        await conn.subscribe(body.topic)
        await conn.send("SUBSCRIBED", body)

    @frame("UNSUBSCRIBE")
    async def unsubscribe(self, conn: Connection, body: Topic) -> None:
        await conn.unsubscribe(body.topic)
        await conn.send("UNSUBSCRIBED", body)

    @frame("SAY")
    async def say(self, conn: Connection, body: Say) -> None:
        await self.store.say(body.room, body.text, conn.user_id)

    @frame("RESUME")
    async def resume(self, conn: Connection, body: Resume) -> None:
        for room, seq in body.cursors.items():

            async def missed(room: str = room, seq: int = seq) -> list[Frame]:
                await asyncio.sleep(body.delay_ms / 1000)
                return await self.store.after(room, seq)

            await conn.subscribe(f"room:{room}", replay=missed)
        await conn.send("RESUMED", {"rooms": sorted(body.cursors)})


# ------------------------------------------------------------------------------------------------ routes


class EchoRoutes(Controller):
    """Publishing from outside a socket."""

    path = "/api/echo"
    tags = ("echo",)

    def __init__(self, store: EchoStore) -> None:
        self.store = store

    @post("/rooms/{room}/messages", status=201)
    async def post_message(self, room: str, me: CallerId, body: Text) -> Published:
        said = await self.store.say(room, body.text, str(me))
        return Published(seq=said.seq)

    @post("/users/{userId}/notes", status=201)
    async def post_note(self, userId: str, me: CallerId, body: Text) -> Published:
        await self.store.hub.publish(f"user:{userId}", "NOTE", body)
        return Published()

    @post("/topics/{topic}/flood", status=201)
    async def flood(self, topic: str, me: CallerId, body: Flood) -> Published:
        for number in range(body.count):
            # Random, and new for every frame: compression (permessage-deflate) must not shrink the flood.
            padding = secrets.token_urlsafe(body.size)[: body.size]
            await self.store.hub.publish(topic, "BLOB", {"number": number, "padding": padding})
            await asyncio.sleep(body.every_ms / 1000)
        return Published()


class EchoSocketPlugin:
    """Registers the echo socket and its publishing routes."""

    def __init__(self) -> None:
        self.store: EchoStore | None = None

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name=PLUGIN,
            description="A socket on the real-time toolkit (tests only).",
            prefixes=("/ws/echo", "/api/echo"),
            ports=("pubsub", "keyvalue"),
        )

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        self.store = EchoStore(container.keyvalue(PLUGIN), hub_of(container, PLUGIN))

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        assert self.store is not None
        return [EchoSocket(self.store).route(), *routes_of(EchoRoutes(self.store))]
