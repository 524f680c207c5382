"""What every EventBus adapter shares: options, subscriptions, the wire format and dead letters.

The built-in adapters (``memory://`` and Redis Streams) both build on these, so the rules the contract suite
checks are one piece of code: which events a subscription takes, how long a failing handler waits before its
next attempt, when an event is given up on, and what a dead letter records.

Layout every adapter follows: one *stream* per producing plugin (``Event.source``), read by one *consumer
group* per subscribing plugin. A group created for the first time reads the retained stream from its
beginning, so events published before a plugin's first start still reach it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from wealist_core.errors import AdapterError
from wealist_core.ports import Event, EventHandler

__all__ = [
    "DeadLetter",
    "EventBusOptions",
    "EventSubscription",
    "EventSubscriptions",
    "check_event_type",
    "decode_event",
    "describe_error",
    "encode_event",
]

_GROUP = re.compile(r"^[A-Za-z0-9_-]+$")
# ``<plugin>.<name>``: the plugin part names the stream, so it must be literal.
_TYPE = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$")
_PATTERN = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.\*$")
_MAX_BACKOFF = 30.0


@dataclass(frozen=True, slots=True)
class EventBusOptions:
    """Tuning of an event bus, read from its URL's query string (``memory://?max_attempts=3``)."""

    retry_delay: float = 0.5  # seconds before the second attempt; doubles per attempt, at most 30 s
    max_attempts: int = 5  # attempts (deliveries) before an event becomes a dead letter
    retention: int = 100_000  # events kept per stream (Redis trims approximately) and dead letters per group
    claim_after: float = 30.0  # Redis: a consumer silent this long has its unacknowledged events taken over
    dedupe_ttl: float = 86_400.0  # Redis: seconds a group remembers that it handled an event id
    dedupe_size: int = 100_000  # memory: event ids a group remembers
    batch: int = 10  # Redis: entries one consumer takes per read
    prefix: str = "wealist:"  # Redis: prefix of every key the bus writes

    @classmethod
    def from_url(cls, url: str, *, setting: str) -> tuple[EventBusOptions, str]:
        """The options in ``url``'s query and the URL without them (what is left belongs to the driver).

        A malformed value is an :class:`~wealist_core.errors.AdapterError` naming ``setting``.
        """
        parts = urlsplit(url)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        rest: list[tuple[str, str]] = []
        for name, raw in parse_qsl(parts.query, keep_blank_values=True):
            field = fields.get(name)
            if field is None:
                rest.append((name, raw))
                continue
            values[name] = _parse(field.type, name, raw, setting)
        options = cls(**values)
        options._validate(setting)
        return options, urlunsplit(parts._replace(query=urlencode(rest)))

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after attempt number ``attempt`` (1-based) failed."""
        delay: float = self.retry_delay * 2.0 ** max(attempt - 1, 0)
        return min(delay, max(_MAX_BACKOFF, self.retry_delay))

    def _validate(self, setting: str) -> None:
        checks = {
            "retry_delay": self.retry_delay >= 0,
            "max_attempts": self.max_attempts >= 1,
            "retention": self.retention >= 1,
            "claim_after": self.claim_after > 0,
            "dedupe_ttl": self.dedupe_ttl > 0,
            "dedupe_size": self.dedupe_size >= 1,
            "batch": self.batch >= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise AdapterError(
                    f"{setting} sets {name}={getattr(self, name)}, which is out of range; "
                    "use a positive number."
                )


def _parse(kind: Any, name: str, raw: str, setting: str) -> Any:
    # Field types are strings under ``from __future__ import annotations``.
    try:
        if kind in ("int", int):
            return int(raw)
        if kind in ("float", float):
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(raw)
            return value
    except ValueError:
        raise AdapterError(f"{setting} sets {name}={raw!r}, which is not a number; give a number.") from None
    return raw


@dataclass(frozen=True, slots=True)
class EventSubscription:
    """``handler`` bound to ``pattern`` (``board.task_assigned`` or ``board.*``) for consumer group ``group``.

    ``name`` identifies the subscription in every process that runs the same code: adapters key a handler's
    progress on it when several handlers of one group take the same event.
    """

    group: str
    pattern: str
    handler: EventHandler
    name: str

    @property
    def source(self) -> str:
        """The plugin whose events this subscription takes (the stream it reads)."""
        return self.pattern.split(".", 1)[0]

    def matches(self, event_type: str) -> bool:
        if self.pattern.endswith(".*"):
            return event_type.startswith(self.pattern[:-1])
        return event_type == self.pattern


class EventSubscriptions:
    """The subscriptions of one bus, by group, in the order they were made; frozen once consuming starts."""

    def __init__(self) -> None:
        self._by_group: dict[str, list[EventSubscription]] = {}
        self.frozen = False

    def add(self, group: str, event_type: str, handler: EventHandler) -> EventSubscription:
        if self.frozen:
            raise RuntimeError(
                f"subscribe({group!r}, {event_type!r}) came after start_consuming(); subscribe first."
            )
        if not _GROUP.match(group):
            raise ValueError(f"Consumer group {group!r} must be a plugin name (letters, digits, '_' or '-').")
        if not (_TYPE.match(event_type) or _PATTERN.match(event_type)):
            raise ValueError(
                f"Event type {event_type!r} must be '<plugin>.<name>' or '<plugin>.*' "
                "(a plugin's own events)."
            )
        subscriptions = self._by_group.setdefault(group, [])
        name = f"{event_type}:{_handler_name(handler)}"
        taken = {s.name for s in subscriptions}
        base, n = name, 1
        while name in taken:  # e.g. two lambdas in one module
            n += 1
            name = f"{base}#{n}"
        subscription = EventSubscription(group, event_type, handler, name)
        subscriptions.append(subscription)
        return subscription

    def freeze(self) -> None:
        self.frozen = True

    def groups(self) -> list[str]:
        return list(self._by_group)

    def __contains__(self, group: object) -> bool:
        return group in self._by_group

    def sources(self, group: str) -> list[str]:
        """The plugins whose streams ``group`` reads, sorted."""
        return sorted({s.source for s in self._by_group.get(group, ())})

    def matching(self, group: str, event_type: str) -> list[EventSubscription]:
        """The subscriptions of ``group`` that take events of ``event_type``, in subscription order."""
        return [s for s in self._by_group.get(group, ()) if s.matches(event_type)]


def _handler_name(handler: EventHandler) -> str:
    module = getattr(handler, "__module__", None) or ""
    qualname = getattr(handler, "__qualname__", None) or type(handler).__qualname__
    return f"{module}.{qualname}" if module else qualname


def check_event_type(event_type: str) -> None:
    """Raise ``ValueError`` unless ``event_type`` is ``<plugin>.<what_happened>``."""
    if not _TYPE.match(event_type):
        raise ValueError(
            f"Event type {event_type!r} must be '<plugin>.<what_happened>', e.g. 'board.task_assigned'."
        )


def encode_event(event: Event) -> str:
    """The event as compact JSON; ``TypeError`` when its payload is not JSON (so it fails at publish)."""
    check_event_type(event.type)
    return json.dumps(event.to_dict(), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def decode_event(data: str | bytes) -> Event:
    """The event encoded by :func:`encode_event`; ``ValueError`` when ``data`` is not one."""
    try:
        loaded = json.loads(data)
        if not isinstance(loaded, Mapping):
            raise TypeError("not an object")
        return Event.from_dict(loaded)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not an encoded event ({exc})") from exc


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event a group gave up on after ``attempts`` attempts; ``error`` is the last failure.

    ``event`` is None only when the stored entry could not be decoded at all (``error`` says why).
    """

    group: str
    event: Event | None
    attempts: int
    error: str
    failed_at: dt.datetime


def describe_error(exc: BaseException, limit: int = 1000) -> str:
    """``Type: message``, bounded, for logs and dead letters."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:limit]
