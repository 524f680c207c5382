"""Adding members: the one path every way of joining takes (creating a workspace, an invitation, a join
request, signing up with a pending invitation), so profiles, default workspaces and events never differ."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.exc import IntegrityError
from wealist_plugins.user.contract import MemberAdded, Role
from wealist_plugins.user.models import DEFAULT_SCOPE, Member, Profile, User, Workspace
from wealist_plugins.user.repository import UserRepository

from wealist_core import Conflict, UnitOfWork, utcnow

__all__ = ["Via", "add_member", "admin_limit_reached", "already_member"]

Via = Literal["CREATED", "INVITATION", "JOIN_REQUEST"]


def already_member(user: User, workspace: Workspace) -> Conflict:
    return Conflict(f"{user.email} is already a member of {workspace.name}.", code="ALREADY_MEMBER")


async def admin_limit_reached(repo: UserRepository, workspace: Workspace, max_admins: int) -> bool:
    return await repo.count_role(workspace.id, Role.ADMIN.value) >= max_admins


async def add_member(
    uow: UnitOfWork,
    repo: UserRepository,
    workspace: Workspace,
    user: User,
    role: Role,
    *,
    actor: User,
    via: Via,
) -> Member:
    """Make ``user`` a member with ``role``: their workspace profile starts as a copy of their default
    one, the workspace becomes their default if they had none, and ``user.member_added`` is emitted.
    ``Conflict`` (``ALREADY_MEMBER``) when they belong already. Role limits are the caller's to check."""
    if await repo.member(workspace.id, user.id) is not None:
        raise already_member(user, workspace)
    member = Member(workspace_id=workspace.id, user_id=user.id, role=role.value, joined_at=utcnow())
    repo.add(member)
    default = await repo.profile(user.id, DEFAULT_SCOPE)
    if default is None:  # every member has a default profile, whatever created their account
        default = Profile(user_id=user.id, workspace_id=DEFAULT_SCOPE, nickname=user.name[:50])
        repo.add(default)
    if await repo.profile(user.id, workspace.id) is None:
        repo.add(
            Profile(
                user_id=user.id,
                workspace_id=workspace.id,
                nickname=default.nickname,
                avatar_key=default.avatar_key,
            )
        )
    if user.default_workspace_id is None:
        user.default_workspace_id = workspace.id
    try:
        await repo.flush()
    except IntegrityError:  # a concurrent request added them first
        raise already_member(user, workspace) from None
    uow.emit(
        MemberAdded(
            workspace_id=workspace.id,
            workspace_name=workspace.name,
            user_id=user.id,
            user_name=user.name,
            role=role,
            actor_id=actor.id,
            actor_name=actor.name,
            via=via,
        )
    )
    return member
