"""Ports: the interfaces between Wealist and its infrastructure.

One small abstract class per port, in the spirit of httpx transports. An adapter implements one port for
one technology (``RedisKeyValue``, ``S3BlobStore``) and is chosen by the scheme of a URL setting. Every
adapter passes the port's contract suite in ``tests/contracts/``. No plugin knows which adapter it got.

Every adapter shares a lifecycle, :class:`Resource`: ``start()`` opens connections (and fails with
:class:`~wealist_core.errors.AdapterUnavailable` when the server cannot be reached), ``check()`` is the
readiness probe and ``close()`` releases everything. The host calls them from its one lifespan.
"""

from __future__ import annotations

import abc
import builtins
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from wealist_core.errors import NotFound, ServiceUnavailable

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
    from starlette.routing import BaseRoute

    from wealist_core.events import DomainEvent

__all__ = [
    "BlobInfo",
    "BlobStore",
    "BoundDatabase",
    "Database",
    "Event",
    "EventBus",
    "EventHandler",
    "KeyValue",
    "MailMessage",
    "Mailer",
    "MediaParticipant",
    "MediaRecording",
    "MediaRecordingFile",
    "MediaRooms",
    "MediaWebhook",
    "PresignedUrl",
    "PubSub",
    "Resource",
    "Subscription",
    "UnitOfWork",
]


class Resource(abc.ABC):
    """Lifecycle shared by every adapter. The defaults suit adapters that hold nothing open."""

    #: The port's short name, used in settings (``<port>_url``), logs and health checks.
    port: ClassVar[str] = ""

    async def start(self) -> None:
        """Open connections. Raise ``AdapterUnavailable`` with the reason when the server is unreachable."""

    async def check(self) -> None:
        """Readiness probe: return when the backing server answers, raise otherwise."""

    async def close(self) -> None:
        """Release connections and background tasks. Safe to call twice."""

    def routes(self) -> Sequence[BaseRoute]:
        """Routes the host mounts for this adapter, e.g. the signed URLs of the local blob store."""
        return ()


# --------------------------------------------------------------------------------------------------- database


