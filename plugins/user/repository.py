"""Queries of the user plugin. A repository works inside a unit of work's session and never commits.

"Live" means not soft-deleted: a deleted workspace, and a deleted user's memberships, are invisible to
every query that serves members (they come back when the user restores the account).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from wealist_plugins.user.models import (
    DEFAULT_SCOPE,
    Invitation,
    JoinRequest,
    Member,
    Profile,
    User,
    Workspace,
)

from wealist_core.pagination import Paging, Slice, keyset

__all__ = ["UserRepository"]


@functools.cache
def _user_with_default() -> Select[
    uuid.UUID, str, str, str, dt.datetime, dt.datetime | None, uuid.UUID | None
]:
    # Built once, with the user id as a bound parameter: building a select with joins costs more CPU than
    # running it (about 0.2 ms, measured by bench/users_me.py), and this one serves every GET /api/users/me.
    # Columns rather than a User entity: nothing is loaded into the session.
    return (
        select(
            User.id,
            User.email,
            User.name,
            User.locale,
            User.created_at,
            User.deleted_at,
            Workspace.id.label("default_id"),
        )
        .outerjoin(Member, and_(Member.user_id == User.id, Member.workspace_id == User.default_workspace_id))
        .outerjoin(Workspace, and_(Workspace.id == Member.workspace_id, Workspace.deleted_at.is_(None)))
        .where(User.id == bindparam("user_id"))
    )


class UserRepository:
    """Reads and writes the plugin's tables through one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, *rows: Any) -> None:
        self.session.add_all(rows)

    async def flush(self) -> None:
        await self.session.flush()

    async def delete(self, row: Any) -> None:
        await self.session.delete(row)

    async def _page(self, stmt: Any, query: Paging, order: Sequence[Any], *, scalars: bool = False) -> Any:
        """One page of ``stmt`` in ``order`` (the list's key), as a :class:`Slice` of rows or entities."""
        ks = keyset(stmt, query, order=order)
        result = await self.session.execute(ks.statement)
        return ks.slice(list(result.scalars()) if scalars else list(result.all()))

    # ------------------------------------------------------------------------------------------------ users

    async def user(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def user_with_default(
        self, user_id: uuid.UUID
    ) -> Row[uuid.UUID, str, str, str, dt.datetime, dt.datetime | None, uuid.UUID | None] | None:
        """What ``GET /api/users/me`` shows of the user (``id``, ``email``, ``name``, ``locale``,
        ``created_at``, ``deleted_at``) and ``default_id``: their default workspace if they still belong to
        it and it is live. One query; it serves every ``GET /api/users/me``, so it runs on the session's
        connection (plain columns need none of the ORM's per-statement work, a tenth of the request)."""
        connection = await self.session.connection()
        return (await connection.execute(_user_with_default(), {"user_id": user_id})).first()

    async def user_by_email(self, email: str) -> User | None:
        return (await self.session.execute(select(User).where(User.email == email))).scalar_one_or_none()

    async def users(self, user_ids: Sequence[uuid.UUID]) -> list[User]:
        if not user_ids:
            return []
        rows = await self.session.execute(select(User).where(User.id.in_(set(user_ids))))
        return list(rows.scalars())

    async def share_a_workspace(self, first: uuid.UUID, second: uuid.UUID) -> bool:
        mine, theirs = aliased(Member), aliased(Member)
        query = (
            select(mine.workspace_id)
            .join(theirs, theirs.workspace_id == mine.workspace_id)
            .join(Workspace, Workspace.id == mine.workspace_id)
            .where(mine.user_id == first, theirs.user_id == second, Workspace.deleted_at.is_(None))
            .limit(1)
        )
        return (await self.session.execute(query)).first() is not None

    # ------------------------------------------------------------------------------------------- workspaces

    async def workspace(self, workspace_id: uuid.UUID, *, for_update: bool = False) -> Workspace | None:
        """A live workspace; ``for_update`` locks its row (PostgreSQL) so role changes are serialised."""
        query = select(Workspace).where(Workspace.id == workspace_id, Workspace.deleted_at.is_(None))
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def search_public(self, needle: str, query: Paging) -> Slice[Workspace]:
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = select(Workspace).where(
            Workspace.is_public.is_(True),
            Workspace.deleted_at.is_(None),
            Workspace.name_key.like(f"%{escaped}%", escape="\\"),
        )
        return await self._page(stmt, query, (Workspace.name_key, Workspace.id), scalars=True)

    async def owned_workspaces(self, user_id: uuid.UUID) -> list[Workspace]:
        query = select(Workspace).where(Workspace.owner_id == user_id, Workspace.deleted_at.is_(None))
        return list((await self.session.execute(query)).scalars())

    # ---------------------------------------------------------------------------------------------- members

    async def member(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Member | None:
        """The membership row, whether or not the user is deleted."""
        return await self.session.get(Member, (workspace_id, user_id))

    async def live_membership(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Member | None:
        """The membership of a live user in a live workspace."""
        query = (
            select(Member)
            .join(Workspace, Workspace.id == Member.workspace_id)
            .join(User, User.id == Member.user_id)
            .where(
                Member.workspace_id == workspace_id,
                Member.user_id == user_id,
                Workspace.deleted_at.is_(None),
                User.deleted_at.is_(None),
            )
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    def _members(self, workspace_id: uuid.UUID) -> Select[tuple[Member, User, Profile]]:
        return (
            select(Member, User, Profile)
            .join(User, User.id == Member.user_id)
            .outerjoin(Profile, and_(Profile.user_id == Member.user_id, Profile.workspace_id == workspace_id))
            .where(Member.workspace_id == workspace_id, User.deleted_at.is_(None))
        )

    async def members(
        self, workspace_id: uuid.UUID, *, user_ids: Sequence[uuid.UUID] | None = None
    ) -> list[tuple[Member, User, Profile | None]]:
        """Live members (those among ``user_ids`` if given) with their workspace profile, oldest first."""
        stmt = self._members(workspace_id).order_by(Member.joined_at, Member.user_id)
        if user_ids is not None:
            stmt = stmt.where(Member.user_id.in_(set(user_ids)))
        return [(m, u, p) for m, u, p in (await self.session.execute(stmt)).all()]

    async def members_page(
        self, workspace_id: uuid.UUID, query: Paging
    ) -> Slice[Row[tuple[Member, User, Profile]]]:
        """A page of :meth:`members`."""
        return await self._page(self._members(workspace_id), query, (Member.joined_at, Member.user_id))

    async def role_holders(self, workspace_id: uuid.UUID, roles: Sequence[str]) -> list[uuid.UUID]:
        """Ids of the live members having one of ``roles``."""
        query = (
            select(Member.user_id)
            .join(User, User.id == Member.user_id)
            .where(Member.workspace_id == workspace_id, Member.role.in_(roles), User.deleted_at.is_(None))
        )
        return list((await self.session.execute(query)).scalars())

    async def count_role(self, workspace_id: uuid.UUID, role: str) -> int:
        # Deleted users count too: restoring an account must never push a workspace over its limit.
        query = (
            select(func.count())
            .select_from(Member)
            .where(Member.workspace_id == workspace_id, Member.role == role)
        )
        return int((await self.session.execute(query)).scalar_one())

    def _memberships_of(self, user_id: uuid.UUID) -> Select[tuple[Member, Workspace]]:
        return (
            select(Member, Workspace)
            .join(Workspace, Workspace.id == Member.workspace_id)
            .where(Member.user_id == user_id, Workspace.deleted_at.is_(None))
        )

    async def memberships_of(self, user_id: uuid.UUID) -> list[tuple[Member, Workspace]]:
        """The user's memberships of live workspaces, oldest first."""
        stmt = self._memberships_of(user_id).order_by(Member.joined_at, Member.workspace_id)
        return [(m, w) for m, w in (await self.session.execute(stmt)).all()]

    async def memberships_page(
        self, user_id: uuid.UUID, query: Paging
    ) -> Slice[Row[tuple[Member, Workspace]]]:
        """A page of :meth:`memberships_of`."""
        return await self._page(self._memberships_of(user_id), query, (Member.joined_at, Member.workspace_id))

    # ------------------------------------------------------------------------------------------ invitations

    async def invitation(self, workspace_id: uuid.UUID, invitation_id: uuid.UUID) -> Invitation | None:
        query = select(Invitation).where(
            Invitation.id == invitation_id, Invitation.workspace_id == workspace_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def invitation_by_token(self, token_hash: str) -> Invitation | None:
        query = select(Invitation).where(Invitation.token_hash == token_hash)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def pending_invitation(self, workspace_id: uuid.UUID, email: str) -> Invitation | None:
        query = select(Invitation).where(
            Invitation.workspace_id == workspace_id, Invitation.email == email, Invitation.status == "PENDING"
        )
        return (await self.session.execute(query)).scalars().first()

    async def pending_invitations_for(self, email: str, now: dt.datetime) -> list[Invitation]:
        """Unexpired pending invitations of an address to live workspaces, oldest first."""
        query = (
            select(Invitation)
            .join(Workspace, Workspace.id == Invitation.workspace_id)
            .where(
                Invitation.email == email,
                Invitation.status == "PENDING",
                Invitation.expires_at > now,
                Workspace.deleted_at.is_(None),
            )
            .order_by(Invitation.created_at, Invitation.id)
        )
        return list((await self.session.execute(query)).scalars())

    async def pending_invitations(
        self, workspace_id: uuid.UUID, now: dt.datetime, query: Paging
    ) -> Slice[Invitation]:
        stmt = select(Invitation).where(
            Invitation.workspace_id == workspace_id,
            Invitation.status == "PENDING",
            Invitation.expires_at > now,
        )
        return await self._page(stmt, query, (Invitation.created_at, Invitation.id), scalars=True)

    # ---------------------------------------------------------------------------------------- join requests

    async def join_request(self, workspace_id: uuid.UUID, request_id: uuid.UUID) -> JoinRequest | None:
        query = select(JoinRequest).where(
            JoinRequest.id == request_id, JoinRequest.workspace_id == workspace_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def pending_join_request(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> JoinRequest | None:
        query = select(JoinRequest).where(
            JoinRequest.workspace_id == workspace_id,
            JoinRequest.user_id == user_id,
            JoinRequest.status == "PENDING",
        )
        return (await self.session.execute(query)).scalars().first()

    async def join_requests(
        self, workspace_id: uuid.UUID, status: str | None, query: Paging
    ) -> Slice[Row[tuple[JoinRequest, User]]]:
        stmt = (
            select(JoinRequest, User)
            .join(User, User.id == JoinRequest.user_id)
            .where(JoinRequest.workspace_id == workspace_id, User.deleted_at.is_(None))
        )
        if status is not None:
            stmt = stmt.where(JoinRequest.status == status)
        return await self._page(stmt, query, (JoinRequest.created_at, JoinRequest.id))

    # --------------------------------------------------------------------------------------------- profiles

    async def profile(self, user_id: uuid.UUID, scope: uuid.UUID = DEFAULT_SCOPE) -> Profile | None:
        return await self.session.get(Profile, (user_id, scope))

    async def avatar_shown(self, key: str) -> bool:
        """Whether a profile still shows the avatar under ``key``."""
        query = select(exists().where(Profile.avatar_key == key))
        return bool((await self.session.execute(query)).scalar())
