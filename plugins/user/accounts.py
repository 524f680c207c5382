"""The signed-in user's own account (``/api/users/me``) and teammates' public fields."""

from __future__ import annotations

import datetime as dt
import uuid

from wealist_plugins.user.access import actor, check_actor, invalid_field
from wealist_plugins.user.contract import UserDeleted, UserRestored
from wealist_plugins.user.models import User
from wealist_plugins.user.options import UserOptions
from wealist_plugins.user.repository import UserRepository
from wealist_plugins.user.schemas import UserOut, UserPatch, UserPublic

from wealist_core import Clock, Conflict, NotFound, UnitOfWork, utcnow

__all__ = ["AccountService"]


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
