"""What other plugins may ask the user plugin: who people are and where they belong, and what it tells them.

Membership is membership: a public workspace is findable and joinable, but its data is open to its members
only. A route of any plugin guards itself with :data:`MemberOf` (or :data:`ManagerOf`, :data:`OwnerOf`)
in its handler's signature; a stranger gets a 404 for every workspace they do not belong to, whether it
exists or not. The events the user plugin publishes are declared at the end of this module.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from enum import StrEnum
from typing import Annotated, Literal, Protocol

from wealist_core import DomainEvent, cacheable, contract
from wealist_core.errors import Forbidden, NotFound, ValidationProblem
from wealist_core.http import ApiModel, Call, Dependency

__all__ = [
    "MANAGERS",
    "OWNERS",
    "RESTORE_ROUTE",
    "Directory",
    "InvitationSent",
    "JoinRequestCreated",
    "JoinRequestDecided",
    "ManagerOf",
    "MaybeMemberOf",
    "MemberAdded",
    "MemberOf",
    "MemberProfile",
    "MemberRemoved",
    "MemberRoleChanged",
    "Membership",
    "OwnerOf",
    "Role",
    "UserDeleted",
    "UserInfo",
    "UserRestored",
    "WorkspaceDeleted",
    "WorkspaceGuard",
    "check_membership",
    "require_member",
]


#: The one route a deleted account's token may call (``POST /api/users/me/restore``): every other route
#: refuses it with 403 ``ACCOUNT_DELETED`` (auth marks the tokens it issues to a deleted account).
RESTORE_ROUTE = ("POST", "/api/users/me/restore")


class Role(StrEnum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"


#: The roles that manage a workspace: its settings, members, invitations and join requests.
MANAGERS: frozenset[Role] = frozenset({Role.OWNER, Role.ADMIN})
#: The role that may delete or transfer a workspace.
OWNERS: frozenset[Role] = frozenset({Role.OWNER})


class UserInfo(ApiModel):
    user_id: uuid.UUID
    email: str
    name: str
    locale: str = "ko"
    created_at: dt.datetime
    deleted: bool = False


class Membership(ApiModel):
    workspace_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    joined_at: dt.datetime


class MemberProfile(ApiModel):
    """How a member appears in a workspace: their workspace profile, with a short-lived avatar URL."""

    workspace_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    nickname: str
    avatar_url: str | None = None
    role: Role


@contract("user")
class Directory(Protocol):
    """Users and workspace membership, for every other plugin."""

    async def create_user(self, user_id: uuid.UUID, email: str, name: str, locale: str = "ko") -> UserInfo:
        """Create a user (auth calls this at sign-up). ``Conflict`` when the normalised email is taken.
        Pending invitations to that email are turned into memberships."""
        ...

    async def find_user_by_email(self, email: str) -> UserInfo | None:
        """The user with this email (normalised: trimmed, lower-cased), deleted or not."""
        ...

    async def get_users(self, user_ids: list[uuid.UUID]) -> list[UserInfo]:
        """The users that exist among ``user_ids``, in no particular order."""
        ...

    @cacheable
    async def membership(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        """The user's membership in a live workspace, or None (not a member, or no such workspace)."""
        ...

    @cacheable
    async def members(self, workspace_id: uuid.UUID) -> list[Membership]:
        """Every member of a live workspace."""
        ...

    @cacheable
    async def user_workspaces(self, user_id: uuid.UUID) -> list[Membership]:
        """The user's memberships in live workspaces."""
        ...

    @cacheable
    async def member_profiles(
        self, workspace_id: uuid.UUID, user_ids: list[uuid.UUID]
    ) -> list[MemberProfile]:
        """The workspace profiles of those among ``user_ids`` who are members of the live workspace, in no
        particular order (for showing authors, assignees and participants)."""
        ...


def check_membership(
    membership: Membership | None, workspace_id: uuid.UUID, roles: Collection[Role] = ()
) -> Membership:
    """``membership`` when it exists and (if ``roles`` is given) has one of them.

    ``NotFound`` (404, ``WORKSPACE_NOT_FOUND``) without a membership, whether the workspace exists or not;
    ``Forbidden`` (403, ``ROLE_REQUIRED``) when the role is not among ``roles``: the one rule every plugin
    applies, here and in :class:`WorkspaceGuard`."""
    if membership is None:
        raise NotFound(f"No workspace {workspace_id} that you belong to.", code="WORKSPACE_NOT_FOUND")
    if roles and membership.role not in roles:
        allowed = " or ".join(sorted(role.value for role in roles))
        raise Forbidden(f"This needs the role {allowed} in the workspace.", code="ROLE_REQUIRED")
    return membership


async def require_member(
    directory: Directory, workspace_id: uuid.UUID, user_id: uuid.UUID, *, roles: Collection[Role] = ()
) -> Membership:
    """The user's membership of a live workspace, for code outside a route (a socket, a job); routes use
    the guards below. Refuses as :func:`check_membership` does."""
    return check_membership(await directory.membership(workspace_id, user_id), workspace_id, roles)


