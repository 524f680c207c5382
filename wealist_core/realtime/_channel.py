"""Channels: a socket endpoint declared as a class, its frame handlers as methods, like a controller.

::

    class TypingIn(ApiModel):
        chat_id: uuid.UUID

    class ChatSocket(Channel):
        path = "/ws/chat"

        def __init__(self, chats: ChatService) -> None:
            self.chats = chats

        async def authorize(self, principal: Principal, topic: str) -> bool:
            return await self.chats.may_follow(principal.id, topic)

        @frame("TYPING_START")
        async def typing_start(self, conn: Connection, body: TypingIn) -> None:
            await conn.publish(f"chat:room:{body.chat_id}", "USER_TYPING", {...})

    routes = [ChatSocket(chats).route()]

A handler's parameters are injected by annotation: :class:`Connection`, :class:`Principal`, and at most one
pydantic model (an ``ApiModel``), which is the frame's payload: the frame without its ``type``, validated.
A handler may return a :class:`Frame`, sent back to this socket. The decorator only marks the method.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.routing import WebSocketRoute
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from wealist_core.errors import ProblemError, ValidationProblem
from wealist_core.observability import SocketCounters, plugin_var, user_var
from wealist_core.realtime._connection import Connection
from wealist_core.realtime._frames import (
    FRAME_INVALID,
    FRAME_MALFORMED,
    FRAME_TOO_LARGE,
    FRAME_UNKNOWN,
    INTERNAL_ERROR,
    Frame,
    check_type,
)
from wealist_core.realtime._hub import Hub, hub_of
from wealist_core.security import Principal
from wealist_core.websocket import authenticate_websocket

if typing.TYPE_CHECKING:
    from wealist_core.container import Container
    from wealist_core.observability import Metrics

__all__ = ["Channel", "SocketRoute", "frame"]

log = logging.getLogger("wealist.realtime")

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
_ATTRIBUTE = "__wealist_frame__"
#: Frames the toolkit itself answers: AUTH first, PING at any time.
RESERVED = frozenset({"AUTH", "PING"})


def frame(type: str) -> Callable[[F], F]:
    """Mark a :class:`Channel` method as the handler of client frames of ``type`` (UPPER_SNAKE_CASE)."""
    check_type(type)
    if type in RESERVED:
        raise ValueError(f"{type} frames are answered by the toolkit; a channel cannot handle them")

    def mark(function: F) -> F:
        setattr(function, _ATTRIBUTE, type)
        return function

    return mark


class Channel:
    """A socket endpoint: ``path``, the frame handlers (methods marked with :func:`frame`), who may follow
    which topic (:meth:`authorize`), and the limits every connection of it lives by.

    :meth:`route` gives the Starlette route a plugin returns from ``wealist_register_routes``.
    """

    path: ClassVar[str] = ""
    #: The route's name (OpenAPI operation id); the class name in snake_case by default.
    name: ClassVar[str | None] = None
    #: Frames queued for a client before it counts as too slow and is closed with 4408.
    send_queue: ClassVar[int] = 256
    #: The largest client frame taken; a larger one is answered with FRAME_TOO_LARGE.
    max_frame_bytes: ClassVar[int] = 64 * 1024
    #: Topics one socket may follow at once.
    max_topics: ClassVar[int] = 1000
    #: Seconds a client has to send its AUTH frame.
    auth_timeout: ClassVar[float] = 10.0
    #: Cursors remembered per topic and socket to drop frames sent already (see ``Connection.subscribe``).
    dedup_window: ClassVar[int] = 256

    async def authorize(self, principal: Principal, topic: str) -> bool:
        """Whether ``principal`` may follow ``topic``. Asked before every subscription; the default refuses
        everything, so a channel says who sees what before anyone sees anything."""
        return False

    async def on_connect(self, conn: Connection) -> None:
        """Called after READY, before the first client frame: subscribe the topics every socket follows."""

    async def on_disconnect(self, conn: Connection) -> None:
        """Called once the socket has closed, whoever closed it."""

    def route(self) -> SocketRoute:
        """The route serving this channel."""
        return SocketRoute(self)


@dataclass(frozen=True, slots=True)
class _Handler:
    frame_type: str
    function: Callable[..., Awaitable[Any]]
    model: type[BaseModel] | None
    parameters: tuple[tuple[str, str], ...]  # (name, "conn" | "principal" | "payload")

    async def __call__(self, conn: Connection, fields: dict[str, Any]) -> Any:
        payload: BaseModel | None = None
        if self.model is not None:
            try:
                payload = self.model.model_validate(fields)
            except ValidationError as exc:
                raise ValidationProblem(f"{self.frame_type}: {_summary(exc)}", code=FRAME_INVALID) from None
        elif fields:
            raise ValidationProblem(
                f"{self.frame_type} takes no fields besides its type.", code=FRAME_INVALID
            )
        values = {"conn": conn, "principal": conn.principal, "payload": payload}
        return await self.function(**{name: values[kind] for name, kind in self.parameters})


def _summary(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "frame"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def _handlers_of(channel: Channel) -> dict[str, _Handler]:
    handlers: dict[str, _Handler] = {}
    seen: set[str] = set()
    for klass in reversed(type(channel).__mro__):
        for attribute, member in vars(klass).items():
            type_ = getattr(member, _ATTRIBUTE, None)
            if not isinstance(type_, str) or attribute in seen:
                continue
            seen.add(attribute)
            where = f"{klass.__name__}.{attribute}"
            if type_ in handlers:
                raise TypeError(
                    f"{where} handles {type_}, which another method of the channel handles already"
                )
            handlers[type_] = _handler(type_, getattr(channel, attribute), member, where)
    return handlers


def _handler(type_: str, bound: Callable[..., Awaitable[Any]], function: Any, where: str) -> _Handler:
    if not inspect.iscoroutinefunction(function):
        raise TypeError(f"{where} must be an async def")
    try:
        hints = typing.get_type_hints(function)
    except NameError as exc:
        raise TypeError(
            f"{where}: an annotation cannot be resolved ({exc}); import it at module level"
        ) from None
    model: type[BaseModel] | None = None
    parameters: list[tuple[str, str]] = []
    for name in inspect.signature(bound).parameters:
        annotation = hints.get(name)
        if annotation is Connection:
            parameters.append((name, "conn"))
        elif annotation is Principal:
            parameters.append((name, "principal"))
        elif inspect.isclass(annotation) and issubclass(annotation, BaseModel):
            if model is not None:
                raise TypeError(f"{where} takes two payload models; a frame has one")
            model = annotation
            parameters.append((name, "payload"))
        else:
            raise TypeError(
                f"{where}: parameter {name!r} must be annotated Connection, Principal or a payload model"
            )
    return _Handler(type_, bound, model, tuple(parameters))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class _FrameRejected(Exception):
    """A client frame that cannot be read; answered with an ERROR frame of ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _parse(message: Message, max_bytes: int) -> tuple[str, dict[str, Any]]:
    text = message.get("text")
    if text is None:
        raise _FrameRejected(FRAME_MALFORMED, "Frames are JSON text, not binary.")
    # A character is at most 4 bytes: only a frame that might be too large is encoded to measure it.
    if len(text) > max_bytes or (len(text) * 4 > max_bytes and len(text.encode()) > max_bytes):
        raise _FrameRejected(FRAME_TOO_LARGE, f"A frame is at most {max_bytes} bytes.")
    try:
        data = json.loads(text)
    except ValueError:
        raise _FrameRejected(FRAME_MALFORMED, "A frame is a JSON object; this is not JSON.") from None
    if not isinstance(data, dict):
        raise _FrameRejected(FRAME_MALFORMED, "A frame is a JSON object with a type.")
    type_ = data.pop("type", None)
    if not isinstance(type_, str) or not type_:
        raise _FrameRejected(FRAME_MALFORMED, 'A frame names its type: {"type": "PING"}.')
    return type_, data


