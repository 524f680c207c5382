"""The user plugin's periodic jobs: what outlived its time is purged.

- ``user.purge_avatar_uploads`` (hourly): avatar uploads never attached, or released since (an avatar
  replaced), lose their object and their record once expired, on the core's upload flow
  (``Uploads.purge_all_expired``).
- ``user.expire_invitations`` (hourly): pending invitations past their ``expires_at`` become ``EXPIRED``.
- ``user.purge_deleted_accounts`` (daily, 03:30 UTC): an account deleted more than ``restore_grace_days``
  ago is erased. Its row stays as a tombstone, so that the ids other plugins keep (a task's assignee, a
  message's author) still answer ``deleted`` with the name "Deleted user" and restore answers
  ``RESTORE_PERIOD_OVER``; its email becomes ``deleted-<id>@deleted.invalid`` (the address may sign up
  again). Its profiles, memberships, join requests and the invitations addressed to it are deleted, and
  its avatars released and purged, objects included. No event is sent: the account left every workspace,
  for everyone, when it was deleted (``user.user_deleted``).

Each job works in batches, each its own short transaction, and uses ``ctx.now`` for its cut-off.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, or_, select, update
from wealist_plugins.user.models import Invitation, JoinRequest, Member, Profile, User
from wealist_plugins.user.options import UserOptions

from wealist_core import Database, Job, JobContext, Uploads

__all__ = ["PURGED_EMAIL_DOMAIN", "PURGED_NAME", "UserPurges", "user_jobs"]

#: The email domain of erased accounts: ``.invalid`` is reserved (RFC 2606), so no real address has it.
PURGED_EMAIL_DOMAIN = "deleted.invalid"
PURGED_NAME = "Deleted user"
BATCH = 200
# Bulk statements on rows the session has not loaded: nothing in it to synchronise.
_BULK = {"synchronize_session": False}
#: Avatars are attached with their user as owner (``owner_type`` ``user``, ``owner_id`` the user's id).
_AVATAR_OWNER = "user"


def user_jobs(options: UserOptions, avatars: Uploads) -> list[Job]:
    """The jobs the plugin registers, built from its options and its avatar uploads."""
    purges = UserPurges(options, avatars)
    return [
        Job(
            "purge_avatar_uploads",
            purges.avatar_uploads,
            every=dt.timedelta(hours=1),
            description="deletes expired avatar uploads that no profile shows",
        ),
        Job(
            "expire_invitations",
            purges.invitations,
            every=dt.timedelta(hours=1),
            description="marks pending invitations past their expiry EXPIRED",
        ),
        Job(
            "purge_deleted_accounts",
            purges.accounts,
            cron="30 3 * * *",
            timeout=dt.timedelta(minutes=30),
            description="erases accounts deleted longer ago than the restore grace period",
        ),
    ]


class UserPurges:
    """The job functions; each takes the run's context and reads its database from it."""

    def __init__(self, options: UserOptions, avatars: Uploads) -> None:
        self.options = options
        self.avatars = avatars

    async def avatar_uploads(self, ctx: JobContext) -> None:
        purged = await self.avatars.purge_all_expired(ctx.container.database(ctx.plugin), now=ctx.now)
        if purged:
            ctx.log.info("purged avatar uploads", extra={"count": purged})

    async def invitations(self, ctx: JobContext) -> None:
        async with ctx.container.database(ctx.plugin).unit_of_work() as uow:
            result = await uow.session.execute(
                update(Invitation)
                .where(Invitation.status == "PENDING", Invitation.expires_at <= ctx.now)
                .values(status="EXPIRED", decided_at=Invitation.expires_at),
                execution_options=_BULK,
            )
        count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            ctx.log.info("expired invitations", extra={"count": count})

    async def accounts(self, ctx: JobContext) -> None:
        database = ctx.container.database(ctx.plugin)
        cutoff = ctx.now - dt.timedelta(days=self.options.restore_grace_days)
        erased = 0
        while True:
            async with database.reading() as session:
                query = (
                    select(User.id)
                    .where(User.deleted_at < cutoff, ~User.email.endswith(f"@{PURGED_EMAIL_DOMAIN}"))
                    .order_by(User.deleted_at, User.id)
                    .limit(BATCH)
                )
                user_ids = list((await session.execute(query)).scalars())
            for user_id in user_ids:
                erased += await self._erase(database, user_id, cutoff, ctx.now)
            if len(user_ids) < BATCH:
                break
        if erased:
            # The avatars released above are past their expiry: their objects go now, not in an hour.
            await self.avatars.purge_all_expired(database)
            ctx.log.info("erased deleted accounts", extra={"count": erased})

    async def _erase(
        self, database: Database, user_id: uuid.UUID, cutoff: dt.datetime, now: dt.datetime
    ) -> int:
        async with database.unit_of_work() as uow:
            session = uow.session
            user = await session.get(User, user_id, with_for_update=True)
            if user is None or user.deleted_at is None or user.deleted_at >= cutoff:
                return 0  # restored (and perhaps deleted again) since it was chosen
            await self.avatars.release_owner(uow, _AVATAR_OWNER, user_id)
            for model in (Profile, Member, JoinRequest):
                await session.execute(delete(model).where(model.user_id == user_id), execution_options=_BULK)
            addressed = or_(Invitation.email == user.email, Invitation.accepted_by == user_id)
            await session.execute(delete(Invitation).where(addressed), execution_options=_BULK)
            user.email = f"deleted-{user_id.hex}@{PURGED_EMAIL_DOMAIN}"
            user.name = PURGED_NAME
            user.default_workspace_id = None
            user.updated_at = now
        return 1
