"""What other plugins may ask the user plugin: who people are and where they belong.

Membership is membership: a public workspace is findable and joinable, but its data is open to its members
only. Every plugin checks access with :meth:`Directory.membership` (or ``require_member``) and answers 404
for a workspace the caller does not belong to.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from enum import StrEnum
from typing import Protocol

from wealist_core.contracts import contract
from wealist_core.errors import Forbidden, NotFound
from wealist_core.http.models import ApiModel

__all__ = ["Directory", "MemberProfile", "Membership", "Role", "UserInfo", "require_member"]


class Role(StrEnum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"


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

    async def membership(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        """The user's membership in a live workspace, or None (not a member, or no such workspace)."""
        ...

    async def members(self, workspace_id: uuid.UUID) -> list[Membership]:
        """Every member of a live workspace."""
        ...

    async def user_workspaces(self, user_id: uuid.UUID) -> list[Membership]:
        """The user's memberships in live workspaces."""
        ...

    async def member_profiles(
        self, workspace_id: uuid.UUID, user_ids: list[uuid.UUID]
    ) -> list[MemberProfile]:
        """The workspace profiles of those among ``user_ids`` who are members of the live workspace, in no
        particular order (for showing authors, assignees and participants)."""
        ...


async def require_member(
    directory: Directory, workspace_id: uuid.UUID, user_id: uuid.UUID, *, roles: Collection[Role] = ()
) -> Membership:
    """The user's membership of a live workspace, for a route of another plugin to start with.

    ``NotFound`` (404, code ``WORKSPACE_NOT_FOUND``) when they do not belong, whether the workspace exists or
    not; ``Forbidden`` (403, code ``ROLE_REQUIRED``) when ``roles`` is given and their role is not among them.
    """
    membership = await directory.membership(workspace_id, user_id)
    if membership is None:
        raise NotFound(f"No workspace {workspace_id} that you belong to.", code="WORKSPACE_NOT_FOUND")
    if roles and membership.role not in roles:
        allowed = " or ".join(sorted(role.value for role in roles))
        raise Forbidden(f"This needs the role {allowed} in the workspace.", code="ROLE_REQUIRED")
    return membership
