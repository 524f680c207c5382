"""Join requests: public workspaces only, pending until decided (or approved at once), decided once."""

from __future__ import annotations

import httpx

from tests.user.conftest import World


async def test_a_request_waits_for_an_admin_who_approves_it(world: World, client: httpx.AsyncClient) -> None:
    ada, bob, eve = await world.person("Ada"), await world.person("Bob"), await world.person("Eve")
    space = await world.workspace(ada, "Open", isPublic=True)
    await world.add(space, ada, bob, "ADMIN")
    url = f"/api/workspaces/{space['workspaceId']}/join-requests"

    made = await client.post(url, headers=eve.headers, json={"message": "Hi, I am Eve"})
    assert made.status_code == 201
    request = made.json()
    assert (
        request["status"] == "PENDING"
        and request["userId"] == str(eve.id)
        and request["message"] == "Hi, I am Eve"
    )
    created = await world.wait_for_event("user.join_request_created", requestId=request["requestId"])
    assert sorted(created["adminIds"]) == sorted([str(ada.id), str(bob.id)]) and created["userName"] == "Eve"
    again = await client.post(url, headers=eve.headers, json={})
    assert again.status_code == 409 and again.json()["code"] == "JOIN_REQUEST_PENDING"
    assert (
        await client.get(f"/api/workspaces/{space['workspaceId']}", headers=eve.headers)
    ).status_code == 404

    listed = (await client.get(url, headers=bob.headers)).json()
    assert [r["requestId"] for r in listed["items"]] == [request["requestId"]]
    approved = await client.post(f"{url}/{request['requestId']}/approve", headers=bob.headers)
    assert approved.status_code == 200 and approved.json()["status"] == "APPROVED"
    assert approved.json()["decidedBy"] == str(bob.id)
    decided = await world.wait_for_event("user.join_request_decided", requestId=request["requestId"])
    assert decided["status"] == "APPROVED" and decided["userId"] == str(eve.id)
    joined = await client.get(f"/api/workspaces/{space['workspaceId']}", headers=eve.headers)
    assert joined.status_code == 200 and joined.json()["myRole"] == "MEMBER"

    # A second decision is a conflict, either way.
    for verb in ("approve", "reject"):
        second = await client.post(f"{url}/{request['requestId']}/{verb}", headers=ada.headers)
        assert second.status_code == 409 and second.json()["code"] == "ALREADY_DECIDED"
    assert (await client.get(url, headers=ada.headers)).json()["items"] == []
    every = (await client.get(url, params={"status": "ALL"}, headers=ada.headers)).json()["items"]
    assert [r["status"] for r in every] == ["APPROVED"]
    # Asking again as a member is a conflict too.
    assert (await client.post(url, headers=eve.headers, json={})).status_code == 409


async def test_a_rejected_request_leaves_them_out(world: World, client: httpx.AsyncClient) -> None:
    ada, eve = await world.person("Ada"), await world.person("Eve")
    space = await world.workspace(ada, "Open", isPublic=True)
    url = f"/api/workspaces/{space['workspaceId']}/join-requests"
    request = (await client.post(url, headers=eve.headers)).json()

    rejected = await client.post(f"{url}/{request['requestId']}/reject", headers=ada.headers)
    assert rejected.status_code == 200 and rejected.json()["status"] == "REJECTED"
    assert (
        await client.get(f"/api/workspaces/{space['workspaceId']}", headers=eve.headers)
    ).status_code == 404
    # They may ask again later.
    assert (await client.post(url, headers=eve.headers)).status_code == 201


async def test_no_approval_needed_means_approved_at_once(world: World, client: httpx.AsyncClient) -> None:
    ada, eve = await world.person("Ada"), await world.person("Eve")
    space = await world.workspace(ada, "Open", isPublic=True, requiresApproval=False)

    made = await client.post(f"/api/workspaces/{space['workspaceId']}/join-requests", headers=eve.headers)
    assert made.status_code == 201 and made.json()["status"] == "APPROVED"
    joined = await client.get(f"/api/workspaces/{space['workspaceId']}", headers=eve.headers)
    assert joined.status_code == 200 and joined.json()["myRole"] == "MEMBER"
    added = await world.wait_for_event("user.member_added", userId=str(eve.id))
    assert added["via"] == "JOIN_REQUEST"


async def test_private_workspaces_are_404_and_members_do_not_decide(
    world: World, client: httpx.AsyncClient
) -> None:
    ada, bob, eve = await world.person("Ada"), await world.person("Bob"), await world.person("Eve")
    private = await world.workspace(ada, "Closed")
    answer = await client.post(f"/api/workspaces/{private['workspaceId']}/join-requests", headers=eve.headers)
    assert answer.status_code == 404

    public = await world.workspace(ada, "Open", isPublic=True)
    await world.add(public, ada, bob)
    url = f"/api/workspaces/{public['workspaceId']}/join-requests"
    request = (await client.post(url, headers=eve.headers)).json()
    assert (await client.get(url, headers=bob.headers)).status_code == 403
    assert (
        await client.post(f"{url}/{request['requestId']}/approve", headers=bob.headers)
    ).status_code == 403
    assert (
        await client.post(f"{url}/{request['requestId']}/approve", headers=eve.headers)
    ).status_code == 404
