"""The user plugin's HTTP routes: each declared once by its handler's signature; rules live in the services.

Path parameters carry the names of the API (``workspaceId``, ``userId``) so the OpenAPI document matches
API.md; ids are annotated ``uuid.UUID``, so ``/api/workspaces/search`` can never be read as an id. The
guards (``MemberOf``, ``ManagerOf``, ``OwnerOf``) are the ones every plugin uses.
"""

from __future__ import annotations

import uuid

from wealist_plugins.user.contract import ManagerOf, MaybeMemberOf, MemberOf, OwnerOf
from wealist_plugins.user.schemas import (
    AcceptResult,
    AvatarUploadIn,
    AvatarUploadOut,
    InvitationOut,
    InviteIn,
    InviteResult,
    JoinRequestIn,
    JoinRequestOut,
    JoinRequestQuery,
    MemberOut,
    ProfileOut,
    ProfilePatch,
    ProfileQuery,
    RoleIn,
    SearchQuery,
    TransferIn,
    UserOut,
    UserPatch,
    UserPublic,
    WorkspaceIn,
    WorkspaceOut,
    WorkspacePatch,
    WorkspacePublic,
)
from wealist_plugins.user.services import UserServices

from wealist_core import NotFound, UnitOfWork
from wealist_core.http import ApiRoute, CallerId, Controller, Page, delete, get, patch, post, routes_of
from wealist_core.pagination import PageQuery

__all__ = ["build_routes"]

_MAX_TOKEN = 200


class Users(Controller):
    """``/api/users``: the signed-in user's account, and teammates."""

    path = "/api/users"
    tags = ("users",)

    def __init__(self, services: UserServices) -> None:
        self.s = services

    @get("/me")
    async def get_me(self, me: CallerId, uow: UnitOfWork) -> UserOut:
        """The signed-in user."""
        return await self.s.accounts.me(uow, me)

    @patch("/me")
    async def update_me(self, me: CallerId, body: UserPatch, uow: UnitOfWork) -> UserOut:
        """Change my name, locale or default workspace (one I belong to; null clears it)."""
        return await self.s.accounts.update_me(uow, me, body)

    @delete("/me", errors=(409,))
    async def delete_me(self, me: CallerId, uow: UnitOfWork) -> None:
        """Delete my account (softly): it can be restored within the grace period. An owner must first
        transfer or delete their workspaces."""
        await self.s.accounts.delete_me(uow, me)

    @post("/me/restore", errors=(404, 409))
    async def restore_me(self, me: CallerId, uow: UnitOfWork) -> UserOut:
        """Restore my deleted account within the grace period (a deleted account's token still works here)."""
        return await self.s.accounts.restore_me(uow, me)

    @get("/{userId}", errors=(404,))
    async def get_user(self, me: CallerId, userId: uuid.UUID, uow: UnitOfWork) -> UserPublic:
        """A user who shares a workspace with me."""
        return await self.s.accounts.get_user(uow, me, userId)


