"""The polls plugin's hook implementations: wiring only, the rules live in the service."""

from __future__ import annotations

from pathlib import Path

from wealist_plugins.user.contract import MemberRemoved

from wealist_core import Container, Job, ModelRegistration, PluginError, PluginManifest, hookimpl, subscribe
from wealist_core.http import ApiRoute, routes_of
from wealist_polls import __version__
from wealist_polls.jobs import polls_jobs
from wealist_polls.models import metadata
from wealist_polls.routes import Polls
from wealist_polls.service import PollService

__all__ = ["PollsPlugin"]


class PollsPlugin:
    """Polls in workspaces: members ask, vote and close; a job closes polls on schedule."""

    def __init__(self) -> None:
        self._service: PollService | None = None

    @property
    def service(self) -> PollService:
        if self._service is None:
            raise PluginError("The polls plugin is used before wealist_configure built its service.")
        return self._service

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="polls",
            version=__version__,
            description="Polls in workspaces: an example third-party plugin.",
            prefixes=("/api/polls",),
            ports=("database",),
            needs=("user.Directory",),
        )

    @hookimpl
    def wealist_configure(self, container: Container) -> None:
        self._service = PollService(container.database("polls"))

    @hookimpl
    def wealist_register_models(self) -> list[ModelRegistration]:
        return [ModelRegistration("polls", metadata, Path(__file__).with_name("migrations"))]

    @hookimpl
    def wealist_register_routes(self) -> list[ApiRoute]:
        return routes_of(Polls(self.service))

    @hookimpl
    def wealist_register_jobs(self) -> list[Job]:
        return polls_jobs(self.service)

    @subscribe(MemberRemoved)
    async def on_member_removed(self, event: MemberRemoved) -> None:
        """A member who left or was removed no longer counts in the workspace's open polls."""
        await self.service.withdraw(event.workspace_id, event.user_id)