class WorkspaceGuard(Dependency):
    """The caller's :class:`Membership` of the workspace the request names, with at least one of ``roles``.

    The workspace id is read from ``field`` (its wire name) in the path, else the query, else the body. One
    request asks the Directory once per workspace, however many guards and services ask again."""

    needs_principal = True

    def __init__(
        self, roles: Collection[Role] = (), *, field: str = "workspaceId", optional: bool = False
    ) -> None:
        self.roles = frozenset(roles)
        self.field = field
        self.optional = optional
        self.errors = (401, 403, 404)

    async def resolve(self, call: Call) -> Membership | None:
        workspace_id = call.find(self.field)
        if workspace_id is None:
            if self.optional:
                return None
            raise ValidationProblem(
                f"{self.field} is required.",
                errors=[{"field": self.field, "message": "Field required", "type": "missing"}],
            )
        user_id = call.user_id()
        directory = call.container.contracts.get(Directory)
        membership = await call.remember(
            ("user.membership", workspace_id, user_id), lambda: directory.membership(workspace_id, user_id)
        )
        return check_membership(membership, workspace_id, self.roles)

    def __repr__(self) -> str:
        return f"WorkspaceGuard(roles={sorted(self.roles)}, field={self.field!r})"


#: Any member of the workspace of the request: ``async def list_tasks(self, member: MemberOf, ...)``.
MemberOf = Annotated[Membership, WorkspaceGuard()]
#: Its owner or an admin.
ManagerOf = Annotated[Membership, WorkspaceGuard(MANAGERS)]
#: Its owner.
OwnerOf = Annotated[Membership, WorkspaceGuard(OWNERS)]
#: A member of the workspace the request names, or None when it names none (``?workspaceId=`` omitted).
MaybeMemberOf = Annotated[Membership | None, WorkspaceGuard(optional=True)]


# ------------------------------------------------------------------------------------------------- events
# Published through the user plugin's outbox. Names are carried along (workspace name, actor name) so a
# consumer can write "Ada added you to Apollo" without calling back.


class _WorkspaceEvent(DomainEvent):
    event_key = "workspace_id"

    workspace_id: uuid.UUID
    workspace_name: str


class MemberAdded(_WorkspaceEvent):
    """Someone became a member: by creating the workspace, through an invitation or a join request."""

    event_type = "user.member_added"

    user_id: uuid.UUID
    user_name: str
    role: Role
    actor_id: uuid.UUID
    actor_name: str
    via: Literal["CREATED", "INVITATION", "JOIN_REQUEST"]


class MemberRemoved(_WorkspaceEvent):
    """A member was removed (``REMOVED``) or left (``LEFT``)."""

    event_type = "user.member_removed"

    user_id: uuid.UUID
    user_name: str
    role: Role
    actor_id: uuid.UUID
    actor_name: str
    reason: Literal["REMOVED", "LEFT"]


class MemberRoleChanged(_WorkspaceEvent):
    """A member's role changed; a transfer of ownership sends two, the new owner's and the old owner's."""

    event_type = "user.member_role_changed"

    user_id: uuid.UUID
    user_name: str
    role: Role
    previous_role: Role
    actor_id: uuid.UUID
    actor_name: str


class InvitationSent(_WorkspaceEvent):
    """An address without an account was invited (an existing user is added at once: ``MemberAdded``)."""

    event_type = "user.invitation_sent"

    invitation_id: uuid.UUID
    email: str
    role: Role
    actor_id: uuid.UUID
    actor_name: str


class JoinRequestCreated(_WorkspaceEvent):
    """Someone asked to join; ``admin_ids`` are the owner and admins, who may decide it."""

    event_type = "user.join_request_created"

    request_id: uuid.UUID
    user_id: uuid.UUID
    user_name: str
    status: Literal["PENDING", "APPROVED", "REJECTED"]
    admin_ids: list[uuid.UUID]


class JoinRequestDecided(_WorkspaceEvent):
    """An owner or admin approved or rejected a join request."""

    event_type = "user.join_request_decided"

    request_id: uuid.UUID
    user_id: uuid.UUID
    user_name: str
    status: Literal["PENDING", "APPROVED", "REJECTED"]
    actor_id: uuid.UUID
    actor_name: str


class WorkspaceDeleted(_WorkspaceEvent):
    """The owner deleted the workspace (softly: it answers 404 to everyone)."""

    event_type = "user.workspace_deleted"

    actor_id: uuid.UUID


class UserDeleted(DomainEvent):
    """An account was deleted (softly: hidden until restored within the grace period)."""

    event_type = "user.user_deleted"
    event_key = "user_id"

    user_id: uuid.UUID


class UserRestored(DomainEvent):
    """A deleted account was restored."""

    event_type = "user.user_restored"
    event_key = "user_id"

    user_id: uuid.UUID
