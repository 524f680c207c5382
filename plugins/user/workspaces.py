"""Workspaces: create, list mine, read, change settings, delete (softly), search public ones, transfer."""

from __future__ import annotations

import uuid

from wealist_plugins.user.access import actor, locked
from wealist_plugins.user.contract import MemberRoleChanged, Membership, Role, WorkspaceDeleted
from wealist_plugins.user.joining import add_member, admin_limit_reached
from wealist_plugins.user.models import Member, Workspace
from wealist_plugins.user.options import UserOptions
from wealist_plugins.user.repository import UserRepository
from wealist_plugins.user.schemas import (
    SearchQuery,
    WorkspaceIn,
    WorkspaceOut,
    WorkspacePatch,
    WorkspacePublic,
)

from wealist_core import Clock, Conflict, NotFound, UnitOfWork, utcnow
from wealist_core.http import Page
from wealist_core.pagination import PageQuery

__all__ = ["WorkspaceService", "workspace_out"]


def workspace_out(workspace: Workspace, role: str) -> WorkspaceOut:
    return WorkspaceOut(
        workspace_id=workspace.id,
        name=workspace.name,
        description=workspace.description,
        is_public=workspace.is_public,
        requires_approval=workspace.requires_approval,
        only_admins_invite=workspace.only_admins_invite,
        owner_id=workspace.owner_id,
        created_at=workspace.created_at,
        my_role=Role(role),
    )


class WorkspaceService:
    """Workspaces and their settings. Membership and roles are checked by the routes' guards; each method
    works in the request's unit of work."""

    def __init__(self, options: UserOptions, *, clock: Clock = utcnow) -> None:
        self.options = options
        self.clock = clock

    async def create(self, uow: UnitOfWork, user_id: uuid.UUID, body: WorkspaceIn) -> WorkspaceOut:
        repo = UserRepository(uow.session)
        user = await actor(repo, user_id)
        now = self.clock()
        workspace = Workspace(
            id=uuid.uuid4(),
            name=body.name,
            name_key=body.name.casefold(),
            description=body.description,
            is_public=body.is_public,
            requires_approval=body.requires_approval,
            only_admins_invite=body.only_admins_invite,
            owner_id=user.id,
            created_at=now,
            updated_at=now,
        )
        repo.add(workspace)
        await repo.flush()
        await add_member(uow, repo, workspace, user, Role.OWNER, actor=user, via="CREATED")
        return workspace_out(workspace, Role.OWNER)

    async def list_mine(self, uow: UnitOfWork, user_id: uuid.UUID, query: PageQuery) -> Page[WorkspaceOut]:
        repo = UserRepository(uow.session)
        await actor(repo, user_id)
        part = await repo.memberships_page(user_id, query)
        items = [workspace_out(w, m.role) for m, w in part.rows]
        return Page[WorkspaceOut](items=items, next_cursor=part.next_cursor)

    async def get(self, uow: UnitOfWork, member: Membership) -> WorkspaceOut:
        workspace, _row = await locked(UserRepository(uow.session), member, for_update=False)
        return workspace_out(workspace, member.role)

    async def update(self, uow: UnitOfWork, manager: Membership, patch: WorkspacePatch) -> WorkspaceOut:
        workspace, _row = await locked(UserRepository(uow.session), manager)
        for field in patch.model_fields_set:
            value = getattr(patch, field)
            setattr(workspace, field, "" if value is None else value)  # only description may be null
            if field == "name":
                workspace.name_key = value.casefold()
        workspace.updated_at = self.clock()
        await uow.session.flush()
        return workspace_out(workspace, manager.role)

    async def delete(self, uow: UnitOfWork, owner: Membership) -> None:
        workspace, _row = await locked(UserRepository(uow.session), owner)
        workspace.deleted_at = self.clock()
        uow.emit(
            WorkspaceDeleted(workspace_id=workspace.id, workspace_name=workspace.name, actor_id=owner.user_id)
        )

    async def search(self, uow: UnitOfWork, user_id: uuid.UUID, query: SearchQuery) -> Page[WorkspacePublic]:
        repo = UserRepository(uow.session)
        await actor(repo, user_id)
        part = await repo.search_public(query.q.casefold(), query)
        items = [
            WorkspacePublic(
                workspace_id=w.id,
                name=w.name,
                description=w.description,
                requires_approval=w.requires_approval,
                created_at=w.created_at,
            )
            for w in part.rows
        ]
        return Page[WorkspacePublic](items=items, next_cursor=part.next_cursor)

    async def transfer(self, uow: UnitOfWork, owner: Membership, new_owner_id: uuid.UUID) -> WorkspaceOut:
        repo = UserRepository(uow.session)
        me = await actor(repo, owner.user_id)
        workspace, member = await locked(repo, owner)
        if new_owner_id == owner.user_id:
            raise Conflict("You own this workspace already.", code="ALREADY_OWNER")
        target = await repo.live_membership(workspace.id, new_owner_id)
        new_owner = await repo.user(new_owner_id)
        if target is None or new_owner is None:
            raise NotFound(f"No member {new_owner_id} in this workspace.", code="MEMBER_NOT_FOUND")
        # The old owner becomes an admin: that seat must exist unless the new owner frees one.
        if target.role != Role.ADMIN and await admin_limit_reached(repo, workspace, self.options.max_admins):
            raise Conflict(
                f"The workspace has {self.options.max_admins} admins, the most it may have, and you "
                "would become one: transfer to an admin, or make an admin a member first.",
                code="ADMIN_LIMIT",
            )
        changes: list[tuple[Member, str, str]] = [
            (target, target.role, Role.OWNER.value),
            (member, member.role, Role.ADMIN.value),
        ]
        target.role, member.role = Role.OWNER.value, Role.ADMIN.value
        workspace.owner_id = new_owner_id
        workspace.updated_at = self.clock()
        names = {owner.user_id: me.name, new_owner_id: new_owner.name}
        for changed, previous, role in changes:
            uow.emit(
                MemberRoleChanged(
                    workspace_id=workspace.id,
                    workspace_name=workspace.name,
                    user_id=changed.user_id,
                    user_name=names[changed.user_id],
                    role=Role(role),
                    previous_role=Role(previous),
                    actor_id=me.id,
                    actor_name=me.name,
                )
            )
        await repo.flush()
        return workspace_out(workspace, Role.ADMIN)
