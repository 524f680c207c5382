"""Test helpers of the user plugin, for its own suite and for every plugin whose tests need people and
workspaces.

- :class:`InMemoryDirectory` is a complete ``user.Directory`` held in dictionaries, and
  :class:`InMemoryUserPlugin` provides it: the unit and route tests of another plugin (board, chat, ...) place
  users, workspaces and members directly, without the user plugin's tables or routes.
- :class:`Community` makes people and workspaces on the real user plugin, as its users do: people through
  the ``Directory`` contract (what auth calls at sign-up), workspaces and members through its HTTP API,
  every request authenticated with a test token (:func:`wealist_core.testing.headers_for`).

Both are real implementations of the contract's rules (normalised emails, ``EMAIL_TAKEN``, only live
workspaces answer), not recorders of calls.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from wealist_plugins.user.access import normalise_email
from wealist_plugins.user.contract import Directory, MemberProfile, Membership, Role, UserInfo

from wealist_core import Conflict, Container, PluginManifest, Settings, hookimpl, utcnow
from wealist_core.testing import EventRecorder, headers_for, plugin_named

__all__ = ["Community", "InMemoryDirectory", "InMemoryUserPlugin", "Person"]


@dataclass
class _Workspace:
    name: str
    deleted: bool = False


class InMemoryDirectory:
    """A ``user.Directory`` whose users, workspaces and members a test places, with any creation time.

    ``users`` may be written directly (``directory.users[id] = UserInfo(...)``) to place a user as another
    process would have created it."""

    def __init__(self) -> None:
        self.users: dict[uuid.UUID, UserInfo] = {}
        self.workspaces: dict[uuid.UUID, _Workspace] = {}
        self.memberships: dict[tuple[uuid.UUID, uuid.UUID], Membership] = {}
        self.nicknames: dict[tuple[uuid.UUID, uuid.UUID], str] = {}

    # ---------------------------------------------------------------------------------- the contract

    async def create_user(self, user_id: uuid.UUID, email: str, name: str, locale: str = "ko") -> UserInfo:
        email = normalise_email(email)
        if any(user.email == email for user in self.users.values()):
            raise Conflict("An account with this email exists already.", code="EMAIL_TAKEN")
        if user_id in self.users:
            raise Conflict(f"A user with the id {user_id} exists already.", code="USER_EXISTS")
        info = UserInfo(user_id=user_id, email=email, name=name, locale=locale, created_at=utcnow())
        self.users[user_id] = info
        return info

    async def find_user_by_email(self, email: str) -> UserInfo | None:
        email = email.strip().lower()
        return next((user for user in self.users.values() if user.email == email), None)

    async def get_users(self, user_ids: list[uuid.UUID]) -> list[UserInfo]:
        return [self.users[i] for i in dict.fromkeys(user_ids) if i in self.users]

    async def membership(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        if not self._live(workspace_id):
            return None
        return self.memberships.get((workspace_id, user_id))

    async def members(self, workspace_id: uuid.UUID) -> list[Membership]:
        if not self._live(workspace_id):
            return []
        return [m for (ws, _user), m in self.memberships.items() if ws == workspace_id]

    async def user_workspaces(self, user_id: uuid.UUID) -> list[Membership]:
        user = self.users.get(user_id)
        if user is None or user.deleted:
            return []
        return [m for (ws, uid), m in self.memberships.items() if uid == user_id and self._live(ws)]

    async def member_profiles(
        self, workspace_id: uuid.UUID, user_ids: list[uuid.UUID]
    ) -> list[MemberProfile]:
        wanted = set(user_ids)
        return [
            MemberProfile(
                workspace_id=workspace_id,
                user_id=m.user_id,
                name=self.users[m.user_id].name,
                nickname=self.nicknames.get((workspace_id, m.user_id), self.users[m.user_id].name[:50]),
                role=m.role,
            )
            for m in await self.members(workspace_id)
            if m.user_id in wanted and m.user_id in self.users
        ]

    # ------------------------------------------------------------------------------------ arranging

    def add_user(self, name: str = "Ada", email: str | None = None, **fields: Any) -> UserInfo:
        """Place a user (``user_id``, ``created_at``, ``locale``, ``deleted`` may be given)."""
        user_id = fields.pop("user_id", None) or uuid.uuid4()
        email = email or f"{name.lower().replace(' ', '.')}.{user_id.hex[:8]}@example.com"
        info = UserInfo(
            user_id=user_id,
            email=email.lower(),
            name=name,
            created_at=fields.pop("created_at", utcnow()),
            **fields,
        )
        self.users[user_id] = info
        return info

    def add_workspace(
        self, owner: uuid.UUID, name: str = "Apollo", members: Iterable[uuid.UUID] = ()
    ) -> uuid.UUID:
        """A live workspace owned by ``owner``, with ``members`` as plain members; its id."""
        workspace_id = uuid.uuid4()
        self.workspaces[workspace_id] = _Workspace(name)
        self.add_member(workspace_id, owner, Role.OWNER)
        for user_id in members:
            self.add_member(workspace_id, user_id)
        return workspace_id

    def add_member(
        self,
        workspace_id: uuid.UUID,
        user_id: uuid.UUID,
        role: Role = Role.MEMBER,
        nickname: str | None = None,
    ) -> Membership:
        """Make ``user_id`` a member (or change their role)."""
        if workspace_id not in self.workspaces:
            raise KeyError(f"no workspace {workspace_id}: add_workspace() first")
        membership = Membership(workspace_id=workspace_id, user_id=user_id, role=role, joined_at=utcnow())
        self.memberships[(workspace_id, user_id)] = membership
        if nickname is not None:
            self.nicknames[(workspace_id, user_id)] = nickname
        return membership

    def remove_member(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
        self.memberships.pop((workspace_id, user_id), None)

    def delete_workspace(self, workspace_id: uuid.UUID) -> None:
        """Soft-delete, as the user plugin does: the workspace answers as if it did not exist."""
        self.workspaces[workspace_id].deleted = True

    def _live(self, workspace_id: uuid.UUID) -> bool:
        workspace = self.workspaces.get(workspace_id)
        return workspace is not None and not workspace.deleted


class InMemoryUserPlugin:
    """Provides ``user.Directory`` from an :class:`InMemoryDirectory` (``plugin.directory``), under the
    user plugin's name, so a plugin that needs the contract starts without the user plugin."""

    def __init__(self, directory: InMemoryDirectory | None = None) -> None:
        self.directory = directory or InMemoryDirectory()

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(name="user", provides=("user.Directory",))

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        container.contracts.provide(Directory, self.directory)


