"""The board plugin's hook implementations: wiring only, the rules live in the services."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from starlette.routing import BaseRoute
from wealist_plugins.board.boards import BoardService
from wealist_plugins.board.comments import CommentService
from wealist_plugins.board.jobs import board_jobs
from wealist_plugins.board.live import BoardSocket, Presence
from wealist_plugins.board.models import metadata
from wealist_plugins.board.projects import ProjectService
from wealist_plugins.board.routes import Boards, Projects, Tasks
from wealist_plugins.board.services import ATTACHMENTS, Deps
from wealist_plugins.board.tasks import TaskService
from wealist_plugins.user.contract import Directory, MemberAdded, MemberRemoved

from wealist_core import (
    Container,
    Job,
    ModelRegistration,
    PluginError,
    PluginManifest,
    RateLimiter,
    Settings,
    Uploads,
    hookimpl,
    subscribe,
)
from wealist_core.http import routes_of
from wealist_core.realtime import hub_of

__all__ = ["BoardPlugin"]


class BoardPlugin:
    """Projects, kanban boards, tasks, comments and attachments, with live updates on ``/ws/boards``."""

    def __init__(self) -> None:
        self._deps: Deps | None = None

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="board",
            version="1.0.0",
            description="Projects, kanban boards, tasks, comments and attachments, with live updates.",
            prefixes=("/api/boards", "/ws/boards"),
            ports=("database", "keyvalue", "pubsub", "eventbus", "blobstore"),
            needs=("user.Directory",),
        )

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        options = settings.for_plugin("board")
        self.due_soon = timedelta(hours=float(options.option("due_soon_hours", "24")))
        deps = Deps(
            database=container.database("board"),
            directory=container.contracts.get(Directory),
            uploads=Uploads(
                container.blobstore("board"), plugin="board", purpose="attachment", policy=ATTACHMENTS
            ),
            hub=hub_of(container, "board"),
            keyvalue=container.keyvalue("board"),
        )
        self._deps = deps
        self.projects = ProjectService(deps)
        self.boards = BoardService(deps, self.projects)
        self.tasks = TaskService(deps)
        self.comments = CommentService(deps)
        self.presence = Presence(deps.keyvalue)
        self.limiter = RateLimiter(deps.keyvalue)

    @property
    def deps(self) -> Deps:
        if self._deps is None:
            raise PluginError("The board plugin is used before wealist_configure built its services.")
        return self._deps

    @hookimpl
    def wealist_register_models(self) -> list[ModelRegistration]:
        return [ModelRegistration("board", metadata, Path(__file__).with_name("migrations"))]

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        deps = self.deps
        return [
            *routes_of(Projects(self.projects, self.boards, self.presence, self.limiter)),
            *routes_of(Tasks(self.tasks, self.comments, self.limiter)),
            *routes_of(Boards(self.boards, self.tasks, self.comments, self.limiter)),
            BoardSocket(deps.database, deps.directory, self.presence, deps.hub).route(),
        ]

    @hookimpl
    def wealist_register_jobs(self) -> list[Job]:
        return board_jobs(self.deps, self.due_soon)

    @subscribe(MemberAdded)
    async def on_member_added(self, event: MemberAdded) -> None:
        """Every member of a workspace is a member of its default project, made when the workspace is."""
        await self.projects.ensure_default(
            event.workspace_id, event.user_id, event.role.value, event.via == "CREATED"
        )

    @subscribe(MemberRemoved)
    async def on_member_removed(self, event: MemberRemoved) -> None:
        """Someone who left the workspace leaves its projects."""
        await self.projects.forget_member(event.workspace_id, event.user_id)
