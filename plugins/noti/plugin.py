"""The noti plugin's hook implementations: wiring only, the rules live in the service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.routing import BaseRoute
from wealist_plugins.noti.drafts import DRAFTERS
from wealist_plugins.noti.models import metadata
from wealist_plugins.noti.routes import Notifications
from wealist_plugins.noti.service import NotificationService
from wealist_plugins.noti.sockets import NotificationSocket
from wealist_plugins.user.contract import Directory

from wealist_core import (
    ConfigurationError,
    Container,
    DomainEvent,
    Event,
    Job,
    JobContext,
    Mailer,
    ModelRegistration,
    PluginError,
    PluginManifest,
    Settings,
    hookimpl,
)
from wealist_core.http import routes_of
from wealist_core.realtime import hub_of

__all__ = ["NotiPlugin"]


class NotiPlugin:
    """Notifications from the events of every plugin."""

    def __init__(self) -> None:
        self._service: NotificationService | None = None
        self.mailer: Mailer | None = None
        self.digest_delay = dt.timedelta(minutes=30)

    @property
    def service(self) -> NotificationService:
        if self._service is None:
            raise PluginError("The noti plugin is used before wealist_configure built its service.")
        return self._service

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="noti",
            version="1.0.0",
            description="Notifications: stored per event and recipient, listed, counted, pushed and mailed.",
            prefixes=("/api/notifications", "/ws/notifications"),
            ports=("database", "keyvalue", "pubsub", "eventbus", "mailer"),
            needs=("user.Directory",),
        )

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        raw = settings.for_plugin("noti").option("digest_delay_minutes", "30")
        if not raw.isdigit() or int(raw) < 1:
            raise ConfigurationError(
                f"WEALIST_NOTI__DIGEST_DELAY_MINUTES is {raw!r}, not a whole number >= 1."
            )
        self.digest_delay = dt.timedelta(minutes=int(raw))
        self.mailer = container.mailer("noti")
        self._service = NotificationService(
            container.database("noti"),
            container.contracts.get(Directory),
            container.keyvalue("noti"),
            hub_of(container, "noti"),
        )

    @hookimpl
    def wealist_register_models(self) -> list[ModelRegistration]:
        return [ModelRegistration("noti", metadata, Path(__file__).with_name("migrations"))]

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        return [*routes_of(Notifications(self.service)), NotificationSocket(self.service).route()]

    @hookimpl
    def wealist_register_jobs(self) -> list[Job]:
        async def email_digest(ctx: JobContext) -> None:
            assert self.mailer is not None
            sent = await self.service.send_digests(self.mailer, ctx.now, self.digest_delay)
            if sent:
                ctx.log.info("mailed notification digests", extra={"count": sent})

        return [
            Job(
                "email_digest",
                email_digest,
                every=dt.timedelta(minutes=5),
                description="Mail each user the notifications still unread after the digest delay.",
            )
        ]

    @hookimpl
    def wealist_register_subscriptions(self) -> list[tuple[str, Callable[[Event], Awaitable[None]]]]:
        # Raw handlers: the event's id makes a notification once per event and recipient.
        return [(cls.event_type, self._handler(cls, drafter)) for cls, drafter in DRAFTERS.items()]

    def _handler(
        self, cls: type[DomainEvent], drafter: Callable[[Any], Any]
    ) -> Callable[[Event], Awaitable[None]]:
        async def handle(event: Event) -> None:
            model = cls.model_validate(event.payload)
            await self.service.store(event.id, drafter(model))

        handle.__qualname__ = f"NotiPlugin.on_{cls.__name__}"
        return handle
