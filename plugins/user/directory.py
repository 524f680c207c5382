"""The implementation of the ``Directory`` contract: what other plugins get from
``container.contracts.get(Directory)`` when the user plugin runs in their process (in the split shape, the
host serves it to them over HTTP)."""

from __future__ import annotations

import re
import uuid

from sqlalchemy.exc import IntegrityError
from wealist_plugins.user.access import normalise_email
from wealist_plugins.user.avatars import AvatarUrls
from wealist_plugins.user.contract import MemberProfile, Membership, Role, UserInfo
from wealist_plugins.user.joining import add_member, admin_limit_reached
from wealist_plugins.user.models import DEFAULT_SCOPE, Member, Profile, User
from wealist_plugins.user.options import UserOptions
from wealist_plugins.user.repository import UserRepository

from wealist_core import Clock, Conflict, Database, utcnow

__all__ = ["UserDirectory", "user_info"]

_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def user_info(user: User) -> UserInfo:
    return UserInfo(
        user_id=user.id,
        email=user.email,
        name=user.name,
        locale=user.locale,
        created_at=user.created_at,
        deleted=user.deleted_at is not None,
    )


def _membership(member: Member) -> Membership:
    return Membership(
        workspace_id=member.workspace_id,
        user_id=member.user_id,
        role=Role(member.role),
        joined_at=member.joined_at,
    )


class UserDirectory:
    """The implementation of :class:`~wealist_plugins.user.contract.Directory`."""

    def __init__(
        self, database: Database, options: UserOptions, avatars: AvatarUrls, *, clock: Clock = utcnow
    ) -> None:
        self.database = database
        self.options = options
        self.avatars = avatars
        self.clock = clock

    async def create_user(self, user_id: uuid.UUID, email: str, name: str, locale: str = "ko") -> UserInfo:
        email = normalise_email(email)
        name = " ".join(name.split())[:100] or email.split("@", 1)[0][:100]
        locale = locale if _LOCALE.match(locale or "") else "ko"
        now = self.clock()
        async with self.database.unit_of_work() as uow:
            repo = UserRepository(uow.session)
            if await repo.user_by_email(email) is not None:
                raise Conflict("An account with this email exists already.", code="EMAIL_TAKEN")
            if await repo.user(user_id) is not None:
                raise Conflict(f"A user with the id {user_id} exists already.", code="USER_EXISTS")
            user = User(id=user_id, email=email, name=name, locale=locale, created_at=now, updated_at=now)
            repo.add(user)
            try:
                await repo.flush()
            except IntegrityError:  # the same address signed up concurrently
                raise Conflict("An account with this email exists already.", code="EMAIL_TAKEN") from None
            repo.add(Profile(user_id=user_id, workspace_id=DEFAULT_SCOPE, nickname=name[:50]))
            for invitation in await repo.pending_invitations_for(email, now):
                workspace = await repo.workspace(invitation.workspace_id, for_update=True)
                if workspace is None:
                    continue
                role = Role(invitation.role)
                if role is Role.ADMIN and await admin_limit_reached(repo, workspace, self.options.max_admins):
                    role = Role.MEMBER  # the account must be created; the admin seats filled up meanwhile
                inviter = await repo.user(invitation.invited_by)
                await add_member(uow, repo, workspace, user, role, actor=inviter or user, via="INVITATION")
                invitation.status, invitation.accepted_by, invitation.decided_at = "ACCEPTED", user.id, now
            return user_info(user)

    async def find_user_by_email(self, email: str) -> UserInfo | None:
        async with self.database.reading() as session:
            user = await UserRepository(session).user_by_email(email.strip().lower())
            return user_info(user) if user else None

    async def get_users(self, user_ids: list[uuid.UUID]) -> list[UserInfo]:
        async with self.database.reading() as session:
            return [user_info(u) for u in await UserRepository(session).users(user_ids)]

    async def membership(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        async with self.database.reading() as session:
            member = await UserRepository(session).live_membership(workspace_id, user_id)
            return _membership(member) if member else None

    async def members(self, workspace_id: uuid.UUID) -> list[Membership]:
        async with self.database.reading() as session:
            repo = UserRepository(session)
            if await repo.workspace(workspace_id) is None:
                return []
            return [_membership(m) for m, _user, _profile in await repo.members(workspace_id)]

    async def user_workspaces(self, user_id: uuid.UUID) -> list[Membership]:
        async with self.database.reading() as session:
            repo = UserRepository(session)
            user = await repo.user(user_id)
            if user is None or user.deleted_at is not None:
                return []
            return [_membership(m) for m, _workspace in await repo.memberships_of(user_id)]

    async def member_profiles(
        self, workspace_id: uuid.UUID, user_ids: list[uuid.UUID]
    ) -> list[MemberProfile]:
        if not user_ids:
            return []
        async with self.database.reading() as session:
            repo = UserRepository(session)
            if await repo.workspace(workspace_id) is None:
                return []
            rows = await repo.members(workspace_id, user_ids=user_ids)
        return [
            MemberProfile(
                workspace_id=workspace_id,
                user_id=user.id,
                name=user.name,
                nickname=profile.nickname if profile else user.name[:50],
                avatar_url=await self.avatars.url(profile.avatar_key if profile else None),
                role=Role(member.role),
            )
            for member, user, profile in rows
        ]