class UnitOfWork(abc.ABC):
    """One transaction: an ``AsyncSession`` plus the events to write to the plugin's outbox.

    Commits when its ``async with`` block ends normally, rolls back on an exception. Events recorded with
    :meth:`emit` are written to the outbox in the same transaction and relayed to the event bus after the
    commit, so a change and the events it caused are never separated. Work that must wait for the commit
    (a mail, a pub/sub publish to live sockets) is registered with :meth:`after_commit`.

    The host opens one per request for a route that asks for it (``uow: UnitOfWork``): a read-only one for
    GET and HEAD (``writable`` is False; ``emit`` and ``upsert`` refuse), a transaction otherwise.
    """

    session: AsyncSession
    #: False for the read-only unit of work of a GET or HEAD request.
    writable: bool = True

    @abc.abstractmethod
    def emit(
        self, event: str | DomainEvent, payload: Mapping[str, Any] | None = None, *, key: str | None = None
    ) -> Event:
        """Record a domain event caused by this unit of work; it is published only if the commit succeeds.

        ``event`` is a typed :class:`~wealist_core.events.DomainEvent` (preferred) or a type name with its
        ``payload``."""

    @abc.abstractmethod
    def after_commit(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` (a function or a coroutine function) once the transaction has committed; never
        when it rolls back. Its failure is logged, not raised: the change is committed already."""

    @abc.abstractmethod
    async def upsert(
        self,
        table: Any,
        values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        conflict: Sequence[str],
        update: Sequence[str] | None = None,
    ) -> None:
        """``INSERT ... ON CONFLICT (conflict) DO UPDATE SET update`` (``DO NOTHING`` when ``update`` is
        empty or None), the same on every database. ``table`` is a model class or a ``Table``."""


class Database(Resource):
    """An async SQLAlchemy engine with units of work and per-plugin Alembic migrations."""

    port = "database"
    url: str

    @property
    @abc.abstractmethod
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine (for migrations and tests; plugins use units of work)."""

    @property
    @abc.abstractmethod
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""

    @abc.abstractmethod
    def unit_of_work(self, *, plugin: str = "") -> contextlib.AbstractAsyncContextManager[UnitOfWork]:
        """A transaction that commits on success and rolls back on error; ``plugin`` names its outbox.
        The view a plugin gets from ``container.database(plugin)`` fills ``plugin`` in."""

    @abc.abstractmethod
    def reading(self) -> contextlib.AbstractAsyncContextManager[AsyncSession]:
        """A session for queries only, in autocommit: no BEGIN and COMMIT round trips, each statement sees
        what is committed when it runs. For hot read paths; whatever writes uses a unit of work."""

    @abc.abstractmethod
    def reading_unit_of_work(self, *, plugin: str = "") -> contextlib.AbstractAsyncContextManager[UnitOfWork]:
        """A read-only unit of work (``writable`` False) on a :meth:`reading` session: what the host gives a
        GET or HEAD route, so that services take one ``uow`` whatever the method."""

    def bound(self, plugin: str) -> Database:
        """This database as plugin ``plugin`` sees it: units of work write to its outbox."""
        return BoundDatabase(self, plugin)


class BoundDatabase(Database):
    """A :class:`Database` bound to one plugin: ``unit_of_work()`` needs no ``plugin=`` (it names the outbox
    and the events' prefix). What ``container.database(plugin)`` returns; everything else is delegated."""

    def __init__(self, database: Database, plugin: str) -> None:
        self._database = database
        self.plugin = plugin
        self.url = database.url

    @property
    def engine(self) -> AsyncEngine:
        return self._database.engine

    @property
    def dialect(self) -> str:
        return self._database.dialect

    @property
    def unbound(self) -> Database:
        """The shared adapter instance behind this view."""
        return self._database

    def unit_of_work(self, *, plugin: str = "") -> contextlib.AbstractAsyncContextManager[UnitOfWork]:
        return self._database.unit_of_work(plugin=plugin or self.plugin)

    def reading(self) -> contextlib.AbstractAsyncContextManager[AsyncSession]:
        return self._database.reading()

    def reading_unit_of_work(self, *, plugin: str = "") -> contextlib.AbstractAsyncContextManager[UnitOfWork]:
        return self._database.reading_unit_of_work(plugin=plugin or self.plugin)

    def bound(self, plugin: str) -> Database:
        return self._database.bound(plugin)

    async def start(self) -> None:
        await self._database.start()

    async def check(self) -> None:
        await self._database.check()

    async def close(self) -> None:
        await self._database.close()

    def __getattr__(self, name: str) -> Any:
        # Adapter-specific extras (commit listeners, the SQLite path) stay reachable through the view.
        return getattr(self._database, name)

    def __repr__(self) -> str:
        return f"{self._database!r}.bound({self.plugin!r})"


# ------------------------------------------------------------------------------------------------- key-value


class KeyValue(Resource):
    """Small shared state with expiry: tokens, rate limits, presence, caches.

    Keys are strings; values are ``bytes`` or ``str`` on the way in and ``str`` on the way out. Every
    method takes the key as given: :meth:`namespace` returns a view that prefixes every key, which is how
    each plugin gets its own key space on a shared server.
    """

    port = "keyvalue"

    @abc.abstractmethod
    async def get(self, key: str) -> str | None: ...

    @abc.abstractmethod
    async def set(
        self, key: str, value: str | bytes, *, ttl: float | None = None, only_if_absent: bool = False
    ) -> bool:
        """Store ``value``; with ``only_if_absent`` store it only when the key is free. True when stored."""

    @abc.abstractmethod
    async def delete(self, *keys: str) -> int:
        """Remove keys; the number that existed."""

    @abc.abstractmethod
    async def exists(self, key: str) -> bool: ...

    async def count_existing(self, *keys: str) -> int:
        """How many of ``keys`` exist (a key named twice counts twice). One round trip where the store can
        (Redis ``EXISTS k1 k2 ...``): checks on every request, such as revocations, ask several at once."""
        return sum([await self.exists(key) for key in keys])

    @abc.abstractmethod
    async def expire(self, key: str, ttl: float) -> bool:
        """Set a time to live in seconds; False when the key does not exist."""

    @abc.abstractmethod
    async def ttl(self, key: str) -> float | None:
        """Seconds left, or None for a missing key or one without expiry."""

    @abc.abstractmethod
    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Add to an integer counter; ``ttl`` is applied when the increment created the key."""

    @abc.abstractmethod
    async def sadd(self, key: str, *members: str) -> int: ...

    @abc.abstractmethod
    async def srem(self, key: str, *members: str) -> int: ...

    @abc.abstractmethod
    async def smembers(self, key: str) -> builtins.set[str]: ...

    @abc.abstractmethod
    async def sismember(self, key: str, member: str) -> bool: ...

    @abc.abstractmethod
    async def zadd(self, key: str, mapping: Mapping[str, float]) -> int: ...

    @abc.abstractmethod
    async def zrem(self, key: str, *members: str) -> int: ...

    @abc.abstractmethod
    async def zscore(self, key: str, member: str) -> float | None: ...

    @abc.abstractmethod
    async def zrange_by_score(
        self,
        key: str,
        minimum: float = float("-inf"),
        maximum: float = float("inf"),
        *,
        limit: int | None = None,
    ) -> list[tuple[str, float]]:
        """Members with minimum <= score <= maximum, lowest score first."""

    @abc.abstractmethod
    async def zremrange_by_score(self, key: str, minimum: float, maximum: float) -> int: ...

    @abc.abstractmethod
    async def zcard(self, key: str) -> int: ...

    @abc.abstractmethod
    def namespace(self, prefix: str) -> KeyValue:
        """A view of this store whose keys all start with ``prefix`` (which shares its connections)."""


# ---------------------------------------------------------------------------------------------------- pub/sub


class Subscription(abc.ABC):
    """Messages from the channels of one subscription, in order per channel, until closed."""

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]:
        """Yield ``(channel, message)`` pairs."""

    @abc.abstractmethod
    async def subscribe(self, *channels: str) -> None: ...

    @abc.abstractmethod
    async def unsubscribe(self, *channels: str) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...


class PubSub(Resource):
    """Ephemeral fan-out to live connections: a message reaches whoever is subscribed now, in any process."""

    port = "pubsub"

    @abc.abstractmethod
    async def publish(self, channel: str, message: bytes | str) -> None: ...

    @abc.abstractmethod
    async def subscribe(self, *channels: str) -> Subscription:
        """A subscription that already receives messages when this returns."""


# -------------------------------------------------------------------------------------------------- event bus


@dataclass(frozen=True, slots=True)
class Event:
    """A durable domain event. ``type`` is ``<plugin>.<what_happened>``, e.g. ``board.task_assigned``."""

    type: str
    payload: Mapping[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    key: str | None = None  # optional ordering/partition key, e.g. a workspace id

    @property
    def source(self) -> str:
        """The plugin that produced the event."""
        return self.type.split(".", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "payload": dict(self.payload),
            "occurredAt": self.occurred_at.isoformat(),
            "key": self.key,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        return cls(
            id=str(data["id"]),
            type=str(data["type"]),
            payload=dict(data.get("payload") or {}),
            occurred_at=dt.datetime.fromisoformat(str(data["occurredAt"])),
            key=data.get("key"),
        )


EventHandler = Callable[[Event], Awaitable[None]]


class EventBus(Resource):
    """Durable domain events: at-least-once delivery, one consumer group per plugin, replay.

    A handler that raises (or a process that dies before acknowledging) gets the event again; a handler
    that succeeded never sees the same event id twice within its group.
    """

    port = "eventbus"

    @abc.abstractmethod
    async def publish(self, event: Event) -> None: ...

    @abc.abstractmethod
    def subscribe(self, group: str, event_type: str, handler: EventHandler) -> None:
        """Bind ``handler`` to ``event_type`` for consumer group ``group`` (a plugin name).

        Call before :meth:`start_consuming`. ``event_type`` may end in ``.*`` to take every event of a plugin.
        """

    @abc.abstractmethod
    async def start_consuming(self) -> None:
        """Start delivering events to the subscribed handlers in background tasks (stopped by ``close``)."""

    @abc.abstractmethod
    async def lag(self, group: str) -> int:
        """Events of the group's subscriptions not yet handled: delivered but unacknowledged, plus not yet
        delivered (across every process of the group)."""

    @abc.abstractmethod
    async def dead_letters(self, group: str, *, limit: int = 100) -> Sequence[Any]:
        """Events the group gave up on after too many failed attempts, newest last."""


# ------------------------------------------------------------------------------------------------ blob store


@dataclass(frozen=True, slots=True)
class PresignedUrl:
    """A URL that lets its holder upload or download one object until ``expires_at``, without a token."""

    url: str
    method: str
    expires_at: dt.datetime
    headers: Mapping[str, str] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BlobInfo:
    key: str
    size: int
    content_type: str
    etag: str | None = None


class BlobStore(Resource):
    """Objects by key, S3-shaped: put, get, delete, head and presigned PUT/GET URLs."""

    port = "blobstore"

    @abc.abstractmethod
    async def put(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> BlobInfo: ...

    @abc.abstractmethod
    async def get(self, key: str) -> bytes:
        """The object's bytes; ``NotFound`` when there is none."""

    @abc.abstractmethod
    async def head(self, key: str) -> BlobInfo | None: ...

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""

    @abc.abstractmethod
    async def presign_put(
        self, key: str, *, content_type: str, max_size: int, expires_in: int = 900
    ) -> PresignedUrl:
        """A URL accepting one upload of at most ``max_size`` bytes of ``content_type``."""

    @abc.abstractmethod
    async def presign_get(
        self, key: str, *, expires_in: int = 900, filename: str | None = None
    ) -> PresignedUrl:
        """A URL serving the object; ``filename`` sets the download name."""

    async def copy(self, source: str, target: str) -> BlobInfo:
        """Copy ``source`` to ``target`` (replacing it); ``NotFound`` when there is no ``source``.

        Adapters copy server side; this default reads and writes the bytes.
        """
        info = await self.head(source)
        if info is None:
            raise NotFound(f"No blob has the key {source!r}.")
        return await self.put(target, await self.get(source), content_type=info.content_type)


@dataclass(frozen=True, slots=True)
class UploadPart:
    """One uploaded part of a multipart upload: its number (1..10000) and the ETag its PUT answered."""

    number: int
    etag: str


class MultipartUploads(abc.ABC):
    """Optional capability of a ``BlobStore``: large uploads in parts, each through its own presigned URL.

    Test with ``isinstance(store, MultipartUploads)``; the S3 adapter has it.
    """

    @abc.abstractmethod
    async def create_multipart(self, key: str, *, content_type: str) -> str:
        """Start an upload of ``key``; its upload id."""

    @abc.abstractmethod
    async def presign_part(
        self, key: str, upload_id: str, part_number: int, *, expires_in: int = 3600
    ) -> PresignedUrl:
        """A URL a browser PUTs one part to; the answer's ``ETag`` names the part."""

    @abc.abstractmethod
    async def complete_multipart(self, key: str, upload_id: str, parts: Sequence[UploadPart]) -> BlobInfo:
        """Join the parts into the object ``key``."""

    @abc.abstractmethod
    async def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop the upload and its parts; aborting an unknown upload is not an error."""


# ----------------------------------------------------------------------------------------------------- mailer


@dataclass(frozen=True, slots=True)
class MailMessage:
    to: Sequence[str]
    subject: str
    text: str
    html: str | None = None
    sender: str | None = None
    reply_to: str | None = None


class Mailer(Resource):
    """Sends email: invitations and digests."""

    port = "mailer"

    @abc.abstractmethod
    async def send(self, message: MailMessage) -> None: ...


# ----------------------------------------------------------------------------------------------- media rooms


@dataclass(frozen=True, slots=True)
class MediaParticipant:
    """Someone connected to a media room, as the media server sees them."""

    identity: str
    name: str = ""
    joined_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class MediaRecordingFile:
    """A file a recording wrote: its object key in the blob store, size in bytes, length in seconds."""

    key: str
    size: int = 0
    duration_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class MediaRecording:
    """A recording (LiveKit egress) of a room: ``status`` is ``STARTING``, ``ACTIVE``, ``ENDING``,
    ``COMPLETE``, ``FAILED`` or ``ABORTED``."""

    recording_id: str
    room: str
    status: str
    files: tuple[MediaRecordingFile, ...] = ()
    error: str = ""


@dataclass(frozen=True, slots=True)
class MediaWebhook:
    """A verified notification of the media server. ``event`` is the server's name for it
    (``participant_joined``, ``participant_left``, ``room_started``, ``room_finished``, ``egress_started``,
    ``egress_updated``, ``egress_ended``, ...); ``identity`` is set for participant events and
    ``recording`` for egress events."""

    event: str
    event_id: str
    room: str
    created_at: dt.datetime
    identity: str = ""
    name: str = ""
    recording: MediaRecording | None = None


def _recording_not_configured() -> Exception:
    return ServiceUnavailable(
        "Recording is not configured on this server (no LiveKit Egress).", code="RECORDING_NOT_CONFIGURED"
    )


class MediaRooms(Resource):
    """A media server for video calls (LiveKit): rooms, participants, join tokens, recordings, webhooks.

    Room names are the caller's (the video plugin uses its room ids). Failures of the server are
    ``ServiceUnavailable`` (503); a webhook that fails verification is ``Unauthorized``."""

    port = "media"

    #: The URL browsers connect to (``wss://...``), given back with each join token.
    client_url: str = ""

    @abc.abstractmethod
    async def create_room(
        self, name: str, *, max_participants: int = 0, empty_timeout: int = 300, metadata: str = ""
    ) -> None:
        """Create the room (creating an existing room again is not an error)."""

    @abc.abstractmethod
    async def delete_room(self, name: str) -> None:
        """Close the room and disconnect everyone; a room the server no longer has is not an error."""

    @abc.abstractmethod
    async def list_participants(self, room: str) -> list[MediaParticipant]:
        """Who is connected to the room now (empty for a room the server does not have)."""

    @abc.abstractmethod
    async def remove_participant(self, room: str, identity: str) -> None:
        """Disconnect one participant; one who is not connected is not an error."""

    @abc.abstractmethod
    def join_token(self, room: str, *, identity: str, name: str, ttl: int = 3600, metadata: str = "") -> str:
        """A token letting ``identity`` join ``room`` (and no other) for ``ttl`` seconds."""

    @property
    def records(self) -> bool:
        """Whether recordings can be made (LiveKit Egress is configured)."""
        return False

    async def start_recording(self, room: str, *, key_prefix: str) -> MediaRecording:
        """Record the room into the blob store under ``key_prefix`` (``video/<room>/``)."""
        raise _recording_not_configured()

    async def stop_recording(self, recording_id: str) -> MediaRecording:
        """Stop a recording; its files are announced by an ``egress_ended`` webhook."""
        raise _recording_not_configured()

    @abc.abstractmethod
    def verify_webhook(self, body: bytes, authorization: str) -> MediaWebhook:
        """Check the webhook's signature and body hash and decode it; ``Unauthorized`` when they fail."""
