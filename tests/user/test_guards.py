"""The workspace guards of the user plugin's contract, as another plugin's routes use them.

A toy plugin ``guarded`` needs ``user.Directory``; the user plugin's in-memory Directory provides it (counting
the membership questions it is asked), so these tests say what a board or chat route gets from ``MemberOf``,
``ManagerOf``, ``OwnerOf`` and ``MaybeMemberOf``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated

import httpx
import pytest
from wealist_plugins.user.contract import (
    ManagerOf,
    MaybeMemberOf,
    MemberOf,
    Membership,
    OwnerOf,
    Role,
    WorkspaceGuard,
)
from wealist_plugins.user.testing import InMemoryDirectory, InMemoryUserPlugin

from wealist_core import PluginManifest, hookimpl
from wealist_core.http import ApiModel, ApiRoute, Controller, delete, get, post, routes_of
from wealist_core.testing import assert_problem, headers_for


class CountingDirectory(InMemoryDirectory):  # type: ignore[misc]  # plugins are Any to mypy here
    """The in-memory Directory, counting how often it is asked for a membership."""

    def __init__(self) -> None:
        super().__init__()
        self.membership_calls = 0

    async def membership(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        self.membership_calls += 1
        return await super().membership(workspace_id, user_id)


class InQuery(ApiModel):
    workspace_id: uuid.UUID


class MaybeInQuery(ApiModel):
    workspace_id: uuid.UUID | None = None


class InBody(ApiModel):
    workspace_id: uuid.UUID
    title: str = ""


class InProject(ApiModel):
    project_workspace_id: uuid.UUID


class Seen(ApiModel):
    role: Role | None
    workspace_id: uuid.UUID | None = None


ProjectMemberOf = Annotated[Membership, WorkspaceGuard(field="projectWorkspaceId")]


class Spaces(Controller):
    path = "/api/guarded"
    tags = ("guarded",)

    @get("/spaces/{workspaceId}")
    async def read(self, workspaceId: uuid.UUID, member: MemberOf) -> Seen:
        return Seen(role=member.role, workspace_id=member.workspace_id)

    @post("/spaces/{workspaceId}/settings")
    async def configure(self, workspaceId: uuid.UUID, manager: ManagerOf) -> Seen:
        return Seen(role=manager.role)

    @delete("/spaces/{workspaceId}")
    async def remove(self, workspaceId: uuid.UUID, owner: OwnerOf) -> None:
        return None

    @get("/spaces/{workspaceId}/both")
    async def both(self, workspaceId: uuid.UUID, member: MemberOf, manager: ManagerOf) -> Seen:
        assert member == manager
        return Seen(role=manager.role)

    @get("/by-query")
    async def by_query(self, query: InQuery, member: MemberOf) -> Seen:
        return Seen(role=member.role, workspace_id=member.workspace_id)

    @post("/by-body")
    async def by_body(self, body: InBody, member: MemberOf) -> Seen:
        return Seen(role=member.role, workspace_id=member.workspace_id)

    @get("/maybe")
    async def maybe(self, query: MaybeInQuery, member: MaybeMemberOf) -> Seen:
        return Seen(role=member.role if member else None)

    @get("/project")
    async def project(self, query: InProject, member: ProjectMemberOf) -> Seen:
        return Seen(role=member.role, workspace_id=member.workspace_id)


class GuardedPlugin:
    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest("guarded", prefixes=("/api/guarded",), needs=("user.Directory",))

    @hookimpl
    def wealist_register_routes(self) -> list[ApiRoute]:
        return routes_of(Spaces())


@pytest.fixture
def wealist_backend() -> str:
    # The guards touch no database: the embedded backend says all there is to say.
    return "embedded"


@pytest.fixture
def directory() -> CountingDirectory:
    return CountingDirectory()


@pytest.fixture
def wealist_plugins(directory: CountingDirectory) -> Sequence[object]:
    return [InMemoryUserPlugin(directory), GuardedPlugin]


@pytest.fixture
def team(directory: CountingDirectory) -> dict[str, uuid.UUID]:
    """A workspace with its owner, an admin and a plain member; and a stranger."""
    owner, admin, member, stranger = (directory.add_user(n).user_id for n in ("Ada", "Bo", "Cy", "Di"))
    space = directory.add_workspace(owner, members=[member])
    directory.add_member(space, admin, Role.ADMIN)
    return {"space": space, "owner": owner, "admin": admin, "member": member, "stranger": stranger}


# ------------------------------------------------------------------------------------------- members


async def test_member_of_admits_a_member_with_their_membership(
    wealist_client: httpx.AsyncClient, team: dict[str, uuid.UUID]
) -> None:
    answer = await wealist_client.get(
        f"/api/guarded/spaces/{team['space']}", headers=headers_for(team["member"])
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"role": "MEMBER", "workspaceId": str(team["space"])}


async def test_a_stranger_gets_the_same_404_for_an_existing_and_a_missing_workspace(
    wealist_client: httpx.AsyncClient, team: dict[str, uuid.UUID]
) -> None:
    missing = uuid.uuid4()

    existing = await wealist_client.get(
        f"/api/guarded/spaces/{team['space']}", headers=headers_for(team["stranger"])
    )
    nowhere = await wealist_client.get(
        f"/api/guarded/spaces/{missing}", headers=headers_for(team["stranger"])
    )

    first = assert_problem(existing, 404, "WORKSPACE_NOT_FOUND")
    second = assert_problem(nowhere, 404, "WORKSPACE_NOT_FOUND")
    # Nothing but the id tells the two apart: the stranger learns nothing of the workspace's existence.
    assert first["detail"].replace(str(team["space"]), "<id>") == second["detail"].replace(
        str(missing), "<id>"
    )
    assert first["title"] == second["title"]


async def test_a_guarded_route_without_a_caller_is_a_401(
    wealist_client: httpx.AsyncClient, team: dict[str, uuid.UUID]
) -> None:
    assert_problem(await wealist_client.get(f"/api/guarded/spaces/{team['space']}"), 401, "UNAUTHORIZED")


# --------------------------------------------------------------------------------------------- roles


async def test_manager_of_refuses_a_plain_member_and_admits_admins_and_the_owner(
    wealist_client: httpx.AsyncClient, team: dict[str, uuid.UUID]
) -> None:
    url = f"/api/guarded/spaces/{team['space']}/settings"

    member = await wealist_client.post(url, headers=headers_for(team["member"]))
    admin = await wealist_client.post(url, headers=headers_for(team["admin"]))
    owner = await wealist_client.post(url, headers=headers_for(team["owner"]))
    stranger = await wealist_client.post(url, headers=headers_for(team["stranger"]))

    assert_problem(member, 403, "ROLE_REQUIRED")
    assert admin.json() == {"role": "ADMIN", "workspaceId": None}
    assert owner.json()["role"] == "OWNER"
    assert_problem(stranger, 404, "WORKSPACE_NOT_FOUND")  # a stranger is not told the role is missing


async def test_owner_of_refuses_an_admin(
    wealist_client: httpx.AsyncClient, team: dict[str, uuid.UUID]
) -> None:
    url = f"/api/guarded/spaces/{team['space']}"

    admin = await wealist_client.delete(url, headers=headers_for(team["admin"]))
    owner = await wealist_client.delete(url, headers=headers_for(team["owner"]))

    assert_problem(admin, 403, "ROLE_REQUIRED")
    assert owner.status_code == 204


# -------------------------------------------------------------------------------- where the id comes from


async def test_the_workspace_id_is_found_in_the_query(
    wealist_client: httpx.AsyncClient, team: dict[str, uuid.UUID]
) -> None:
    mine = await wealist_client.get(
        "/api/guarded/by-query",
        params={"workspaceId": str(team["space"])},
        headers=headers_for(team["owner"]),
    )
    theirs = await wealist_client.get(
        "/api/guarded/by-query",
        params={"workspaceId": str(team["space"])},
        headers=headers_for(team["stranger"]),
    )

    assert mine.json() == {"role": "OWNER", "workspaceId": str(team["space"])}
    assert_problem(theirs, 404, "WORKSPACE_NOT_FOUND")


async def test_the_workspace_id_is_found_in_the_body(
    wealist_client: httpx.AsyncClient, team: dict[str, uuid.UUID]
) -> None:
    body = {"workspaceId": str(team["space"]), "title": "x"}

    mine = await wealist_client.post("/api/guarded/by-body", json=body, headers=headers_for(team["member"]))
    theirs = await wealist_client.post(
        "/api/guarded/by-body", json=body, headers=headers_for(team["stranger"])
    )

    assert mine.json() == {"role": "MEMBER", "workspaceId": str(team["space"])}
    assert_problem(theirs, 404, "WORKSPACE_NOT_FOUND")


async def test_a_guard_reads_the_workspace_id_under_the_name_it_is_given(
    wealist_client: httpx.AsyncClient, team: dict[str, uuid.UUID]
) -> None:
    answer = await wealist_client.get(
        "/api/guarded/project",
        params={"projectWorkspaceId": str(team["space"])},
        headers=headers_for(team["admin"]),
    )

    assert answer.json() == {"role": "ADMIN", "workspaceId": str(team["space"])}


async def test_maybe_member_of_is_none_without_a_workspace_id_and_guards_with_one(
    wealist_client: httpx.AsyncClient, team: dict[str, uuid.UUID], directory: CountingDirectory
) -> None:
    calls = directory.membership_calls

    without = await wealist_client.get("/api/guarded/maybe", headers=headers_for(team["stranger"]))
    asked_without = directory.membership_calls - calls
    member = await wealist_client.get(
        "/api/guarded/maybe", params={"workspaceId": str(team["space"])}, headers=headers_for(team["member"])
    )
    stranger = await wealist_client.get(
        "/api/guarded/maybe",
        params={"workspaceId": str(team["space"])},
        headers=headers_for(team["stranger"]),
    )

    assert without.status_code == 200, without.text
    assert without.json() == {"role": None, "workspaceId": None}
    assert asked_without == 0, "no workspace named, nothing asked"
    assert member.json()["role"] == "MEMBER"
    assert_problem(stranger, 404, "WORKSPACE_NOT_FOUND")


# ---------------------------------------------------------------------------------------------- memo


async def test_two_guards_on_one_route_ask_the_directory_once_per_request(
    wealist_client: httpx.AsyncClient, team: dict[str, uuid.UUID], directory: CountingDirectory
) -> None:
    url = f"/api/guarded/spaces/{team['space']}/both"
    before = directory.membership_calls

    first = await wealist_client.get(url, headers=headers_for(team["admin"]))
    after_first = directory.membership_calls - before
    second = await wealist_client.get(url, headers=headers_for(team["admin"]))

    assert first.json()["role"] == "ADMIN" and second.status_code == 200
    assert after_first == 1, "MemberOf and ManagerOf share one answer"
    assert directory.membership_calls - before == 2, "the memo lasts one request, not longer"


async def test_a_change_of_role_is_seen_by_the_next_request(
    wealist_client: httpx.AsyncClient, team: dict[str, uuid.UUID], directory: CountingDirectory
) -> None:
    url = f"/api/guarded/spaces/{team['space']}/settings"
    assert_problem(await wealist_client.post(url, headers=headers_for(team["member"])), 403, "ROLE_REQUIRED")

    directory.add_member(team["space"], team["member"], Role.ADMIN)

    assert (await wealist_client.post(url, headers=headers_for(team["member"]))).json()["role"] == "ADMIN"
