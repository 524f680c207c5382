"""The consumer plugin of ``guarded_read.py``: one route guarded by the user plugin's ``MemberOf``.

``GET /api/guarded/{workspaceId}`` answers the caller's role in the workspace: the guard asks
``Directory.membership`` once per request (the per-request memo cannot spare it: every request is a new
one), which in the split shape is an HTTP contract call to the user plugin's process unless the answer is
in the contract cache. A board or chat read starts the same way.
"""

from __future__ import annotations

import uuid

from wealist_plugins.user.contract import MemberOf

from wealist_core import PluginManifest, hookimpl
from wealist_core.http import ApiModel, ApiRoute, Controller, get, routes_of


class Access(ApiModel):
    """What the guard found."""

    workspace_id: uuid.UUID
    role: str


class Guarded(Controller):
    """``/api/guarded``: reads open to the members of a workspace."""

    path = "/api/guarded"
    tags = ("guarded",)

    @get("/{workspaceId}")
    async def read(self, workspaceId: uuid.UUID, member: MemberOf) -> Access:
        """My role in a workspace I belong to."""
        return Access(workspace_id=member.workspace_id, role=member.role)


class GuardedPlugin:
    """A guarded read and nothing else: what the contract call costs is what the bench sees."""

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="guarded", version="0.0.0", prefixes=("/api/guarded",), needs=("user.Directory",)
        )

    @hookimpl
    def wealist_register_routes(self) -> list[ApiRoute]:
        return routes_of(Guarded())
