"""The user plugin's periodic jobs: what outlived its time is purged.

- ``user.purge_avatar_uploads`` (hourly): an avatar upload key that no profile shows, once its upload URL
  has been expired for as long again as it was valid (so a client that finished uploading at the last
  moment still attaches it), loses its object in the blob store and its row. That covers uploads never
  made, uploads never attached and avatars replaced since.
- ``user.expire_invitations`` (hourly): pending invitations past their ``expires_at`` become ``EXPIRED``.
- ``user.purge_deleted_accounts`` (daily, 03:30 UTC): an account deleted more than ``restore_grace_days``
  ago is erased. Its row stays as a tombstone, so that the ids other plugins keep (a task's assignee, a
  message's author) still answer ``deleted`` with the name "Deleted user" and restore answers
  ``RESTORE_PERIOD_OVER``; its email becomes ``deleted-<id>@deleted.invalid`` (the address may sign up
  again). Its profiles and avatars (objects included), memberships, join requests and the invitations
  addressed to it are deleted. No event is sent: the account left every workspace, for everyone, when it
  was deleted (``user.user_deleted``).

Each job works in batches, each its own short transaction, and uses ``ctx.now`` for its cut-off. Objects
are deleted from the blob store before the rows that name them: if that fails, the rows stay and the
next run tries again, and no object is ever left without a row pointing at it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from sqlalchemy import delete, or_, select, update
from wealist_plugins.user.models import USER_UPLOADS, Invitation, JoinRequest, Member, Profile, User
from wealist_plugins.user.options import UserOptions, avatar_policy

from wealist_core import BlobStore, Database, Job, JobContext, Uploads

__all__ = ["PURGED_EMAIL_DOMAIN", "PURGED_NAME", "UserPurges", "user_jobs"]

#: The email domain of erased accounts: ``.invalid`` is reserved (RFC 2606), so no real address has it.
PURGED_EMAIL_DOMAIN = "deleted.invalid"
PURGED_NAME = "Deleted user"
BATCH = 200
_PARALLEL_DELETES = 16  # blob deletions in flight at once
# Bulk statements on rows the session has not loaded: nothing in it to synchronise.
_BULK = {"synchronize_session": False}


def user_jobs(options: UserOptions) -> list[Job]:
    """The jobs the plugin registers, built from its options."""
    purges = UserPurges(options)
    return [
        Job(
            "purge_avatar_uploads",
            purges.avatar_uploads,
            every=dt.timedelta(hours=1),
            description="deletes avatar uploads no profile shows, once their upload URL is long expired",
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
    """The job functions; each takes the run's context and reads its ports from it."""

    def __init__(self, options: UserOptions) -> None:
        self.options = options

    async def avatar_uploads(self, ctx: JobContext) -> None:
        database, blobs = _ports(ctx)
        uploads = Uploads(blobs, plugin=ctx.plugin, purpose="avatar", policy=avatar_policy(self.options))
        purged = await uploads.purge_all_expired(database, now=ctx.now, batch=BATCH)
        if purged:
            ctx.log.info("purged avatar uploads", extra={"count": purged})

    async def invitations(self, ctx: JobContext) -> None:
        database, _blobs = _ports(ctx)
        async with database.unit_of_work() as uow:
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
        database, blobs = _ports(ctx)
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
                await self._erase(database, blobs, user_id, cutoff, ctx.now)
            erased += len(user_ids)
            if len(user_ids) < BATCH:
                break
        if erased:
            ctx.log.info("erased deleted accounts", extra={"count": erased})

    async def _erase(
        self, database: Database, blobs: BlobStore, user_id: uuid.UUID, cutoff: dt.datetime, now: dt.datetime
    ) -> None:
        async with database.reading() as session:
            shown = select(Profile.avatar_key).where(Profile.user_id == user_id)
            issued = select(USER_UPLOADS.c.key).where(USER_UPLOADS.c.uploader_id == user_id)
            keys = {*(await session.execute(shown)).scalars(), *(await session.execute(issued)).scalars()}
        await _delete_blobs(blobs, sorted(key for key in keys if key))
        async with database.unit_of_work() as uow:
            session = uow.session
            user = await session.get(User, user_id, with_for_update=True)
            if user is None or user.deleted_at is None or user.deleted_at >= cutoff:
                return  # restored (and perhaps deleted again) since it was chosen
            for model in (Profile, Member, JoinRequest):
                await session.execute(delete(model).where(model.user_id == user_id), execution_options=_BULK)
            await session.execute(delete(USER_UPLOADS).where(USER_UPLOADS.c.uploader_id == user_id))
            addressed = or_(Invitation.email == user.email, Invitation.accepted_by == user_id)
            await session.execute(delete(Invitation).where(addressed), execution_options=_BULK)
            user.email = f"deleted-{user_id.hex}@{PURGED_EMAIL_DOMAIN}"
            user.name = PURGED_NAME
            user.default_workspace_id = None
            user.updated_at = now


def _ports(ctx: JobContext) -> tuple[Database, BlobStore]:
    return ctx.container.database(ctx.plugin), ctx.container.blobstore(ctx.plugin)


async def _delete_blobs(blobs: BlobStore, keys: list[str]) -> None:
    # Deleting a missing object is no error, so a key never uploaded, or deleted by an earlier run, is fine.
    for start in range(0, len(keys), _PARALLEL_DELETES):
        await asyncio.gather(*(blobs.delete(key) for key in keys[start : start + _PARALLEL_DELETES]))
