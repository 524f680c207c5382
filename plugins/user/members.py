"""Members and roles: list them, change a role, remove a member or leave.

Roles: the one ``OWNER`` (changed only by transferring), at most ``max_admins`` ``ADMIN``\\s, and
``MEMBER``\\s. The owner manages everyone; an admin promotes members, demotes themself and removes
members; a member manages no one but may leave.
"""

from __future__ import annotations

import uuid

from wealist_plugins.user.access import actor, locked
from wealist_plugins.user.avatars import AvatarUrls
from wealist_plugins.user.contract import MemberRemoved, MemberRoleChanged, Membership, Role
from wealist_plugins.user.joining import admin_limit_reached
from wealist_plugins.user.models import Member, Profile, User
from wealist_plugins.user.options import UserOptions
from wealist_plugins.user.repository import UserRepository
from wealist_plugins.user.schemas import MemberOut

from wealist_core import Clock, Conflict, Forbidden, NotFound, UnitOfWork, utcnow
from wealist_core.http import Page
from wealist_core.pagination import PageQuery

__all__ = ["MemberService"]


def _member_not_found(user_id: uuid.UUID) -> NotFound:
    return NotFound(f"No member {user_id} in this workspace.", code="MEMBER_NOT_FOUND")


class MemberService:
    """Who belongs to a workspace, with which role."""

    def __init__(self, options: UserOptions, avatars: AvatarUrls, *, clock: Clock = utcnow) -> None:
        self.options = options
        self.avatars = avatars
        self.clock = clock

    async def _out(self, member: Member, user: User, profile: Profile | None) -> MemberOut:
        return MemberOut(
            user_id=user.id,
            name=user.name,
            role=Role(member.role),
            nickname=profile.nickname if profile else user.name[:50],
            avatar_url=await self.avatars.url(profile.avatar_key if profile else None),
            joined_at=member.joined_at,
        )

    async def list(self, uow: UnitOfWork, member: Membership, query: PageQuery) -> Page[MemberOut]:
        part = await UserRepository(uow.session).members_page(member.workspace_id, query)
        items = [await self._out(*row) for row in part.rows]
        return Page[MemberOut](items=items, next_cursor=part.next_cursor)

    async def change_role(
        self, uow: UnitOfWork, manager: Membership, target_id: uuid.UUID, role: Role
    ) -> MemberOut:
        repo = UserRepository(uow.session)
        me = await actor(repo, manager.user_id)
        workspace, mine = await locked(repo, manager)
        if role is Role.OWNER:
            raise Forbidden(
                "OWNER is never assigned: transfer the ownership instead.", code="OWNER_NOT_ASSIGNABLE"
            )
        target = await repo.live_membership(workspace.id, target_id)
        user = await repo.user(target_id)
        if target is None or user is None:
            raise _member_not_found(target_id)
        if target.role == Role.OWNER:
            raise Conflict(
                "The owner's role cannot change; the owner may transfer the ownership.",
                code="OWNER_ROLE_FIXED",
            )
        if mine.role == Role.ADMIN and target.role == Role.ADMIN and target_id != me.id:
            raise Forbidden("Only the owner may change another admin's role.", code="OWNER_REQUIRED")
        previous = target.role
        if previous != role.value:
            if role is Role.ADMIN and await admin_limit_reached(repo, workspace, self.options.max_admins):
                raise Conflict(
                    f"A workspace has at most {self.options.max_admins} admins.", code="ADMIN_LIMIT"
                )
            target.role = role.value
            uow.emit(
                MemberRoleChanged(
                    workspace_id=workspace.id,
                    workspace_name=workspace.name,
                    user_id=user.id,
                    user_name=user.name,
                    role=role,
                    previous_role=Role(previous),
                    actor_id=me.id,
                    actor_name=me.name,
                )
            )
            await repo.flush()
        return await self._out(target, user, await repo.profile(user.id, workspace.id))

    async def remove(self, uow: UnitOfWork, member: Membership, target_id: uuid.UUID) -> None:
        """Remove a member (owner and admins), or leave when ``target_id`` is the caller."""
        repo = UserRepository(uow.session)
        me = await actor(repo, member.user_id)
        workspace, mine = await locked(repo, member)
        leaving = target_id == me.id
        if leaving:
            if mine.role == Role.OWNER:
                raise Conflict(
                    "The owner cannot leave: transfer the ownership to a member first.",
                    code="OWNER_CANNOT_LEAVE",
                )
            target, user = mine, me
        else:
            if mine.role == Role.MEMBER:
                raise Forbidden("Only the owner and admins may remove members.", code="ROLE_REQUIRED")
            found = await repo.live_membership(workspace.id, target_id)
            other = await repo.user(target_id)
            if found is None or other is None:
                raise _member_not_found(target_id)
            target, user = found, other
            if target.role == Role.OWNER:
                raise Conflict("The owner cannot be removed.", code="OWNER_IMMUTABLE")
            if mine.role == Role.ADMIN and target.role == Role.ADMIN:
                raise Forbidden("Only the owner may remove an admin.", code="OWNER_REQUIRED")
        await repo.delete(target)
        uow.emit(
            MemberRemoved(
                workspace_id=workspace.id,
                workspace_name=workspace.name,
                user_id=user.id,
                user_name=user.name,
                role=Role(target.role),
                actor_id=me.id,
                actor_name=me.name,
                reason="LEFT" if leaving else "REMOVED",
            )
        )
