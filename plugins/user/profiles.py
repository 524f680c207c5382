"""Profiles: how a user appears, one per workspace plus a default one (``workspaceId`` omitted).

Avatars take the core's upload flow: ``POST /api/profiles/me/avatar`` checks the type and the size against
the avatar policy, then signs a PUT URL for a fresh key issued to this user for this profile;
``PATCH /api/profiles/me {avatarKey}`` attaches only such a key, once the object exists as declared. A
replaced avatar that no profile shows any more is released and purged with the unused ones.
"""

from __future__ import annotations

import uuid

from wealist_plugins.user.access import actor, invalid_field
from wealist_plugins.user.avatars import AvatarUrls
from wealist_plugins.user.contract import Membership
from wealist_plugins.user.models import DEFAULT_SCOPE, Profile, User
from wealist_plugins.user.options import UserOptions
from wealist_plugins.user.repository import UserRepository
from wealist_plugins.user.schemas import AvatarUploadIn, AvatarUploadOut, ProfileOut, ProfilePatch

from wealist_core import Clock, NotFound, ProblemError, UnitOfWork, Uploads, utcnow

__all__ = ["ProfileService"]


class ProfileService:
    """Read and change profiles, and hand out avatar upload URLs."""

    def __init__(
        self, uploads: Uploads, options: UserOptions, avatars: AvatarUrls, *, clock: Clock = utcnow
    ) -> None:
        self.uploads = uploads
        self.options = options
        self.avatars = avatars
        self.clock = clock

    async def _profile(self, uow: UnitOfWork, repo: UserRepository, user: User, scope: uuid.UUID) -> Profile:
        profile = await repo.profile(user.id, scope)
        if profile is None:  # created with the membership; made here for rows older than that rule
            default = await repo.profile(user.id, DEFAULT_SCOPE) if scope != DEFAULT_SCOPE else None
            profile = Profile(
                user_id=user.id,
                workspace_id=scope,
                nickname=default.nickname if default else user.name[:50],
                avatar_key=default.avatar_key if default else None,
            )
            if uow.writable:  # a read shows the profile it would be; a write stores it
                repo.add(profile)
                await repo.flush()
        return profile

    async def _out(self, profile: Profile) -> ProfileOut:
        return ProfileOut(
            user_id=profile.user_id,
            workspace_id=None if profile.workspace_id == DEFAULT_SCOPE else profile.workspace_id,
            nickname=profile.nickname,
            avatar_url=await self.avatars.url(profile.avatar_key),
        )

    async def get_mine(self, uow: UnitOfWork, user_id: uuid.UUID, member: Membership | None) -> ProfileOut:
        repo = UserRepository(uow.session)
        me = await actor(repo, user_id)
        profile = await self._profile(uow, repo, me, _scope(member))
        return await self._out(profile)

    async def update_mine(
        self, uow: UnitOfWork, user_id: uuid.UUID, member: Membership | None, patch: ProfilePatch
    ) -> ProfileOut:
        given = patch.model_fields_set
        repo = UserRepository(uow.session)
        me = await actor(repo, user_id)
        scope = _scope(member)
        profile = await self._profile(uow, repo, me, scope)
        if patch.nickname is not None:  # the schema refuses an explicit null
            profile.nickname = patch.nickname
        old = profile.avatar_key
        if "avatar_key" in given and patch.avatar_key != old:
            if patch.avatar_key is not None:
                try:
                    await self.uploads.attach(
                        uow,
                        patch.avatar_key,
                        by=user_id,
                        owner_type="user",
                        owner_id=user_id,
                        workspace_id=scope,
                    )
                except ProblemError as exc:
                    raise _avatar_refusal(exc) from None
            profile.avatar_key = patch.avatar_key
        profile.updated_at = self.clock()
        await repo.flush()
        # New workspace profiles copy the default avatar: a key is let go only when no profile shows it.
        if old and old != profile.avatar_key and not await repo.avatar_shown(old):
            await self.uploads.release(uow, old)
        return await self._out(profile)

    async def create_upload(
        self, uow: UnitOfWork, user_id: uuid.UUID, member: Membership | None, body: AvatarUploadIn
    ) -> AvatarUploadOut:
        repo = UserRepository(uow.session)
        await actor(repo, user_id)
        scope = _scope(member)
        # The file name is not checked against the type: an avatar is never downloaded under its name.
        issued = await self.uploads.issue(
            uow,
            uploader=user_id,
            content_type=body.content_type,
            size=body.size,
            key_prefix=f"avatars/{user_id.hex}/{scope.hex}",
            workspace_id=scope,
        )
        return AvatarUploadOut(
            upload_url=issued.url.url,
            method=issued.url.method,
            headers=dict(issued.url.headers),
            key=issued.upload.key,
            expires_at=issued.url.expires_at,
        )

    async def get_profile(
        self, uow: UnitOfWork, viewer_id: uuid.UUID, user_id: uuid.UUID, member: Membership | None
    ) -> ProfileOut:
        repo = UserRepository(uow.session)
        await actor(repo, viewer_id)
        missing = NotFound(f"No profile of {user_id} that you may see.", code="PROFILE_NOT_FOUND")
        if member is not None:
            if await repo.live_membership(member.workspace_id, user_id) is None:
                raise missing
        elif user_id != viewer_id and not await repo.share_a_workspace(viewer_id, user_id):
            raise missing
        user = await repo.user(user_id)
        if user is None or user.deleted_at is not None:
            raise missing
        profile = await self._profile(uow, repo, user, _scope(member))
        return await self._out(profile)


def _scope(member: Membership | None) -> uuid.UUID:
    """The profile a request is about: the workspace's, or the default one (no ``workspaceId``)."""
    return DEFAULT_SCOPE if member is None else member.workspace_id


_AVATAR_REFUSALS = {
    "UPLOAD_NOT_FOUND": ("not a key issued to you for this profile", "AVATAR_KEY_UNKNOWN"),
    "UPLOAD_NOT_YOURS": ("not a key issued to you for this profile", "AVATAR_KEY_UNKNOWN"),
    "UPLOAD_EXPIRED": ("not a key issued to you for this profile", "AVATAR_KEY_UNKNOWN"),
    "UPLOAD_NOT_RECEIVED": ("nothing was uploaded under this key yet", "AVATAR_NOT_UPLOADED"),
    "UPLOAD_MISMATCH": ("the uploaded file is not the image that was declared", "AVATAR_INVALID"),
}


def _avatar_refusal(error: ProblemError) -> ProblemError:
    """An upload's refusal in the profile's words: a 422 about ``body.avatarKey``."""
    known = _AVATAR_REFUSALS.get(error.code)
    return invalid_field("body.avatarKey", *known) if known else error
