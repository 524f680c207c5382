"""The user plugin's HTTP routes: parse, call a service, render. Rules live in the services.

Path parameters carry the names of the API (``workspaceId``, ``userId``) so the OpenAPI document matches
API.md; ids use Starlette's ``uuid`` converter, so ``/api/workspaces/search`` can never be read as an id.
"""

from __future__ import annotations

import uuid

from starlette.routing import BaseRoute
from wealist_plugins.user.access import user_id_of
from wealist_plugins.user.pagination import PageQuery
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

from wealist_core import NotFound, Principal
from wealist_core.http import ApiRoute, Page

__all__ = ["build_routes"]

WS = "/api/workspaces/{workspaceId:uuid}"
_MAX_TOKEN = 200


class UserHandlers:
    """``/api/users``: the signed-in user's account, and teammates."""

    def __init__(self, services: UserServices) -> None:
        self.s = services

    async def get_me(self, principal: Principal) -> UserOut:
        """The signed-in user."""
        return await self.s.accounts.me(user_id_of(principal))

    async def update_me(self, principal: Principal, body: UserPatch) -> UserOut:
        """Change my name, locale or default workspace (one I belong to; null clears it)."""
        return await self.s.accounts.update_me(user_id_of(principal), body)

    async def delete_me(self, principal: Principal) -> None:
        """Delete my account (softly): it can be restored within the grace period. An owner must first
        transfer or delete their workspaces."""
        await self.s.accounts.delete_me(user_id_of(principal))

    async def restore_me(self, principal: Principal) -> UserOut:
        """Restore my deleted account within the grace period (a deleted account's token still works here)."""
        return await self.s.accounts.restore_me(user_id_of(principal))

    async def get_user(self, principal: Principal, userId: uuid.UUID) -> UserPublic:
        """A user who shares a workspace with me."""
        return await self.s.accounts.get_user(user_id_of(principal), userId)


class WorkspaceHandlers:
    """``/api/workspaces``: workspaces, members, invitations and join requests."""

    def __init__(self, services: UserServices) -> None:
        self.s = services

    async def create_workspace(self, principal: Principal, body: WorkspaceIn) -> WorkspaceOut:
        """Create a workspace; I become its owner."""
        return await self.s.workspaces.create(user_id_of(principal), body)

    async def list_workspaces(self, principal: Principal, query: PageQuery) -> Page[WorkspaceOut]:
        """My workspaces, each with my role."""
        return await self.s.workspaces.list_mine(user_id_of(principal), query)

    async def search_workspaces(self, principal: Principal, query: SearchQuery) -> Page[WorkspacePublic]:
        """Public workspaces whose name contains ``q``: public fields only, never members."""
        return await self.s.workspaces.search(user_id_of(principal), query)

    async def get_workspace(self, principal: Principal, workspaceId: uuid.UUID) -> WorkspaceOut:
        """A workspace I belong to."""
        return await self.s.workspaces.get(user_id_of(principal), workspaceId)

    async def update_workspace(
        self,
        principal: Principal,
        workspaceId: uuid.UUID,
        body: WorkspacePatch,
    ) -> WorkspaceOut:
        """Change the settings (owner and admins)."""
        return await self.s.workspaces.update(user_id_of(principal), workspaceId, body)

    async def delete_workspace(self, principal: Principal, workspaceId: uuid.UUID) -> None:
        """Delete the workspace (the owner; softly)."""
        await self.s.workspaces.delete(user_id_of(principal), workspaceId)

    async def transfer_workspace(
        self,
        principal: Principal,
        workspaceId: uuid.UUID,
        body: TransferIn,
    ) -> WorkspaceOut:
        """Make a member the owner (the owner only); the old owner becomes an admin."""
        return await self.s.workspaces.transfer(user_id_of(principal), workspaceId, body.user_id)

    async def list_members(
        self,
        principal: Principal,
        workspaceId: uuid.UUID,
        query: PageQuery,
    ) -> Page[MemberOut]:
        """The members, with their workspace profile."""
        return await self.s.members.list(user_id_of(principal), workspaceId, query)

    async def change_role(
        self,
        principal: Principal,
        workspaceId: uuid.UUID,
        userId: uuid.UUID,
        body: RoleIn,
    ) -> MemberOut:
        """Make a member an admin or a member (owner and admins; at most 4 admins)."""
        return await self.s.members.change_role(user_id_of(principal), workspaceId, userId, body.role)

    async def remove_member(self, principal: Principal, workspaceId: uuid.UUID, userId: uuid.UUID) -> None:
        """Remove a member (owner and admins), or leave when it is me."""
        await self.s.members.remove(user_id_of(principal), workspaceId, userId)

    async def invite(self, principal: Principal, workspaceId: uuid.UUID, body: InviteIn) -> InviteResult:
        """Invite by email: an existing user is added (ADDED), an unknown address gets a link (INVITED)."""
        return await self.s.invitations.invite(user_id_of(principal), workspaceId, body)

    async def list_invitations(
        self,
        principal: Principal,
        workspaceId: uuid.UUID,
        query: PageQuery,
    ) -> Page[InvitationOut]:
        """Pending invitations (whoever may invite)."""
        return await self.s.invitations.list(user_id_of(principal), workspaceId, query)

    async def revoke_invitation(
        self,
        principal: Principal,
        workspaceId: uuid.UUID,
        invitationId: uuid.UUID,
    ) -> None:
        """Revoke a pending invitation: its link stops working."""
        await self.s.invitations.revoke(user_id_of(principal), workspaceId, invitationId)

    async def accept_invitation(self, principal: Principal, token: str) -> AcceptResult:
        """Join the workspace of an invitation link."""
        if len(token) > _MAX_TOKEN:
            raise NotFound("This invitation link is unknown.", code="INVITATION_NOT_FOUND")
        return await self.s.invitations.accept(user_id_of(principal), token)

    async def request_to_join(
        self,
        principal: Principal,
        workspaceId: uuid.UUID,
        body: JoinRequestIn,
    ) -> JoinRequestOut:
        """Ask to join a public workspace; approved at once when it requires no approval."""
        return await self.s.join_requests.create(user_id_of(principal), workspaceId, body)

    async def list_join_requests(
        self,
        principal: Principal,
        workspaceId: uuid.UUID,
        query: JoinRequestQuery,
    ) -> Page[JoinRequestOut]:
        """Join requests (owner and admins), pending ones unless ``status`` says otherwise."""
        return await self.s.join_requests.list(user_id_of(principal), workspaceId, query)

    async def approve_join_request(
        self,
        principal: Principal,
        workspaceId: uuid.UUID,
        requestId: uuid.UUID,
    ) -> JoinRequestOut:
        """Approve a pending request: the requester becomes a member."""
        return await self.s.join_requests.decide(user_id_of(principal), workspaceId, requestId, approve=True)

    async def reject_join_request(
        self,
        principal: Principal,
        workspaceId: uuid.UUID,
        requestId: uuid.UUID,
    ) -> JoinRequestOut:
        """Reject a pending request."""
        return await self.s.join_requests.decide(user_id_of(principal), workspaceId, requestId, approve=False)


