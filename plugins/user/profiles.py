"""Profiles: how a user appears, one per workspace plus a default one (``workspaceId`` omitted).

Avatars are uploaded straight to the blob store: ``POST /api/profiles/me/avatar`` checks the type and the
size, then signs a PUT URL for a fresh key and records that key as issued to this user for this profile;
``PATCH /api/profiles/me {avatarKey}`` accepts only such a key, once the object exists.
"""

from __future__ import annotations

import datetime as dt
import uuid

from wealist_plugins.user.access import actor, invalid_field
from wealist_plugins.user.avatars import AvatarUrls
from wealist_plugins.user.contract import Membership
from wealist_plugins.user.models import DEFAULT_SCOPE, AvatarUpload, Profile, User
from wealist_plugins.user.options import AVATAR_TYPES, UserOptions
from wealist_plugins.user.repository import UserRepository
from wealist_plugins.user.schemas import AvatarUploadIn, AvatarUploadOut, ProfileOut, ProfilePatch

from wealist_core import BlobStore, Clock, NotFound, PayloadTooLarge, UnitOfWork, utcnow

__all__ = ["ProfileService"]


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


class ProfileService:
    """Read and change profiles, and hand out avatar upload URLs."""

    def __init__(
        self, blobs: BlobStore, options: UserOptions, avatars: AvatarUrls, *, clock: Clock = utcnow
    ) -> None:
        self.blobs = blobs
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
        if "avatar_key" in given:
            if patch.avatar_key is not None:
                await self._check_avatar(repo, user_id, scope, patch.avatar_key)
            profile.avatar_key = patch.avatar_key
        profile.updated_at = self.clock()
        await repo.flush()
        return await self._out(profile)

    async def _check_avatar(
        self, repo: UserRepository, user_id: uuid.UUID, scope: uuid.UUID, key: str
    ) -> None:
        upload = await repo.avatar_upload(key)
        if upload is None or upload.user_id != user_id or upload.workspace_id != scope:
            raise invalid_field(
                "body.avatarKey", "not a key issued to you for this profile", "AVATAR_KEY_UNKNOWN"
            )
        info = await self.blobs.head(key)
        if info is None:
            raise invalid_field(
                "body.avatarKey", "nothing was uploaded under this key yet", "AVATAR_NOT_UPLOADED"
            )
        # The store enforced these at upload time; an S3-compatible store may not, so check what arrived.
        if _media_type(info.content_type) not in AVATAR_TYPES or info.size > self.options.avatar_max_bytes:
            raise invalid_field(
                "body.avatarKey", "the uploaded file is not an image of at most 20 MB", "AVATAR_INVALID"
            )

    async def create_upload(
        self, uow: UnitOfWork, user_id: uuid.UUID, member: Membership | None, body: AvatarUploadIn
    ) -> AvatarUploadOut:
        content_type = _media_type(body.content_type)
        extension = AVATAR_TYPES.get(content_type)
        if extension is None:
            raise invalid_field(
                "body.contentType",
                f"avatars must be one of {', '.join(sorted(AVATAR_TYPES))}",
                "UNSUPPORTED_AVATAR_TYPE",
            )
        if body.size > self.options.avatar_max_bytes:
            raise PayloadTooLarge(
                f"An avatar may be at most {self.options.avatar_max_bytes // (1024 * 1024)} MB.",
                code="AVATAR_TOO_LARGE",
            )
        repo = UserRepository(uow.session)
        await actor(repo, user_id)
        scope = _scope(member)
        key = f"user/avatars/{user_id.hex}/{scope.hex}/{uuid.uuid4().hex}{extension}"
        ttl = self.options.avatar_upload_ttl
        signed = await self.blobs.presign_put(
            key, content_type=content_type, max_size=body.size, expires_in=ttl
        )
        now = self.clock()
        repo.add(
            AvatarUpload(
                key=key,
                user_id=user_id,
                workspace_id=scope,
                content_type=content_type,
                size=body.size,
                created_at=now,
                expires_at=now + dt.timedelta(seconds=ttl),
            )
        )
        return AvatarUploadOut(
            upload_url=signed.url,
            method=signed.method,
            headers=dict(signed.headers),
            key=key,
            expires_at=signed.expires_at,
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
