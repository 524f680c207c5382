"""Fixtures of the noti plugin's tests: noti beside an in-memory user Directory, and a publisher that puts
other plugins' events on the bus (so these tests need neither the board nor the chat plugin)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from wealist_plugins.noti.plugin import NotiPlugin
from wealist_plugins.user.contract import Role
from wealist_plugins.user.testing import InMemoryDirectory, InMemoryUserPlugin

from wealist_core import Container, DomainEvent, Event, EventBus, PluginManifest, hookimpl
from wealist_core.testing import headers_for


class EventSource:
    """Test-only: publishes events of any plugin on the bus, as their producers' outbox relays would."""

    def __init__(self) -> None:
        self.bus: EventBus | None = None

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="noti_test_source", version="0", description="test events", ports=("eventbus",)
        )

    @hookimpl
    def wealist_configure(self, container: Container) -> None:
        self.bus = container.eventbus("noti_test_source")

    async def emit(self, event: DomainEvent, *, event_id: str | None = None) -> str:
        assert self.bus is not None
        raw = Event(type=event.event_type, payload=event.to_payload(), key=event.ordering_key())
        if event_id is not None:
            raw = Event(type=raw.type, payload=raw.payload, key=raw.key, id=event_id)
        await self.bus.publish(raw)
        return raw.id


@pytest.fixture
def directory() -> InMemoryDirectory:
    return InMemoryDirectory()


@pytest.fixture
def source() -> EventSource:
    return EventSource()


@pytest.fixture
def wealist_plugins(directory: InMemoryDirectory, source: EventSource) -> list[object]:
    return [InMemoryUserPlugin(directory), NotiPlugin, source]


@dataclass
class Team:
    workspace: uuid.UUID
    elsewhere: uuid.UUID
    owner: Any
    ada: Any
    bob: Any
    stranger: Any

    def h(self, who: Any) -> dict[str, str]:
        return headers_for(who.user_id)


@pytest.fixture
def team(directory: InMemoryDirectory) -> Team:
    owner, ada, bob, stranger = (directory.add_user(n) for n in ("Olga", "Ada", "Bob", "Sam"))
    space = directory.add_workspace(owner.user_id, members=[bob.user_id])
    directory.add_member(space, ada.user_id, Role.MEMBER)
    elsewhere = directory.add_workspace(stranger.user_id, name="Elsewhere")
    return Team(space, elsewhere, owner, ada, bob, stranger)


async def notifications(client: httpx.AsyncClient, who: Any, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/notifications", headers=headers_for(who.user_id), params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def wait_for_notifications(client: httpx.AsyncClient, who: Any, count: int) -> list[dict[str, Any]]:
    """The recipient's notifications once there are ``count`` of them (events are consumed in the
    background); fails after a generous bound."""
    items: list[dict[str, Any]] = []
    for _ in range(500):
        items = await notifications(client, who)
        if len(items) >= count:
            return items
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {count} notifications, have {items}")
