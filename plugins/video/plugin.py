"""The video plugin's hook implementations: wiring only, the rules live in the services."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from starlette.routing import BaseRoute
from wealist_plugins.user.contract import Directory, MemberRemoved, WorkspaceDeleted
from wealist_plugins.video.calls import CallService
from wealist_plugins.video.models import metadata
from wealist_plugins.video.options import VideoOptions
from wealist_plugins.video.rooms import RoomService
from wealist_plugins.video.routes import History, Rooms, Webhooks

from wealist_core import (
    Container,
    Job,
    JobContext,
    ModelRegistration,
    PluginError,
    PluginManifest,
    Settings,
    hookimpl,
    subscribe,
)
from wealist_core.http import routes_of

__all__ = ["VideoPlugin"]


class VideoPlugin:
    """Video calls on LiveKit: rooms, join tokens, participants, history, recordings."""

    def __init__(self) -> None:
        self._rooms: RoomService | None = None
        self._calls: CallService | None = None

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="video",
            version="1.0.0",
            description="Video calls on LiveKit: rooms, tokens, participants, history, recordings.",
            prefixes=("/api/video",),
            ports=("database", "keyvalue", "blobstore", "media"),
            needs=("user.Directory",),
        )

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        options = VideoOptions.read(settings.for_plugin("video"))
        blobs = container.blobstore("video")
        self._rooms = RoomService(
            database=container.database("video"),
            media=container.media("video"),
            keyvalue=container.keyvalue("video"),
            blobs=blobs,
            directory=container.contracts.get(Directory),
            options=options,
        )
        self._calls = CallService(blobs)

    @hookimpl
    def wealist_register_models(self) -> list[ModelRegistration]:
        return [ModelRegistration("video", metadata, Path(__file__).with_name("migrations"))]

    @property
    def rooms(self) -> RoomService:
        if self._rooms is None:
            raise PluginError("The video plugin is used before wealist_configure built its services.")
        return self._rooms

    @hookimpl
    def wealist_register_jobs(self) -> list[Job]:
        async def end_abandoned_rooms(ctx: JobContext) -> None:
            closed = await self.rooms.close_unclosed()
            ended = await self.rooms.end_abandoned(ctx.now)
            if ended or closed:
                ctx.log.info("ended abandoned calls", extra={"count": ended, "livekitRoomsClosed": closed})

        return [
            Job(
                "end_abandoned_rooms",
                end_abandoned_rooms,
                every=timedelta(minutes=5),
                description="end calls LiveKit closed without telling us (a lost room_finished webhook), "
                "and close LiveKit rooms of ended calls it could not be told about",
            )
        ]

    @subscribe(MemberRemoved)
    async def on_member_removed(self, event: MemberRemoved) -> None:
        """Someone who left the workspace, or was removed, is taken out of its calls."""
        await self.rooms.on_member_removed(event.workspace_id, event.user_id)

    @subscribe(WorkspaceDeleted)
    async def on_workspace_deleted(self, event: WorkspaceDeleted) -> None:
        """A deleted workspace's calls end."""
        await self.rooms.on_workspace_deleted(event.workspace_id)

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        if self._rooms is None or self._calls is None:
            raise PluginError("The video plugin is used before wealist_configure built its services.")
        return [
            *routes_of(Rooms(self._rooms)),
            *routes_of(History(self._calls)),
            *routes_of(Webhooks(self._rooms)),
        ]
