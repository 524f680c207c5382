"""Join requests for public workspaces: pending until an owner or admin decides, or approved at once when
the workspace does not require approval. A private workspace is a 404 to anyone outside it."""

from __future__ import annotations

import uuid

from wealist_plugins.user.access import actor, locked, workspace_not_found
from wealist_plugins.user.contract import MANAGERS, JoinRequestCreated, JoinRequestDecided, Membership, Role
from wealist_plugins.user.joining import add_member, already_member
from wealist_plugins.user.models import JoinRequest, User
from wealist_plugins.user.repository import UserRepository
from wealist_plugins.user.schemas import JoinRequestIn, JoinRequestOut, JoinRequestQuery, JoinStatus

from wealist_core import Clock, Conflict, NotFound, UnitOfWork, utcnow
from wealist_core.http import Page

__all__ = ["JoinRequestService"]


def _out(request: JoinRequest, user: User) -> JoinRequestOut:
    return JoinRequestOut(
        request_id=request.id,
        workspace_id=request.workspace_id,
        user_id=request.user_id,
        name=user.name,
        message=request.message,
        status=JoinStatus(request.status),
        created_at=request.created_at,
        decided_at=request.decided_at,
        decided_by=request.decided_by,
    )


class JoinRequestService:
    """Ask to join a public workspace; owners and admins list and decide."""

    def __init__(self, *, clock: Clock = utcnow) -> None:
        self.clock = clock

    async def create(
        self, uow: UnitOfWork, user_id: uuid.UUID, workspace_id: uuid.UUID, body: JoinRequestIn
    ) -> JoinRequestOut:
        repo = UserRepository(uow.session)
        me = await actor(repo, user_id)
        workspace = await repo.workspace(workspace_id, for_update=True)
        if workspace is None:
            raise workspace_not_found(workspace_id)
        if await repo.member(workspace_id, user_id) is not None:
            raise already_member(me, workspace)
        if not workspace.is_public:
            raise workspace_not_found(workspace_id)
        if await repo.pending_join_request(workspace_id, user_id) is not None:
            raise Conflict("You have asked to join this workspace already.", code="JOIN_REQUEST_PENDING")
        now = self.clock()
        request = JoinRequest(
            id=uuid.uuid4(), workspace_id=workspace_id, user_id=user_id, message=body.message, created_at=now
        )
        if workspace.requires_approval:
            request.status = JoinStatus.PENDING.value
        else:
            request.status, request.decided_at = JoinStatus.APPROVED.value, now
        repo.add(request)
        await repo.flush()
        uow.emit(
            JoinRequestCreated(
                workspace_id=workspace.id,
                workspace_name=workspace.name,
                request_id=request.id,
                user_id=me.id,
                user_name=me.name,
                status=JoinStatus(request.status).value,
                admin_ids=sorted(await repo.role_holders(workspace_id, MANAGERS), key=str),
            )
        )
        if not workspace.requires_approval:
            await add_member(uow, repo, workspace, me, Role.MEMBER, actor=me, via="JOIN_REQUEST")
        return _out(request, me)

    async def list(
        self, uow: UnitOfWork, manager: Membership, query: JoinRequestQuery
    ) -> Page[JoinRequestOut]:
        status = None if query.status == "ALL" else str(query.status)
        part = await UserRepository(uow.session).join_requests(manager.workspace_id, status, query)
        return Page[JoinRequestOut](items=[_out(r, u) for r, u in part.rows], next_cursor=part.next_cursor)

    async def decide(
        self, uow: UnitOfWork, manager: Membership, request_id: uuid.UUID, *, approve: bool
    ) -> JoinRequestOut:
        repo = UserRepository(uow.session)
        me = await actor(repo, manager.user_id)
        workspace, _mine = await locked(repo, manager)
        request = await repo.join_request(workspace.id, request_id)
        requester = await repo.user(request.user_id) if request is not None else None
        if request is None or requester is None:
            raise NotFound(f"No join request {request_id} in this workspace.", code="JOIN_REQUEST_NOT_FOUND")
        if request.status != JoinStatus.PENDING:
            raise Conflict(f"This request was {request.status.lower()} already.", code="ALREADY_DECIDED")
        request.status = (JoinStatus.APPROVED if approve else JoinStatus.REJECTED).value
        request.decided_at, request.decided_by = self.clock(), me.id
        # A requester who joined meanwhile (through an invitation) is simply approved.
        if approve and requester.deleted_at is None and await repo.member(workspace.id, requester.id) is None:
            await add_member(uow, repo, workspace, requester, Role.MEMBER, actor=me, via="JOIN_REQUEST")
        uow.emit(
            JoinRequestDecided(
                workspace_id=workspace.id,
                workspace_name=workspace.name,
                request_id=request.id,
                user_id=requester.id,
                user_name=requester.name,
                status=JoinStatus(request.status).value,
                actor_id=me.id,
                actor_name=me.name,
            )
        )
        await repo.flush()
        return _out(request, requester)
