"""The user plugin's periodic jobs: avatar uploads, invitations and deleted accounts purged in time.

Each job is run as the host runs it (the scheduler, its lease and its state), at a moment the test
chooses with the scheduler's clock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select, update
from wealist_plugins.user.models import USER_UPLOADS, Invitation, JoinRequest, Member, Profile, User

from tests.user.conftest import Person, World
from wealist_core import utcnow
from wealist_core.scheduler import JobScheduler
from wealist_core.testing import send_presigned

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def run_job(world: World, name: str, at: dt.datetime) -> None:
    scheduler = world.app.state.wealist.jobs
    assert isinstance(scheduler, JobScheduler)
    scheduler.clock = lambda: at
    run = await scheduler.run_now(name)
    assert run.outcome == "success", run.error


async def upload(client: httpx.AsyncClient, who: Person, *, put: bool = True) -> str:
    """An avatar key issued to ``who`` for their default profile; its object uploaded when ``put``."""
    body = {"fileName": "me.png", "contentType": "image/png", "size": len(PNG)}
    grant = (await client.post("/api/profiles/me/avatar", headers=who.headers, json=body)).json()
    if put:
        stored = await send_presigned(
            client, "PUT", grant["uploadUrl"], content=PNG, headers=grant["headers"]
        )
        assert stored.status_code in (200, 201, 204), stored.text
    return str(grant["key"])


async def attach(client: httpx.AsyncClient, who: Person, key: str) -> httpx.Response:
    return await client.patch("/api/profiles/me", headers=who.headers, json={"avatarKey": key})


async def upload_keys(world: World) -> set[str]:
    async with world.container.database("user").reading() as session:
        return set((await session.execute(select(USER_UPLOADS.c.key))).scalars())


async def stored(world: World, key: str) -> bool:
    return await world.container.blobstore("user").head(key) is not None


async def test_avatar_uploads_no_profile_shows_are_purged_once_long_expired(
    world: World, client: httpx.AsyncClient
) -> None:
    ada = await world.person("Ada")
    replaced, shown = await upload(client, ada), await upload(client, ada)
    assert (await attach(client, ada, replaced)).status_code == 200
    assert (await attach(client, ada, shown)).status_code == 200  # replaces the first
    abandoned, never_sent = await upload(client, ada), await upload(client, ada, put=False)
    issued = utcnow()

    await run_job(world, "user.purge_avatar_uploads", issued + dt.timedelta(minutes=20))
    # The URLs (15 minutes) have expired, but not for as long again: a late client may still attach.
    assert await upload_keys(world) == {replaced, shown, abandoned, never_sent}

    await run_job(world, "user.purge_avatar_uploads", issued + dt.timedelta(minutes=31))
    assert await upload_keys(world) == {shown}
    assert await stored(world, shown)
    assert not await stored(world, replaced) and not await stored(world, abandoned)
    late = await attach(client, ada, abandoned)
    assert late.status_code == 422 and late.json()["code"] == "AVATAR_KEY_UNKNOWN"
    me = (await client.get("/api/profiles/me", headers=ada.headers)).json()
    assert me["avatarUrl"] and shown in me["avatarUrl"]


async def test_pending_invitations_past_their_expiry_become_expired(
    world: World, client: httpx.AsyncClient
) -> None:
    ada = await world.person("Ada")
    space = await world.workspace(ada)
    url = f"/api/workspaces/{space['workspaceId']}/invitations"
    for email in ("early@example.com", "accepted@example.com"):
        invited = await client.post(url, headers=ada.headers, json={"email": email, "role": "MEMBER"})
        assert invited.status_code == 201, invited.text
    await world.person("Accepted", "accepted@example.com")  # signing up accepts it
    sent = utcnow()
    late = await client.post(url, headers=ada.headers, json={"email": "late@example.com", "role": "MEMBER"})
    assert late.status_code == 201

    await run_job(world, "user.expire_invitations", sent + dt.timedelta(days=6))
    assert await statuses(world) == {
        "early@example.com": "PENDING",
        "accepted@example.com": "ACCEPTED",
        "late@example.com": "PENDING",
    }
    await run_job(world, "user.expire_invitations", sent + dt.timedelta(days=7, minutes=1))
    assert await statuses(world) == {
        "early@example.com": "EXPIRED",
        "accepted@example.com": "ACCEPTED",
        "late@example.com": "EXPIRED",
    }
    async with world.container.database("user").reading() as session:
        expired = (await session.execute(select(Invitation).where(Invitation.status == "EXPIRED"))).scalars()
        assert all(invitation.decided_at == invitation.expires_at for invitation in expired)

    # Inviting the address again sends a fresh invitation that works.
    again = await client.post(url, headers=ada.headers, json={"email": "early@example.com", "role": "MEMBER"})
    assert again.status_code == 201 and again.json()["status"] == "INVITED"
    listed = (await client.get(url, headers=ada.headers)).json()["items"]
    assert [i["email"] for i in listed] == ["early@example.com"]


async def statuses(world: World) -> dict[str, str]:
    async with world.container.database("user").reading() as session:
        rows = await session.execute(select(Invitation.email, Invitation.status))
        return {email: status for email, status in rows}


async def test_accounts_deleted_past_the_grace_period_are_erased(
    world: World, client: httpx.AsyncClient
) -> None:
    _space, (owner, ada, recent) = await world.team("Owner", "Ada", "Recent")
    avatar = await upload(client, ada)
    assert (await attach(client, ada, avatar)).status_code == 200
    public = await world.workspace(owner, "Open", isPublic=True)
    asked = await client.post(
        f"/api/workspaces/{public['workspaceId']}/join-requests", headers=ada.headers, json={}
    )
    assert asked.status_code == 201, asked.text
    for who in (ada, recent):
        assert (await client.delete("/api/users/me", headers=who.headers)).status_code == 204
    now = utcnow()
    await deleted_at(world, recent.id, now - dt.timedelta(days=29, hours=23))
    await deleted_at(world, ada.id, now - dt.timedelta(days=29, hours=23))

    await run_job(world, "user.purge_deleted_accounts", now)
    (still,) = await world.directory.get_users([ada.id])
    assert still.email == ada.email and still.name == "Ada"

    await deleted_at(world, ada.id, now - dt.timedelta(days=30, minutes=1))
    await run_job(world, "user.purge_deleted_accounts", now)
    (erased,) = await world.directory.get_users([ada.id])
    assert erased.deleted and erased.name == "Deleted user"
    assert erased.email == f"deleted-{ada.id.hex}@deleted.invalid"
    assert await world.directory.find_user_by_email(ada.email) is None
    assert not await stored(world, avatar)
    assert await rows_of(world, ada.id) == {"profiles": 0, "uploads": 0, "members": 0, "join_requests": 0}
    late = await client.post("/api/users/me/restore", headers=ada.headers)
    assert late.status_code == 409 and late.json()["code"] == "RESTORE_PERIOD_OVER"
    # The address is free again: its owner may sign up anew.
    again = await world.person("Ada", ada.email)
    assert again.id != ada.id

    # The owner and the account deleted later are untouched; a second run erases nothing more.
    kept = {u.user_id: u for u in await world.directory.get_users([owner.id, recent.id])}
    kept_owner, kept_recent = kept[owner.id], kept[recent.id]
    assert (kept_owner.name, kept_owner.deleted) == ("Owner", False)
    assert (kept_recent.email, kept_recent.deleted) == (recent.email, True)
    assert (await rows_of(world, owner.id))["members"] == 2
    await run_job(world, "user.purge_deleted_accounts", now + dt.timedelta(minutes=1))
    assert (await world.directory.get_users([recent.id]))[0].email == recent.email


async def deleted_at(world: World, user_id: uuid.UUID, moment: dt.datetime) -> None:
    """As if the account had been deleted at ``moment``, its uploads made an hour before."""
    async with world.container.database("user").unit_of_work() as uow:
        user = await uow.session.get(User, user_id)
        assert user is not None and user.deleted_at is not None
        user.deleted_at = moment
        before = moment - dt.timedelta(hours=1)
        mine = USER_UPLOADS.c.uploader_id == user_id
        await uow.session.execute(update(USER_UPLOADS).where(mine).values(created_at=before))


async def rows_of(world: World, user_id: uuid.UUID) -> dict[str, int]:
    async with world.container.database("user").reading() as session:

        async def count(model: type, column: Any) -> int:
            query = select(func.count()).select_from(model).where(column == user_id)
            return int((await session.execute(query)).scalar_one())

        return {
            "profiles": await count(Profile, Profile.user_id),
            "uploads": await count(USER_UPLOADS, USER_UPLOADS.c.uploader_id),
            "members": await count(Member, Member.user_id),
            "join_requests": await count(JoinRequest, JoinRequest.user_id),
        }
