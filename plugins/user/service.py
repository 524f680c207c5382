"""The ``Directory`` contract and the signed-in user's own account (``/api/users``).

:class:`UserDirectory` is what other plugins get from ``container.contracts.get(Directory)`` when the user
plugin runs in their process; :class:`AccountService` serves ``/api/users``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from wealist_plugins.user.access import actor, check_actor, invalid_field, normalise_email
from wealist_plugins.user.avatars import AvatarUrls
from wealist_plugins.user.contract import MemberProfile, Membership, Role, UserDeleted, UserInfo, UserRestored
from wealist_plugins.user.membership import add_member, admin_limit_reached
from wealist_plugins.user.models import DEFAULT_SCOPE, Member, Profile, User
from wealist_plugins.user.options import UserOptions
from wealist_plugins.user.repository import UserRepository
from wealist_plugins.user.schemas import UserOut, UserPatch, UserPublic

from wealist_core import Conflict, Database, NotFound, UnitOfWork, utcnow

__all__ = ["AccountService", "Clock", "UserDirectory", "user_info"]

Clock = Callable[[], dt.datetime]
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


class AccountService:
    """The signed-in user's account: read, change, delete (softly) and restore it. Each method works in
    the request's unit of work."""

    def __init__(self, options: UserOptions, *, clock: Clock = utcnow) -> None:
        self.options = options
        self.clock = clock

    async def _out(self, repo: UserRepository, user: User) -> UserOut:
        default = user.default_workspace_id
        # A default workspace the user has left, or that was deleted, is no default any more.
        if default is not None and await repo.live_membership(default, user.id) is None:
            default = None
        return UserOut(
            user_id=user.id,
            email=user.email,
            name=user.name,
            locale=user.locale,
            default_workspace_id=default,
            created_at=user.created_at,
        )

    async def me(self, uow: UnitOfWork, user_id: uuid.UUID) -> UserOut:
        user = check_actor(await UserRepository(uow.session).user_with_default(user_id))
        return UserOut(
            user_id=user.id,
            email=user.email,
            name=user.name,
            locale=user.locale,
            default_workspace_id=user.default_id,
            created_at=user.created_at,
        )

    async def update_me(self, uow: UnitOfWork, user_id: uuid.UUID, patch: UserPatch) -> UserOut:
        given = patch.model_fields_set
        repo = UserRepository(uow.session)
        user = await actor(repo, user_id)
        if patch.name is not None:  # the schema refuses an explicit null
            user.name = patch.name
        if patch.locale is not None:
            user.locale = patch.locale
        if "default_workspace_id" in given:
            target = patch.default_workspace_id
            if target is not None and await repo.live_membership(target, user.id) is None:
                raise invalid_field("body.defaultWorkspaceId", "not a workspace you belong to")
            user.default_workspace_id = target
        await repo.flush()
        return await self._out(repo, user)

    async def delete_me(self, uow: UnitOfWork, user_id: uuid.UUID) -> None:
        repo = UserRepository(uow.session)
        user = await actor(repo, user_id)
        owned = await repo.owned_workspaces(user.id)
        if owned:
            names = ", ".join(sorted(w.name for w in owned))
            raise Conflict(
                f"You own {names}: transfer the ownership or delete the workspace first.",
                code="OWNER_OF_WORKSPACES",
            )
        user.deleted_at = self.clock()
        uow.emit(UserDeleted(user_id=user.id))

    async def restore_me(self, uow: UnitOfWork, user_id: uuid.UUID) -> UserOut:
        repo = UserRepository(uow.session)
        user = await repo.user(user_id)
        if user is None:
            raise NotFound("This account does not exist.", code="UNKNOWN_USER")
        if user.deleted_at is not None:
            deadline = user.deleted_at + dt.timedelta(days=self.options.restore_grace_days)
            if self.clock() > deadline:
                raise Conflict(
                    f"This account was deleted more than {self.options.restore_grace_days} days ago and "
                    "can no longer be restored.",
                    code="RESTORE_PERIOD_OVER",
                )
            user.deleted_at = None
            uow.emit(UserRestored(user_id=user.id))
            await repo.flush()
        return await self._out(repo, user)

    async def get_user(self, uow: UnitOfWork, viewer_id: uuid.UUID, user_id: uuid.UUID) -> UserPublic:
        repo = UserRepository(uow.session)
        viewer = await actor(repo, viewer_id)
        user = await repo.user(user_id)
        visible = (
            user is not None
            and user.deleted_at is None
            and (user.id == viewer.id or await repo.share_a_workspace(viewer.id, user.id))
        )
        if not visible or user is None:
            raise NotFound(f"No user {user_id} shares a workspace with you.", code="USER_NOT_FOUND")
        return UserPublic(user_id=user.id, email=user.email, name=user.name, created_at=user.created_at)
