"""The real-time toolkit through a toy plugin (``tests/plugins/echo_socket.py``), in two shapes with the same
tests: one process on the memory adapters (served by uvicorn, real sockets), and two ``wealist serve``
processes sharing Redis, where a frame published in one must reach the sockets of the other.

In the one-process shape "node 0" and "node 1" are the same server, so every test reads the same either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redis.asyncio as aioredis
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.plugins.echo_socket import EchoSocketPlugin
from tests.support.processes import ServerProcess, free_port, start_wealist, wealist_env
from wealist_core.observability import JsonFormatter
from wealist_core.realtime._server import SocketAwareServer
from wealist_core.testing import build_app, flush_redis, hermetic_settings, require_server, token_for
from wealist_core.testing._servers import REDIS_TEST_URL  # module-scoped here; the fixture is per test

# The second shape starts processes and needs Redis: marked so, for a run that leaves those out.
SHAPES = ("one-process", pytest.param("two-processes", marks=[pytest.mark.slow, pytest.mark.redis]))
PLUGINS = "tests.plugins.echo_socket:EchoSocketPlugin,wealist_core.testing.auth:TestAuthPlugin"
WAIT = 10.0  # seconds any one frame may take; far more than it needs
T = TypeVar("T")


# -------------------------------------------------------------------------------------------- the shapes


@dataclass
class Cluster:
    """The servers of one shape: where each node answers, and how to stop them."""

    shape: str
    bases: list[str]  # the HTTP base URL of node 0 and node 1
    processes: int
    channel_subscribers: Callable[[str], Awaitable[int]]  # processes subscribed to a topic's channel
    publish_raw: Callable[[str, bytes], Awaitable[None]]  # straight to the pub/sub server, past the hubs
    stoppers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def ws(self, node: int = 0) -> str:
        return self.bases[node].replace("http://", "ws://") + "/ws/echo"

    async def stop(self) -> None:
        for stop in reversed(self.stoppers):
            await stop()
        self.stoppers.clear()


class _InProcessServer(SocketAwareServer):
    """What ``wealist serve`` runs, without signal handlers: the test runner keeps Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _one_process(tmp: Path) -> Cluster:
    app = build_app(hermetic_settings(tmp / "data"), [EchoSocketPlugin], record=False)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="on", log_config=None, access_log=False
    )
    server = _InProcessServer(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(WAIT):
        while not server.started:
            assert not task.done(), "the application failed to start; see the log above"
            await asyncio.sleep(0.01)

    async def stop() -> None:
        server.should_exit = True
        await task

    async def subscribers(topic: str) -> int:
        pubsub = app.state.wealist.container.pubsub("echo")
        return len(pubsub._subscribers.get(f"ws:echo:{topic}", ()))

    async def publish_raw(channel: str, data: bytes) -> None:
        await app.state.wealist.container.pubsub("echo").publish(channel, data)

    base = f"http://127.0.0.1:{port}"
    return Cluster("one-process", [base, base], 1, subscribers, publish_raw, [stop])


async def _two_processes(tmp: Path) -> Cluster:
    require_server("Redis", REDIS_TEST_URL, 6379)
    await flush_redis(REDIS_TEST_URL)
    client = aioredis.from_url(REDIS_TEST_URL)
    servers: list[ServerProcess] = []
    for node in range(2):
        env = wealist_env(
            {
                "WEALIST_PLUGIN_MODULES": PLUGINS,
                "WEALIST_PUBSUB_URL": REDIS_TEST_URL,
                "WEALIST_KEYVALUE_URL": REDIS_TEST_URL,
            },
            data_dir=tmp / f"data-{node}",
        )
        servers.append(await asyncio.to_thread(start_wealist, f"node{node}", env, log_dir=tmp))

    async def stop() -> None:
        for server in servers:
            await asyncio.to_thread(server.stop)
        await client.aclose()

    async def subscribers(topic: str) -> int:
        # Channels are server-wide in Redis; each process holds one subscription per topic.
        [(_, count)] = await client.pubsub_numsub(f"ws:echo:{topic}")
        return int(count)

    async def publish_raw(channel: str, data: bytes) -> None:
        await client.publish(channel, data)

    return Cluster("two-processes", [s.url for s in servers], 2, subscribers, publish_raw, [stop])


async def start_cluster(shape: str, tmp: Path) -> Cluster:
    return await (_one_process(tmp) if shape == "one-process" else _two_processes(tmp))


@pytest.fixture(scope="module", params=SHAPES)
async def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    started = await start_cluster(request.param, tmp_path_factory.mktemp(request.param))
    try:
        yield started
    finally:
        await started.stop()


# ---------------------------------------------------------------------------------------------- clients


class Client:
    """One socket of a test: frames in the order they arrive, each awaited with a deadline."""

    def __init__(self, ws: ClientConnection, user: uuid.UUID) -> None:
        self.ws = ws
        self.user = user

    async def send(self, type_: str, **fields: Any) -> None:
        await self.ws.send(json.dumps({"type": type_, **fields}))

    async def recv(self) -> dict[str, Any]:
        async with asyncio.timeout(WAIT):
            frame: dict[str, Any] = json.loads(await self.ws.recv())
        return frame

    async def expect(self, type_: str) -> dict[str, Any]:
        frame = await self.recv()
        assert frame["type"] == type_, frame
        return frame

    async def ask(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Send a frame and return the next one received."""
        await self.send(type_, **fields)
        return await self.recv()

    async def synced(self) -> None:
        """Every frame sent before this one has been handled: the next frame is the echo of a marker."""
        marker = uuid.uuid4().hex
        assert await self.ask("ECHO", text=marker) == {
            "type": "ECHOED",
            "text": marker,
            "userId": str(self.user),
        }

    async def closed_with(self) -> int:
        """Read on until the server closes the socket; its close code."""
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(WAIT):
                while True:
                    await self.ws.recv()
        assert self.ws.close_code is not None
        return self.ws.close_code


@contextlib.asynccontextmanager
async def opened(url: str, **options: Any) -> AsyncIterator[ClientConnection]:
    async with connect(url, open_timeout=WAIT, close_timeout=1, **options) as ws:
        yield ws


@contextlib.asynccontextmanager
async def signed_in(
    cluster: Cluster, node: int = 0, user: uuid.UUID | None = None, **options: Any
) -> AsyncIterator[Client]:
    user = user or uuid.uuid4()
    async with opened(cluster.ws(node), **options) as ws:
        client = Client(ws, user)
        assert await client.ask("AUTH", token=token_for(user)) == {"type": "READY", "userId": str(user)}
        yield client


async def post(
    cluster: Cluster, node: int, path: str, body: dict[str, Any], user: uuid.UUID | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token_for(user or uuid.uuid4())}"}
    async with httpx.AsyncClient(base_url=cluster.bases[node], timeout=WAIT) as http:
        answer = await http.post(path, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def say(cluster: Cluster, node: int, room: str, text: str) -> int:
    return int((await post(cluster, node, f"/api/echo/rooms/{room}/messages", {"text": text}))["seq"])


async def metric(cluster: Cluster, node: int, name: str) -> float:
    async with httpx.AsyncClient(base_url=cluster.bases[node], timeout=WAIT) as http:
        text = (await http.get("/metrics")).text
    found = re.search(rf'^{name}\{{plugin="echo"\}} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def small_socket(cluster: Cluster, node: int) -> socket.socket:
    """A TCP connection to ``node`` with a small receive buffer (a phone on a bad network, say)."""
    address = httpx.URL(cluster.bases[node])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # before connecting: it sets the window
    sock.connect((address.host, address.port or 80))
    sock.setblocking(False)
    return sock


async def eventually(read: Callable[[], Awaitable[T]], done: Callable[[T], bool]) -> T:
    """Poll ``read()`` until ``done`` says yes (a value another process changes, such as a metric)."""
    async with asyncio.timeout(WAIT):
        while not done(value := await read()):  # noqa: ASYNC110  (nothing to wait on across processes)
            await asyncio.sleep(0.05)
    return value


async def flood_until_a_slow_close(
    cluster: Cluster, topic: str, fast: Client, closes_before: float
) -> tuple[int, list[int]]:
    """Publish 1.6 MB at a time to ``topic`` (from node 1) until node 0 has closed one more socket as too
    slow, while ``fast`` reads on: how many floods it took, and the BLOB numbers ``fast`` received."""
    received: list[int] = []

    async def read_fast() -> None:
        while True:
            received.append((await fast.expect("BLOB"))["number"])

    reader = asyncio.create_task(read_fast())
    # How much the socket buffers on the way hold depends on the machine (Linux lets a send buffer grow
    # to 4 MB), hence floods until the close rather than one of a fixed size.
    floods = 0
    while await metric(cluster, 0, "wealist_websocket_slow_closes_total") <= closes_before:
        assert floods < 20, "the client that does not read was never closed"
        flood = {"count": 100, "size": 16_000, "everyMs": 1}
        await post(cluster, 1, f"/api/echo/topics/{topic}/flood", flood)
        floods += 1
    await eventually(lambda: asyncio.sleep(0, len(received)), lambda count: count >= 100 * floods)
    reader.cancel()
    return floods, received


def room() -> str:
    return f"r{uuid.uuid4().hex[:12]}"


def said(frame: dict[str, Any]) -> tuple[int, str]:
    assert frame["type"] == "SAID", frame
    return frame["seq"], frame["text"]


# ------------------------------------------------------------------------------------------------ tests


async def test_a_socket_is_closed_with_4401_unless_its_first_frame_authenticates(cluster: Cluster) -> None:
    for first in (
        {"type": "PING"},
        {"type": "AUTH"},
        {"type": "AUTH", "token": "test:not-a-uuid"},
        {"type": "AUTH", "token": "no-one-knows-this"},
    ):
        async with opened(cluster.ws()) as ws:
            await ws.send(json.dumps(first))
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(WAIT):
                    await ws.recv()
            assert ws.close_code == 4401, first

    user = uuid.uuid4()
    async with opened(cluster.ws(1)) as ws:
        await ws.send(json.dumps({"type": "AUTH", "token": token_for(user)}))
        assert json.loads(await ws.recv()) == {"type": "READY", "userId": str(user)}


async def test_ping_is_answered_with_pong(cluster: Cluster) -> None:
    async with signed_in(cluster) as client:
        assert await client.ask("PING") == {"type": "PONG"}
        assert await client.ask("PING") == {"type": "PONG"}


async def test_a_bad_frame_is_answered_with_an_error_code_and_the_socket_stays_open(cluster: Cluster) -> None:
    async with signed_in(cluster) as client:
        for raw, code in (
            ("this is not json", "FRAME_MALFORMED"),
            ("[1, 2]", "FRAME_MALFORMED"),
            ('{"room": "x"}', "FRAME_MALFORMED"),
            ('{"type": 5}', "FRAME_MALFORMED"),
            (b"\x00\x01", "FRAME_MALFORMED"),
            ('{"type": "DANCE"}', "FRAME_UNKNOWN"),
            ('{"type": "SAY", "room": "x"}', "FRAME_INVALID"),
            ('{"type": "SAY", "room": "", "text": "hi"}', "FRAME_INVALID"),
            ('{"type": "ECHO", "text": "hi", "extra": 1}', "FRAME_INVALID"),
            ('{"type": "ECHO", "text": "' + "x" * 5000 + '"}', "FRAME_TOO_LARGE"),
        ):
            await client.ws.send(raw)
            error = await client.recv()
            assert error["type"] == "ERROR" and error["code"] == code, (raw, error)
            assert isinstance(error["message"], str) and error["message"]
        unknown = await client.ask("DANCE")
        assert "ECHO" in unknown["message"] and "SUBSCRIBE" in unknown["message"]  # it says what it takes
        invalid = await client.ask("SAY", room="x")
        assert "text" in invalid["message"]  # and which field is wrong
        assert await client.ask("PING") == {"type": "PONG"}
        await client.synced()


async def test_a_topic_the_caller_may_not_see_is_refused(cluster: Cluster) -> None:
    private, someone_else = f"room:private-{room()}", f"user:{uuid.uuid4()}"
    async with signed_in(cluster, 0) as client:
        for topic in (private, someone_else, "nothing-known"):
            refused = await client.ask("SUBSCRIBE", topic=topic)
            assert refused["type"] == "ERROR" and refused["code"] == "TOPIC_NOT_FOUND", refused
        # Nothing published there reaches the socket; what is published to its own topic afterwards does.
        await post(cluster, 1, f"/api/echo/topics/{private}/flood", {"count": 1, "size": 10})
        await post(cluster, 1, f"/api/echo/users/{someone_else[5:]}/notes", {"text": "not yours"})
        await post(cluster, 1, f"/api/echo/users/{client.user}/notes", {"text": "yours"})
        assert await client.recv() == {"type": "NOTE", "text": "yours"}


async def test_a_frame_published_in_one_process_reaches_the_sockets_of_every_process(
    cluster: Cluster,
) -> None:
    topic = room()
    async with signed_in(cluster, 0) as ada, signed_in(cluster, 1) as grace:
        for client in (ada, grace):
            assert await client.ask("SUBSCRIBE", topic=f"room:{topic}") == {
                "type": "SUBSCRIBED",
                "topic": f"room:{topic}",
            }
        await ada.send("SAY", room=topic, text="from a socket on node 0")
        for client in (ada, grace):
            assert said(await client.recv()) == (1, "from a socket on node 0")
        assert await say(cluster, 1, topic, "from a service on node 1") == 2
        for client in (ada, grace):
            frame = await client.recv()
            assert frame == {
                "type": "SAID",
                "room": topic,
                "seq": 2,
                "text": "from a service on node 1",
                "userId": frame["userId"],
            }


async def test_one_subscription_per_topic_and_process_serves_all_its_sockets(cluster: Cluster) -> None:
    topic = f"room:{room()}"
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(signed_in(cluster, node % 2)) for node in range(6)]
        for client in clients:
            assert (await client.ask("SUBSCRIBE", topic=topic))["type"] == "SUBSCRIBED"
        assert await cluster.channel_subscribers(topic) == cluster.processes
        await post(cluster, 0, f"/api/echo/topics/{topic}/flood", {"count": 3, "size": 8})
        for client in clients:
            assert [(await client.expect("BLOB"))["number"] for _ in range(3)] == [0, 1, 2]
        # Sockets that leave give the subscription up with the last of them.
        for client in clients:
            assert (await client.ask("UNSUBSCRIBE", topic=topic))["type"] == "UNSUBSCRIBED"
        await eventually(lambda: cluster.channel_subscribers(topic), lambda count: count == 0)


async def test_every_tab_of_a_user_receives_what_is_published_to_her(cluster: Cluster) -> None:
    ada = uuid.uuid4()
    async with (
        signed_in(cluster, 0, ada) as tab1,
        signed_in(cluster, 1, ada) as tab2,
        signed_in(cluster, 0) as other,
    ):
        await post(cluster, 1, f"/api/echo/users/{ada}/notes", {"text": "for every tab"})
        for tab in (tab1, tab2):
            assert await tab.recv() == {"type": "NOTE", "text": "for every tab"}
        await other.synced()  # the other user got nothing before the marker's echo


async def test_a_client_that_does_not_read_is_closed_with_4408_without_holding_the_others_back(
    cluster: Cluster,
) -> None:
    topic = f"room:{room()}"
    closes_before = await metric(cluster, 0, "wealist_websocket_slow_closes_total")
    # A client that buffers little and never reads: the server's queue for it fills once the buffers do.
    async with (
        signed_in(cluster, 0, sock=small_socket(cluster, 0), max_queue=1) as slow,
        signed_in(cluster, 1) as fast,
    ):
        for client in (slow, fast):
            assert (await client.ask("SUBSCRIBE", topic=topic))["type"] == "SUBSCRIBED"
        floods, received = await flood_until_a_slow_close(cluster, topic, fast, closes_before)
        assert received == list(range(100)) * floods  # every frame, in order, while the slow one was stuck
        assert await slow.closed_with() == 4408  # read on: the close frame comes after what was buffered
        assert await metric(cluster, 0, "wealist_websocket_frames_dropped_total") > 0
        await fast.synced()


async def test_resume_sends_exactly_what_was_missed_then_live_frames(cluster: Cluster) -> None:
    topic, ada = room(), uuid.uuid4()
    async with signed_in(cluster, 0, ada) as client:
        assert (await client.ask("SUBSCRIBE", topic=f"room:{topic}"))["type"] == "SUBSCRIBED"
        for text in ("one", "two"):
            await say(cluster, 1, topic, text)
        assert [said(await client.recv()) for _ in range(2)] == [(1, "one"), (2, "two")]
    for text in ("three", "four", "five"):  # while ada is away
        await say(cluster, 1, topic, text)

    async with signed_in(cluster, 1, ada) as client:
        await client.send("RESUME", cursors={topic: 2})
        assert [said(await client.recv()) for _ in range(3)] == [(3, "three"), (4, "four"), (5, "five")]
        assert await client.recv() == {"type": "RESUMED", "rooms": [topic]}
        await say(cluster, 0, topic, "six")
        assert said(await client.recv()) == (6, "six")
        # Asking again for what this socket has had already sends nothing twice.
        assert await client.ask("RESUME", cursors={topic: 3}) == {"type": "RESUMED", "rooms": [topic]}
        await client.synced()


async def test_frames_published_while_a_resume_reads_the_store_arrive_once_and_in_order(
    cluster: Cluster,
) -> None:
    topic = room()
    for text in ("a", "b"):
        await say(cluster, 0, topic, text)
    async with signed_in(cluster, 1) as client:
        # The replay waits before it reads the store; what is published meanwhile is both in the store
        # and on its way live, and must be sent once.
        await client.send("RESUME", cursors={topic: 0}, delayMs=800)
        await asyncio.sleep(0.2)
        for text in ("c", "d"):
            await say(cluster, 0, topic, text)
        frames = [said(await client.recv()) for _ in range(4)]
        assert frames == [(1, "a"), (2, "b"), (3, "c"), (4, "d")]
        assert await client.recv() == {"type": "RESUMED", "rooms": [topic]}
        await say(cluster, 0, topic, "e")
        assert said(await client.recv()) == (5, "e")
        await client.synced()


async def test_metrics_count_open_sockets_and_frames(cluster: Cluster) -> None:
    sent_before = await metric(cluster, 0, "wealist_websocket_frames_sent_total")
    async with signed_in(cluster, 0) as one, signed_in(cluster, 0) as two:
        for client in (one, two):
            await client.synced()
        assert await metric(cluster, 0, "wealist_websocket_connections") >= 2
        assert await metric(cluster, 0, "wealist_websocket_frames_sent_total") >= sent_before + 4
        assert await metric(cluster, 0, "wealist_websocket_frames_received_total") >= 2


@pytest.mark.parametrize("shape", SHAPES)
async def test_sockets_are_closed_with_1001_when_the_server_stops(shape: str, tmp_path: Path) -> None:
    own = await start_cluster(shape, tmp_path)
    try:
        async with signed_in(own, 0) as first, signed_in(own, 1) as second:
            for client in (first, second):
                await client.synced()
            await own.stop()
            assert [await first.closed_with(), await second.closed_with()] == [1001, 1001]
    finally:
        await own.stop()


async def test_the_socket_is_listed_in_the_openapi_document_under_its_plugin(cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=cluster.bases[1], timeout=WAIT) as http:
        document = (await http.get("/api/openapi.json")).json()
    assert document["paths"]["/ws/echo"]["get"]["tags"] == ["echo"]


class _JsonLines(logging.Handler):
    """The JSON log lines of a logger, as the host writes them (user and plugin from the context)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


async def test_the_log_line_of_a_slow_close_names_the_user_and_the_plugin(tmp_path: Path) -> None:
    own = await start_cluster("one-process", tmp_path)  # the log of the server, in this process
    lines = _JsonLines()
    logger = logging.getLogger("wealist.realtime")
    logger.addHandler(lines)
    topic = f"room:{room()}"
    try:
        async with (
            signed_in(own, 0, sock=small_socket(own, 0), max_queue=1) as slow,
            signed_in(own, 1) as fast,
        ):
            for client in (slow, fast):
                assert (await client.ask("SUBSCRIBE", topic=topic))["type"] == "SUBSCRIBED"
            await flood_until_a_slow_close(own, topic, fast, 0)
            assert await slow.closed_with() == 4408
    finally:
        logger.removeHandler(lines)
        await own.stop()
    [line] = [line for line in lines.lines if "does not keep up" in line["msg"]]
    assert line["userId"] == str(slow.user) and line["plugin"] == "echo" and line["level"] == "warning"


async def test_a_message_on_a_topic_that_is_not_a_frame_is_skipped_and_the_sockets_stay(
    cluster: Cluster,
) -> None:
    topic = room()
    async with signed_in(cluster, 0) as client:
        assert (await client.ask("SUBSCRIBE", topic=f"room:{topic}"))["type"] == "SUBSCRIBED"
        await cluster.publish_raw(f"ws:echo:room:{topic}", b"not a frame at all")
        await say(cluster, 1, topic, "still here")
        assert said(await client.recv()) == (1, "still here")
