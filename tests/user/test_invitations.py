"""Invitations by email: existing users are added, unknown addresses get a link; list, revoke, accept."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import httpx
import pytest
from sqlalchemy import select, update
from wealist_plugins.user.models import Invitation

from tests.user.conftest import World
from wealist_core import Conflict

LINK = re.compile(r"http://127\.0\.0\.1:8000/invite/([A-Za-z0-9_-]+)")


def _token(world: World, email: str) -> str:
    mails = [m for m in world.mails if email in m.to]
    assert mails, f"no mail to {email}"
    match = LINK.search(mails[-1].text)
    assert match, mails[-1].text
    return match.group(1)


async def test_an_existing_user_is_added_at_once(world: World, client: httpx.AsyncClient) -> None:
    ada, bob = await world.person("Ada"), await world.person("Bob", "bob@example.com")
    space = await world.workspace(ada, "Apollo")
    url = f"/api/workspaces/{space['workspaceId']}/invitations"

    added = await client.post(url, headers=ada.headers, json={"email": " BOB@example.com "})
    assert added.status_code == 201
    assert added.json() == {"status": "ADDED", "invitationId": None, "userId": str(bob.id), "emailSent": None}
    event = await world.wait_for_event("user.member_added", userId=str(bob.id))
    assert event["via"] == "INVITATION" and event["actorName"] == "Ada" and event["workspaceName"] == "Apollo"
    again = await client.post(url, headers=ada.headers, json={"email": bob.email})
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_MEMBER"


async def test_an_unknown_address_gets_a_link_that_works_on_sign_up(
    world: World, client: httpx.AsyncClient
) -> None:
    ada = await world.person("Ada")
    space = await world.workspace(ada, "Apollo")
    url = f"/api/workspaces/{space['workspaceId']}/invitations"

    invited = await client.post(
        url, headers=ada.headers, json={"email": "Newcomer@Example.com", "role": "ADMIN"}
    )
    assert invited.status_code == 201
    body = invited.json()
    assert body["status"] == "INVITED" and body["emailSent"] is True
    token = _token(world, "newcomer@example.com")
    sent = await world.wait_for_event("user.invitation_sent", invitationId=body["invitationId"])
    assert sent["email"] == "newcomer@example.com" and sent["role"] == "ADMIN" and token not in str(sent)
    # Only the token's hash is stored.
    async with world.container.database("user").unit_of_work() as uow:
        stored = (await uow.session.execute(select(Invitation))).scalar_one()
    assert stored.token_hash != token and token not in stored.token_hash and len(stored.token_hash) == 64

    listed = (await client.get(url, headers=ada.headers)).json()
    assert [(i["email"], i["role"]) for i in listed["items"]] == [("newcomer@example.com", "ADMIN")]

    # Signing up with the address turns the invitation into a membership.
    newcomer = await world.person("Newcomer", "newcomer@example.com")
    workspaces = (await client.get("/api/workspaces", headers=newcomer.headers)).json()["items"]
    assert [(w["workspaceId"], w["myRole"]) for w in workspaces] == [(space["workspaceId"], "ADMIN")]
    assert (await client.get(url, headers=ada.headers)).json()["items"] == []
    # Following the link afterwards is harmless.
    accepted = await client.post(f"/api/workspaces/invitations/{token}/accept", headers=newcomer.headers)
    assert accepted.status_code == 200 and accepted.json()["alreadyMember"] is True


async def test_accepting_a_link_with_another_account(world: World, client: httpx.AsyncClient) -> None:
    ada, bob = await world.person("Ada"), await world.person("Bob")
    space = await world.workspace(ada, "Apollo")
    await client.post(
        f"/api/workspaces/{space['workspaceId']}/invitations",
        headers=ada.headers,
        json={"email": "other@example.com"},
    )
    token = _token(world, "other@example.com")

    accepted = await client.post(f"/api/workspaces/invitations/{token}/accept", headers=bob.headers)
    assert accepted.status_code == 200
    assert accepted.json()["workspace"]["workspaceId"] == space["workspaceId"]
    assert accepted.json()["workspace"]["myRole"] == "MEMBER" and accepted.json()["alreadyMember"] is False
    again = await client.post(f"/api/workspaces/invitations/{token}/accept", headers=bob.headers)
    assert again.status_code == 200 and again.json()["alreadyMember"] is True
    # A link works once: not for someone else, nor for the same person once removed.
    members = f"/api/workspaces/{space['workspaceId']}/members"
    assert (await client.delete(f"{members}/{bob.id}", headers=ada.headers)).status_code == 204
    assert (
        await client.post(f"/api/workspaces/invitations/{token}/accept", headers=bob.headers)
    ).status_code == 404
    eve = await world.person("Eve")
    assert (
        await client.post(f"/api/workspaces/invitations/{token}/accept", headers=eve.headers)
    ).status_code == 404
    assert (
        await client.post("/api/workspaces/invitations/nonsense/accept", headers=eve.headers)
    ).status_code == 404


async def test_revoked_and_reissued_links_stop_working(world: World, client: httpx.AsyncClient) -> None:
    ada, bob = await world.person("Ada"), await world.person("Bob")
    space = await world.workspace(ada)
    url = f"/api/workspaces/{space['workspaceId']}/invitations"

    first = (await client.post(url, headers=ada.headers, json={"email": "x@example.com"})).json()
    old_token = _token(world, "x@example.com")
    second = (await client.post(url, headers=ada.headers, json={"email": "x@example.com"})).json()
    assert second["invitationId"] == first["invitationId"]  # one invitation, a fresh link
    new_token = _token(world, "x@example.com")
    assert new_token != old_token
    assert (
        await client.post(f"/api/workspaces/invitations/{old_token}/accept", headers=bob.headers)
    ).status_code == 404

    assert (await client.delete(f"{url}/{first['invitationId']}", headers=ada.headers)).status_code == 204
    assert (await client.delete(f"{url}/{first['invitationId']}", headers=ada.headers)).status_code == 404
    assert (
        await client.post(f"/api/workspaces/invitations/{new_token}/accept", headers=bob.headers)
    ).status_code == 404
    assert (await client.get(url, headers=ada.headers)).json()["items"] == []
    # A revoked invitation is not turned into a membership at sign-up either.
    late = await world.person("X", "x@example.com")
    assert (await client.get("/api/workspaces", headers=late.headers)).json()["items"] == []


async def test_invalid_input_is_422(world: World, client: httpx.AsyncClient) -> None:
    ada = await world.person()
    space = await world.workspace(ada)
    url = f"/api/workspaces/{space['workspaceId']}/invitations"
    for body in ({"email": "not-an-email"}, {"email": ""}, {}, {"email": "a@example.com", "role": "OWNER"}):
        answer = await client.post(url, headers=ada.headers, json=body)
        assert answer.status_code == 422, body
    assert world.mails == []


async def test_only_admins_invite_unless_the_workspace_allows_members(
    world: World, client: httpx.AsyncClient
) -> None:
    ada, bob = await world.person("Ada"), await world.person("Bob")
    space = await world.workspace(ada)
    await world.add(space, ada, bob)
    url = f"/api/workspaces/{space['workspaceId']}/invitations"

    assert (await client.post(url, headers=bob.headers, json={"email": "c@example.com"})).status_code == 403
    assert (await client.get(url, headers=bob.headers)).status_code == 403
    await client.patch(
        f"/api/workspaces/{space['workspaceId']}", headers=ada.headers, json={"onlyAdminsInvite": False}
    )
    assert (await client.post(url, headers=bob.headers, json={"email": "c@example.com"})).status_code == 201
    # A member may invite members, never admins.
    assert (
        await client.post(url, headers=bob.headers, json={"email": "d@example.com", "role": "ADMIN"})
    ).status_code == 403


async def test_invitation_to_a_deleted_workspace_is_not_honoured(
    world: World, client: httpx.AsyncClient
) -> None:
    ada = await world.person("Ada")
    space = await world.workspace(ada)
    await client.post(
        f"/api/workspaces/{space['workspaceId']}/invitations",
        headers=ada.headers,
        json={"email": "z@example.com"},
    )
    await client.delete(f"/api/workspaces/{space['workspaceId']}", headers=ada.headers)
    token = _token(world, "z@example.com")
    late = await world.person("Z", "z@example.com")
    assert (await client.get("/api/workspaces", headers=late.headers)).json()["items"] == []
    assert (
        await client.post(f"/api/workspaces/invitations/{token}/accept", headers=late.headers)
    ).status_code == 404


async def test_directory_create_user_refuses_a_taken_email(world: World) -> None:
    await world.person("Ada", "ada@example.com")
    with pytest.raises(Conflict) as caught:
        await world.directory.create_user(uuid.uuid4(), " ADA@example.com", "Other")
    assert caught.value.code == "EMAIL_TAKEN"


async def test_an_expired_link_does_nothing(world: World, client: httpx.AsyncClient) -> None:
    ada, bob = await world.person("Ada"), await world.person("Bob")
    space = await world.workspace(ada)
    await client.post(
        f"/api/workspaces/{space['workspaceId']}/invitations",
        headers=ada.headers,
        json={"email": "late@example.com"},
    )
    token = _token(world, "late@example.com")
    async with world.container.database("user").unit_of_work() as uow:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await uow.session.execute(update(Invitation).values(expires_at=past))

    assert (
        await client.post(f"/api/workspaces/invitations/{token}/accept", headers=bob.headers)
    ).status_code == 404
    assert (
        await client.get(f"/api/workspaces/{space['workspaceId']}/invitations", headers=ada.headers)
    ).json()["items"] == []
    late = await world.person("Late", "late@example.com")
    assert (await client.get("/api/workspaces", headers=late.headers)).json()["items"] == []