class ProfileHandlers:
    """``/api/profiles``: my profiles, avatars, and teammates' profiles."""

    def __init__(self, services: UserServices) -> None:
        self.s = services

    async def get_my_profile(self, principal: Principal, query: ProfileQuery) -> ProfileOut:
        """My profile in a workspace, or my default profile without ``workspaceId``."""
        return await self.s.profiles.get_mine(user_id_of(principal), query.workspace_id)

    async def update_my_profile(
        self, principal: Principal, query: ProfileQuery, body: ProfilePatch
    ) -> ProfileOut:
        """Change my nickname or avatar (a key from POST /api/profiles/me/avatar, once uploaded)."""
        return await self.s.profiles.update_mine(user_id_of(principal), query.workspace_id, body)

    async def create_avatar_upload(self, principal: Principal, body: AvatarUploadIn) -> AvatarUploadOut:
        """A signed URL to upload an avatar (PNG, JPEG, GIF or WebP, at most 20 MB)."""
        return await self.s.profiles.create_upload(user_id_of(principal), body)

    async def get_profile(self, principal: Principal, userId: uuid.UUID, query: ProfileQuery) -> ProfileOut:
        """A teammate's profile in a workspace we share (or their default profile)."""
        return await self.s.profiles.get_profile(user_id_of(principal), userId, query.workspace_id)