class Workspaces(Controller):
    """``/api/workspaces``: workspaces, members, invitations and join requests."""

    path = "/api/workspaces"
    tags = ("workspaces",)

    def __init__(self, services: UserServices) -> None:
        self.s = services

    @post("", status=201)
    async def create_workspace(self, me: CallerId, body: WorkspaceIn, uow: UnitOfWork) -> WorkspaceOut:
        """Create a workspace; I become its owner."""
        return await self.s.workspaces.create(uow, me, body)

    @get("")
    async def list_workspaces(self, me: CallerId, query: PageQuery, uow: UnitOfWork) -> Page[WorkspaceOut]:
        """My workspaces, each with my role."""
        return await self.s.workspaces.list_mine(uow, me, query)

    @get("/search")
    async def search_workspaces(
        self, me: CallerId, query: SearchQuery, uow: UnitOfWork
    ) -> Page[WorkspacePublic]:
        """Public workspaces whose name contains ``q``: public fields only, never members."""
        return await self.s.workspaces.search(uow, me, query)

    @post("/invitations/{token}/accept", errors=(404,))
    async def accept_invitation(self, me: CallerId, token: str, uow: UnitOfWork) -> AcceptResult:
        """Join the workspace of an invitation link."""
        if len(token) > _MAX_TOKEN:
            raise NotFound("This invitation link is unknown.", code="INVITATION_NOT_FOUND")
        return await self.s.invitations.accept(uow, me, token)

    @get("/{workspaceId}")
    async def get_workspace(self, workspaceId: uuid.UUID, member: MemberOf, uow: UnitOfWork) -> WorkspaceOut:
        """A workspace I belong to."""
        return await self.s.workspaces.get(uow, member)

    @patch("/{workspaceId}")
    async def update_workspace(
        self, workspaceId: uuid.UUID, manager: ManagerOf, body: WorkspacePatch, uow: UnitOfWork
    ) -> WorkspaceOut:
        """Change the settings (owner and admins)."""
        return await self.s.workspaces.update(uow, manager, body)

    @delete("/{workspaceId}")
    async def delete_workspace(self, workspaceId: uuid.UUID, owner: OwnerOf, uow: UnitOfWork) -> None:
        """Delete the workspace (the owner; softly)."""
        await self.s.workspaces.delete(uow, owner)

    @post("/{workspaceId}/transfer", errors=(409,))
    async def transfer_workspace(
        self, workspaceId: uuid.UUID, owner: OwnerOf, body: TransferIn, uow: UnitOfWork
    ) -> WorkspaceOut:
        """Make a member the owner (the owner only); the old owner becomes an admin."""
        return await self.s.workspaces.transfer(uow, owner, body.user_id)

    @get("/{workspaceId}/members")
    async def list_members(
        self, workspaceId: uuid.UUID, member: MemberOf, query: PageQuery, uow: UnitOfWork
    ) -> Page[MemberOut]:
        """The members, with their workspace profile."""
        return await self.s.members.list(uow, member, query)

    @patch("/{workspaceId}/members/{userId}", errors=(409,))
    async def change_role(
        self, workspaceId: uuid.UUID, userId: uuid.UUID, manager: ManagerOf, body: RoleIn, uow: UnitOfWork
    ) -> MemberOut:
        """Make a member an admin or a member (owner and admins; at most 4 admins)."""
        return await self.s.members.change_role(uow, manager, userId, body.role)

    @delete("/{workspaceId}/members/{userId}", errors=(409,))
    async def remove_member(
        self, workspaceId: uuid.UUID, userId: uuid.UUID, member: MemberOf, uow: UnitOfWork
    ) -> None:
        """Remove a member (owner and admins), or leave when it is me."""
        await self.s.members.remove(uow, member, userId)

    @post("/{workspaceId}/invitations", status=201, errors=(409,))
    async def invite(
        self, workspaceId: uuid.UUID, member: MemberOf, body: InviteIn, uow: UnitOfWork
    ) -> InviteResult:
        """Invite by email: an existing user is added (ADDED), an unknown address gets a link (INVITED)."""
        return await self.s.invitations.invite(uow, member, body)

    @get("/{workspaceId}/invitations")
    async def list_invitations(
        self, workspaceId: uuid.UUID, member: MemberOf, query: PageQuery, uow: UnitOfWork
    ) -> Page[InvitationOut]:
        """Pending invitations (whoever may invite)."""
        return await self.s.invitations.list(uow, member, query)

    @delete("/{workspaceId}/invitations/{invitationId}")
    async def revoke_invitation(
        self, workspaceId: uuid.UUID, invitationId: uuid.UUID, member: MemberOf, uow: UnitOfWork
    ) -> None:
        """Revoke a pending invitation: its link stops working."""
        await self.s.invitations.revoke(uow, member, invitationId)

    @post("/{workspaceId}/join-requests", status=201, errors=(404, 409))
    async def request_to_join(
        self, me: CallerId, workspaceId: uuid.UUID, body: JoinRequestIn, uow: UnitOfWork
    ) -> JoinRequestOut:
        """Ask to join a public workspace; approved at once when it requires no approval."""
        return await self.s.join_requests.create(uow, me, workspaceId, body)

    @get("/{workspaceId}/join-requests")
    async def list_join_requests(
        self, workspaceId: uuid.UUID, manager: ManagerOf, query: JoinRequestQuery, uow: UnitOfWork
    ) -> Page[JoinRequestOut]:
        """Join requests (owner and admins), pending ones unless ``status`` says otherwise."""
        return await self.s.join_requests.list(uow, manager, query)

    @post("/{workspaceId}/join-requests/{requestId}/approve", errors=(409,))
    async def approve_join_request(
        self, workspaceId: uuid.UUID, requestId: uuid.UUID, manager: ManagerOf, uow: UnitOfWork
    ) -> JoinRequestOut:
        """Approve a pending request: the requester becomes a member."""
        return await self.s.join_requests.decide(uow, manager, requestId, approve=True)

    @post("/{workspaceId}/join-requests/{requestId}/reject", errors=(409,))
    async def reject_join_request(
        self, workspaceId: uuid.UUID, requestId: uuid.UUID, manager: ManagerOf, uow: UnitOfWork
    ) -> JoinRequestOut:
        """Reject a pending request."""
        return await self.s.join_requests.decide(uow, manager, requestId, approve=False)


class Profiles(Controller):
    """``/api/profiles``: my profiles, avatars, and teammates' profiles."""

    path = "/api/profiles"
    tags = ("profiles",)

    def __init__(self, services: UserServices) -> None:
        self.s = services

    @get("/me")
    async def get_my_profile(
        self, me: CallerId, query: ProfileQuery, member: MaybeMemberOf, uow: UnitOfWork
    ) -> ProfileOut:
        """My profile in a workspace, or my default profile without ``workspaceId``."""
        return await self.s.profiles.get_mine(uow, me, member)

    @patch("/me")
    async def update_my_profile(
        self, me: CallerId, query: ProfileQuery, member: MaybeMemberOf, body: ProfilePatch, uow: UnitOfWork
    ) -> ProfileOut:
        """Change my nickname or avatar (a key from POST /api/profiles/me/avatar, once uploaded)."""
        return await self.s.profiles.update_mine(uow, me, member, body)

    @post("/me/avatar", errors=(413,))
    async def create_avatar_upload(
        self, me: CallerId, body: AvatarUploadIn, member: MaybeMemberOf, uow: UnitOfWork
    ) -> AvatarUploadOut:
        """A signed URL to upload an avatar (PNG, JPEG, GIF or WebP, at most 20 MB)."""
        return await self.s.profiles.create_upload(uow, me, member, body)

    @get("/{userId}")
    async def get_profile(
        self, me: CallerId, userId: uuid.UUID, query: ProfileQuery, member: MaybeMemberOf, uow: UnitOfWork
    ) -> ProfileOut:
        """A teammate's profile in a workspace we share (or their default profile)."""
        return await self.s.profiles.get_profile(uow, me, userId, member)


def build_routes(services: UserServices) -> list[ApiRoute]:
    return routes_of(Users(services), Workspaces(services), Profiles(services))
