"""The chat plugin's hook implementations: wiring only, the rules live in the services."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from wealist_plugins.chat.chats import ChatService
from wealist_plugins.chat.fanout import Fanout
from wealist_plugins.chat.messages import MessageService
from wealist_plugins.chat.models import metadata
from wealist_plugins.chat.options import ChatOptions
from wealist_plugins.chat.presence import Presence
from wealist_plugins.chat.routes import Chats
from wealist_plugins.chat.sockets import ChatSocket
from wealist_plugins.user.contract import Directory, MemberAdded, MemberRemoved

from wealist_core import (
    DOCUMENTS,
    RASTER_IMAGES,
    VIDEOS,
    Container,
    Job,
    JobContext,
    ModelRegistration,
    PluginError,
    PluginManifest,
    Settings,
    UploadPolicy,
    Uploads,
    hookimpl,
    subscribe,
)
from wealist_core.http import routes_of
from wealist_core.realtime import hub_of

__all__ = ["ChatPlugin"]

#: Images and files sent in chats: what the board takes, plus short videos and audio.
ATTACHMENTS = UploadPolicy(types={**RASTER_IMAGES, **DOCUMENTS, **VIDEOS}, max_size=100 * 1024**2)


class ChatPlugin:
    """Direct messages, groups and project channels, with real-time delivery and presence."""

    def __init__(self) -> None:
        self._parts: dict[str, Any] = {}

    def _get(self, name: str) -> Any:
        if name not in self._parts:
            raise PluginError("The chat plugin is used before wealist_configure built its services.")
        return self._parts[name]

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="chat",
            version="1.0.0",
            description="Chats: direct messages, groups, project channels; real-time delivery and presence.",
            prefixes=("/api/chats", "/ws/chat"),
            ports=("database", "keyvalue", "pubsub", "eventbus", "blobstore"),
            needs=("user.Directory",),
        )

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        options = ChatOptions.read(settings.for_plugin("chat"))
        database = container.database("chat")
        directory = container.contracts.get(Directory)
        pubsub = container.pubsub("chat")
        fanout = Fanout(hub_of(container, "chat"), pubsub)
        presence = Presence(container.keyvalue("chat"), directory, fanout, options.presence_ttl)
        attachments = Uploads(
            container.blobstore("chat"), plugin="chat", purpose="attachment", policy=ATTACHMENTS
        )
        chats = ChatService(database, directory, fanout, options)
        messages = MessageService(database, directory, fanout, presence, attachments, options)
        self._parts.update(
            chats=chats,
            messages=messages,
            presence=presence,
            attachments=attachments,
            directory=directory,
            socket=ChatSocket(database, directory, chats, messages, presence, pubsub),
        )

    @hookimpl
    def wealist_register_models(self) -> list[ModelRegistration]:
        return [ModelRegistration("chat", metadata, Path(__file__).with_name("migrations"))]

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        controller = Chats(
            self._get("chats"),
            self._get("messages"),
            self._get("presence"),
            self._get("attachments"),
            self._get("directory"),
        )
        return [*routes_of(controller), self._get("socket").route()]

    @hookimpl
    def wealist_lifespan(self, app: Starlette) -> contextlib.AbstractAsyncContextManager[None]:
        return self._get("socket").running()  # type: ignore[no-any-return]

    @hookimpl
    def wealist_register_jobs(self) -> list[Job]:
        attachments: Uploads = self._get("attachments")

        async def purge_uploads(ctx: JobContext) -> None:
            purged = await attachments.purge_all_expired(ctx.container.database(ctx.plugin), now=ctx.now)
            if purged:
                ctx.log.info("purged attachments never sent", extra={"count": purged})

        return [Job("purge_uploads", purge_uploads, every=timedelta(hours=1))]

    @subscribe(MemberAdded)
    async def on_member_added(self, event: MemberAdded) -> None:
        """A new member's open sockets follow the workspace's presence."""
        await self._get("chats").fanout.workspace_moved("join", event.workspace_id, event.user_id)

    @subscribe(MemberRemoved)
    async def on_member_removed(self, event: MemberRemoved) -> None:
        """Someone who left the workspace, or was removed, leaves its chats."""
        await self._get("chats").forget_member(event.workspace_id, event.user_id)