@dataclass(frozen=True)
class Person:
    """Someone a test acts as: ``client.get(url, headers=ada.headers)``."""

    id: uuid.UUID
    email: str
    name: str

    @property
    def headers(self) -> dict[str, str]:
        return headers_for(self.id)


class Community:
    """People and workspaces made on the real user plugin, and what it sent out (events, mail).

    ``app`` runs the user plugin and the test authenticator (``wealist_app`` of :mod:`wealist_core.testing`
    does); ``client`` talks to it."""

    def __init__(self, app: Starlette, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client
        self.container: Container = app.state.wealist.container
        self.directory: Directory = self.container.contracts.get(Directory)

    async def person(self, name: str = "Ada", email: str | None = None) -> Person:
        """A new user, created through ``Directory.create_user`` as auth does at sign-up."""
        user_id = uuid.uuid4()
        email = email or f"{name.lower().replace(' ', '.')}.{user_id.hex[:8]}@example.com"
        info = await self.directory.create_user(user_id, email, name)
        return Person(info.user_id, info.email, info.name)

    async def workspace(self, owner: Person, name: str = "Apollo", **settings: Any) -> dict[str, Any]:
        """A workspace ``owner`` creates through ``POST /api/workspaces``; its JSON."""
        answer = await self.client.post(
            "/api/workspaces", headers=owner.headers, json={"name": name, **settings}
        )
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    async def add(self, workspace: dict[str, Any], by: Person, person: Person, role: str = "MEMBER") -> None:
        """``by`` invites ``person``, who has an account, so is added at once with ``role``."""
        answer = await self.client.post(
            f"/api/workspaces/{workspace['workspaceId']}/invitations",
            headers=by.headers,
            json={"email": person.email, "role": role},
        )
        assert answer.status_code == 201 and answer.json()["status"] == "ADDED", answer.text

    async def team(
        self, owner: str = "Ada", *members: str, name: str = "Apollo"
    ) -> tuple[dict[str, Any], list[Person]]:
        """A workspace of ``owner`` with ``members`` added: ``(workspace, [owner, *members])``."""
        people = [await self.person(owner), *[await self.person(m) for m in members]]
        space = await self.workspace(people[0], name)
        for member in people[1:]:
            await self.add(space, people[0], member)
        return space, people

    @property
    def mails(self) -> list[Any]:
        """What the user plugin mailed, newest last (the embedded ``console://`` mailer keeps them)."""
        mailer = self.container.mailer("user")
        return list(getattr(mailer, "outbox", ()))  # the console mailer's; a real one sends instead

    @property
    def recorder(self) -> EventRecorder:
        recorder = plugin_named(self.app, "test_events")
        assert isinstance(recorder, EventRecorder)
        return recorder

    def events(self, event_type: str) -> list[dict[str, Any]]:
        """The payloads of the ``event_type`` events received so far."""
        return [dict(e.payload) for e in self.recorder.received(event_type)]

    async def wait_for_event(self, event_type: str, **match: Any) -> dict[str, Any]:
        """The payload of the first ``event_type`` event whose payload has ``match``; fails after 5 s."""
        return dict((await self.recorder.wait_for(event_type, **match)).payload)
