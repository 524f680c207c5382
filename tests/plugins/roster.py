"""The roster toy: provides ``roster.Roster`` with one cacheable method, and publishes ``roster.role_changed``
(which drops cached answers) and ``roster.noted`` (which does not) through its outbox.

Its routes change a role (``PUT /api/roster/{team}/{person}``), publish a note (``POST /api/roster/notes``)
and tell how many ``role`` questions it answered (``GET /api/roster/served``). The reader toy asks it.
"""

from __future__ import annotations

import os

from sqlalchemy import MetaData
from starlette.routing import BaseRoute

from tests.plugins.roster_contract import Roster
from wealist_core import ModelRegistration, PluginManifest, Settings, hookimpl
from wealist_core.container import Container
from wealist_core.http.models import ApiModel
from wealist_core.http.routing import ApiRoute

__all__ = ["ReaderPlugin", "RosterPlugin", "RosterService"]


class RoleIn(ApiModel):
    role: str


class Count(ApiModel):
    count: int


class Seen(ApiModel):
    """A role as the reader's process got it."""

    role: str | None
    served_by: int


class RosterService:
    """The implementation of :class:`Roster`."""

    def __init__(self) -> None:
        self.roles: dict[tuple[str, str], str] = {}
        self.answered = 0

    async def role(self, team: str, person: str) -> str | None:
        self.answered += 1
        return self.roles.get((team, person))

    async def served(self) -> int:
        return self.answered


class RosterPlugin:
    """Provides ``roster.Roster``; its events go through its outbox, as a real provider's do."""

    def __init__(self) -> None:
        self.service = RosterService()
        self.container: Container | None = None

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="roster",
            version="1.0.0",
            prefixes=("/api/roster",),
            ports=("database",),
            provides=("roster.Roster",),
            publishes=("roster.role_changed", "roster.noted"),
        )

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        self.container = container
        container.contracts.provide(Roster, self.service)

    @hookimpl
    def wealist_register_models(self) -> list[ModelRegistration]:
        return [ModelRegistration("roster", MetaData())]  # no table of its own: only the outbox

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        async def set_role(team: str, person: str, body: RoleIn) -> None:
            """Give the person a role in the team."""
            assert self.container is not None
            async with self.container.database("roster").unit_of_work(plugin="roster") as uow:
                self.service.roles[(team, person)] = body.role
                uow.emit("roster.role_changed", {"team": team, "person": person, "role": body.role})

        async def note() -> None:
            """Publish an event that concerns no cached answer."""
            assert self.container is not None
            async with self.container.database("roster").unit_of_work(plugin="roster") as uow:
                uow.emit("roster.noted", {"text": "nothing changed"})

        async def served() -> Count:
            """How many role questions this process answered."""
            return Count(count=self.service.answered)

        return [
            ApiRoute(
                "/api/roster/{team}/{person}",
                set_role,
                methods=("PUT",),
                body=RoleIn,
                status_code=204,
                auth=False,
            ),
            ApiRoute("/api/roster/notes", note, methods=("POST",), status_code=204, auth=False),
            ApiRoute("/api/roster/served", served, auth=False, response=Count),
        ]


class ReaderPlugin:
    """Asks ``roster.Roster`` once per request, as a guarded read asks the Directory: like a guard, it asks
    the container for the contract when a request comes, not in ``wealist_configure``."""

    container: Container

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="reader", version="1.0.0", prefixes=("/api/reader",), needs=("roster.Roster",)
        )

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        self.container = container

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        async def seen(team: str, person: str) -> Seen:
            """The person's role, as this process sees it."""
            roster = self.container.contracts.get(Roster)
            return Seen(role=await roster.role(team, person), served_by=os.getpid())

        return [ApiRoute("/api/reader/{team}/{person}", seen, auth=False, response=Seen)]
