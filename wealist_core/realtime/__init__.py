"""The real-time toolkit: socket endpoints declared like controllers, topics fanned out through ``PubSub``.

Import from here (``from wealist_core.realtime import Channel, Connection, frame, hub_of``). The protocol
(AUTH first, READY, PING/PONG, ERROR frames, close codes) and the guide are in ``docs/realtime.md``.

- :class:`Channel` declares a socket endpoint: its ``path``, handlers marked ``@frame("TYPE")`` whose
  payload model comes from the annotation, and ``authorize(principal, topic)``; ``.route()`` mounts it.
- :class:`Connection` is one socket as a handler sees it: ``send``, ``error``, ``subscribe`` (with
  ``replay`` to resume), ``unsubscribe``, ``publish``, ``close``.
- :class:`Hub` is one plugin's fan-out in one process; :func:`hub_of` gives it to the plugin's services,
  which ``publish(topic, type, payload, cursor=...)`` after their commit.
"""

from __future__ import annotations

from wealist_core.realtime._channel import Channel, SocketRoute, frame
from wealist_core.realtime._connection import Connection, Replay
from wealist_core.realtime._frames import (
    CLOSE_GOING_AWAY,
    CLOSE_NORMAL,
    CLOSE_TOO_SLOW,
    CLOSE_UNAVAILABLE,
    FRAME_INVALID,
    FRAME_MALFORMED,
    FRAME_TOO_LARGE,
    FRAME_UNKNOWN,
    INTERNAL_ERROR,
    TOO_MANY_TOPICS,
    TOPIC_NOT_FOUND,
    Cursor,
    Frame,
    Payload,
    encode,
)
from wealist_core.realtime._hub import Hub, hub_of
from wealist_core.websocket import CLOSE_UNAUTHORIZED, authenticate_websocket

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_NORMAL",
    "CLOSE_TOO_SLOW",
    "CLOSE_UNAUTHORIZED",
    "CLOSE_UNAVAILABLE",
    "FRAME_INVALID",
    "FRAME_MALFORMED",
    "FRAME_TOO_LARGE",
    "FRAME_UNKNOWN",
    "INTERNAL_ERROR",
    "TOO_MANY_TOPICS",
    "TOPIC_NOT_FOUND",
    "Channel",
    "Connection",
    "Cursor",
    "Frame",
    "Hub",
    "Payload",
    "Replay",
    "SocketRoute",
    "authenticate_websocket",
    "encode",
    "frame",
    "hub_of",
]