def build_routes(services: UserServices) -> list[BaseRoute]:
    users, spaces, profiles = UserHandlers(services), WorkspaceHandlers(services), ProfileHandlers(services)
    tag = {"users": ["users"], "workspaces": ["workspaces"], "profiles": ["profiles"]}
    member_errors = (403, 404)
    return [
        # ------------------------------------------------------------------------------------------- users
        ApiRoute("/api/users/me", users.get_me, response=UserOut, tags=tag["users"], errors=(403,)),
        ApiRoute(
            "/api/users/me",
            users.update_me,
            methods=["PATCH"],
            body=UserPatch,
            response=UserOut,
            tags=tag["users"],
            errors=(403,),
        ),
        ApiRoute(
            "/api/users/me",
            users.delete_me,
            methods=["DELETE"],
            status_code=204,
            tags=tag["users"],
            errors=(403, 409),
        ),
        ApiRoute(
            "/api/users/me/restore",
            users.restore_me,
            methods=["POST"],
            response=UserOut,
            tags=tag["users"],
            errors=(404, 409),
        ),
        ApiRoute(
            "/api/users/{userId:uuid}", users.get_user, response=UserPublic, tags=tag["users"], errors=(404,)
        ),
        # -------------------------------------------------------------------------------------- workspaces
        ApiRoute(
            "/api/workspaces",
            spaces.create_workspace,
            methods=["POST"],
            body=WorkspaceIn,
            response=WorkspaceOut,
            status_code=201,
            tags=tag["workspaces"],
        ),
        ApiRoute(
            "/api/workspaces",
            spaces.list_workspaces,
            query=PageQuery,
            response=Page[WorkspaceOut],
            tags=tag["workspaces"],
        ),
        ApiRoute(
            "/api/workspaces/search",
            spaces.search_workspaces,
            query=SearchQuery,
            response=Page[WorkspacePublic],
            tags=tag["workspaces"],
        ),
        ApiRoute(
            "/api/workspaces/invitations/{token}/accept",
            spaces.accept_invitation,
            methods=["POST"],
            response=AcceptResult,
            tags=tag["workspaces"],
            errors=(404,),
        ),
        ApiRoute(WS, spaces.get_workspace, response=WorkspaceOut, tags=tag["workspaces"], errors=(404,)),
        ApiRoute(
            WS,
            spaces.update_workspace,
            methods=["PATCH"],
            body=WorkspacePatch,
            response=WorkspaceOut,
            tags=tag["workspaces"],
            errors=member_errors,
        ),
        ApiRoute(
            WS,
            spaces.delete_workspace,
            methods=["DELETE"],
            status_code=204,
            tags=tag["workspaces"],
            errors=member_errors,
        ),
        ApiRoute(
            f"{WS}/transfer",
            spaces.transfer_workspace,
            methods=["POST"],
            body=TransferIn,
            response=WorkspaceOut,
            tags=tag["workspaces"],
            errors=(*member_errors, 409),
        ),
        ApiRoute(
            f"{WS}/members",
            spaces.list_members,
            query=PageQuery,
            response=Page[MemberOut],
            tags=tag["workspaces"],
            errors=(404,),
        ),
        ApiRoute(
            f"{WS}/members/{{userId:uuid}}",
            spaces.change_role,
            methods=["PATCH"],
            body=RoleIn,
            response=MemberOut,
            tags=tag["workspaces"],
            errors=(*member_errors, 409),
        ),
        ApiRoute(
            f"{WS}/members/{{userId:uuid}}",
            spaces.remove_member,
            methods=["DELETE"],
            status_code=204,
            tags=tag["workspaces"],
            errors=(*member_errors, 409),
        ),
        ApiRoute(
            f"{WS}/invitations",
            spaces.invite,
            methods=["POST"],
            body=InviteIn,
            response=InviteResult,
            status_code=201,
            tags=tag["workspaces"],
            errors=(*member_errors, 409),
        ),
        ApiRoute(
            f"{WS}/invitations",
            spaces.list_invitations,
            query=PageQuery,
            response=Page[InvitationOut],
            tags=tag["workspaces"],
            errors=member_errors,
        ),
        ApiRoute(
            f"{WS}/invitations/{{invitationId:uuid}}",
            spaces.revoke_invitation,
            methods=["DELETE"],
            status_code=204,
            tags=tag["workspaces"],
            errors=member_errors,
        ),
        ApiRoute(
            f"{WS}/join-requests",
            spaces.request_to_join,
            methods=["POST"],
            body=JoinRequestIn,
            response=JoinRequestOut,
            status_code=201,
            tags=tag["workspaces"],
            errors=(404, 409),
        ),
        ApiRoute(
            f"{WS}/join-requests",
            spaces.list_join_requests,
            query=JoinRequestQuery,
            response=Page[JoinRequestOut],
            tags=tag["workspaces"],
            errors=member_errors,
        ),
        ApiRoute(
            f"{WS}/join-requests/{{requestId:uuid}}/approve",
            spaces.approve_join_request,
            methods=["POST"],
            response=JoinRequestOut,
            tags=tag["workspaces"],
            errors=(*member_errors, 409),
        ),
        ApiRoute(
            f"{WS}/join-requests/{{requestId:uuid}}/reject",
            spaces.reject_join_request,
            methods=["POST"],
            response=JoinRequestOut,
            tags=tag["workspaces"],
            errors=(*member_errors, 409),
        ),
        # ---------------------------------------------------------------------------------------- profiles
        ApiRoute(
            "/api/profiles/me",
            profiles.get_my_profile,
            query=ProfileQuery,
            response=ProfileOut,
            tags=tag["profiles"],
            errors=(404,),
        ),
        ApiRoute(
            "/api/profiles/me",
            profiles.update_my_profile,
            methods=["PATCH"],
            query=ProfileQuery,
            body=ProfilePatch,
            response=ProfileOut,
            tags=tag["profiles"],
            errors=(404,),
        ),
        ApiRoute(
            "/api/profiles/me/avatar",
            profiles.create_avatar_upload,
            methods=["POST"],
            body=AvatarUploadIn,
            response=AvatarUploadOut,
            tags=tag["profiles"],
            errors=(404, 413),
        ),
        ApiRoute(
            "/api/profiles/{userId:uuid}",
            profiles.get_profile,
            query=ProfileQuery,
            response=ProfileOut,
            tags=tag["profiles"],
            errors=(404,),
        ),
    ]