class SocketRoute(WebSocketRoute):
    """The route of a :class:`Channel`: first-frame AUTH, then frames dispatched to the channel's handlers.

    The host labels it with its plugin and binds it to the application's container and metrics at start.
    """

    def __init__(self, channel: Channel) -> None:
        if not channel.path.startswith("/"):
            raise ValueError(f"{type(channel).__name__}.path must be set, e.g. '/ws/chat'")
        self.channel = channel
        self.handlers = _handlers_of(channel)
        self.plugin: str | None = None
        self.hub: Hub | None = None
        self.counters: SocketCounters | None = None
        super().__init__(channel.path, self._serve, name=channel.name or _snake(type(channel).__name__))
        self.app = self._asgi  # the ASGI send, not only Starlette's WebSocket, reaches the connection

    @property
    def frame_types(self) -> list[str]:
        """The client frames this socket takes, the toolkit's included."""
        return ["AUTH", "PING", *self.handlers]

    def bind(self, container: Container, metrics: Metrics) -> None:
        """Attach the plugin's hub and counters (the host does it at start; a missing port fails there)."""
        if self.plugin is None:
            raise RuntimeError(f"the socket route {self.path} was not registered by a plugin")
        self.hub = hub_of(container, self.plugin)
        self.counters = metrics.sockets.plugin(self.plugin)

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._session(WebSocket(scope, receive, send), send)

    async def _serve(self, websocket: WebSocket) -> None:
        """The endpoint, for whoever calls it with a WebSocket (the route itself goes through ``_asgi``)."""
        await self._session(websocket, websocket.send)

    async def _session(self, websocket: WebSocket, send: Send) -> None:
        if self.hub is None or self.counters is None:
            state = websocket.app.state.wealist
            self.bind(state.container, state.metrics)
        assert self.hub is not None and self.counters is not None
        channel = self.channel
        principal = await authenticate_websocket(websocket, timeout=channel.auth_timeout, ready=False)
        if principal is None:
            return
        plugin_var.set(self.plugin)
        user_var.set(principal.id)
        conn = Connection(websocket, principal, channel, self.hub, self.counters, send)
        self.hub._attach(conn)
        try:
            # READY goes first, but leaves once on_connect has subscribed the socket's first topics: a
            # client that has READY receives whatever is published to them from then on.
            await conn.send("READY", {"userId": principal.id})
            try:
                await channel.on_connect(conn)
            except Exception as exc:
                await self._answer_failure(conn, "on_connect", exc)
            conn._start()
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if not conn.closing:
                    await self._dispatch(conn, message)
        finally:
            await conn._finish()
            try:
                await channel.on_disconnect(conn)
            except Exception:
                log.exception("%s.on_disconnect failed", type(channel).__name__)

    async def _dispatch(self, conn: Connection, message: Message) -> None:
        assert self.counters is not None
        self.counters.received += 1
        type_ = "?"
        try:
            type_, fields = _parse(message, self.channel.max_frame_bytes)
            if type_ == "PING":
                await conn.send("PONG")
                return
            handler = self.handlers.get(type_)
            if handler is None:
                takes = ", ".join(self.frame_types[1:])
                raise _FrameRejected(FRAME_UNKNOWN, f"This socket takes no {type_} frame; it takes {takes}.")
            answer = await handler(conn, fields)
            if isinstance(answer, Frame):
                await conn.send(answer.type, answer.payload)
            elif answer is not None:
                raise TypeError(f"the {type_} handler returned {type(answer).__name__}, not a Frame or None")
        except _FrameRejected as rejected:
            await conn.error(rejected.code, rejected.message)
        except Exception as exc:
            await self._answer_failure(conn, type_, exc)

    async def _answer_failure(self, conn: Connection, where: str, exc: Exception) -> None:
        if isinstance(exc, ProblemError):
            await conn.error(exc.code, exc.detail)
            return
        log.error("the %s handler of %s failed", where, self.path, exc_info=exc)
        await conn.error(INTERNAL_ERROR, "The frame could not be handled; the error was logged.")


def socket_routes(routes: Any) -> list[SocketRoute]:
    """Every :class:`SocketRoute` among ``routes`` (those inside mounts included)."""
    found: list[SocketRoute] = []
    for route in routes:
        if isinstance(route, SocketRoute):
            found.append(route)
        found.extend(socket_routes(getattr(route, "routes", ())))
    return found
