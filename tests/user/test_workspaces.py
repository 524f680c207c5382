"""``/api/workspaces``: create, list mine, read, settings, delete, search and transfer."""

from __future__ import annotations

import httpx

from tests.user.conftest import World


async def test_creating_a_workspace_makes_me_its_owner(world: World, client: httpx.AsyncClient) -> None:
    ada = await world.person("Ada")
    created = await world.workspace(ada, "  Apollo  ", description="Moon", isPublic=True)
    assert created == {
        "workspaceId": created["workspaceId"],
        "name": "Apollo",
        "description": "Moon",
        "isPublic": True,
        "requiresApproval": True,
        "onlyAdminsInvite": True,
        "ownerId": str(ada.id),
        "createdAt": created["createdAt"],
        "myRole": "OWNER",
    }
    added = await world.wait_for_event("user.member_added", workspaceId=created["workspaceId"])
    assert added["role"] == "OWNER" and added["via"] == "CREATED" and added["workspaceName"] == "Apollo"
    # The creator has a profile in the workspace, made from the default one.
    profile = await client.get(
        "/api/profiles/me", params={"workspaceId": created["workspaceId"]}, headers=ada.headers
    )
    assert profile.json()["nickname"] == "Ada"


async def test_bad_workspace_input_is_422(world: World, client: httpx.AsyncClient) -> None:
    ada = await world.person()
    for body in (
        {},
        {"name": ""},
        {"name": "x" * 101},
        {"name": "ok", "isPublic": "maybe"},
        {"name": "ok", "x": 1},
    ):
        assert (await client.post("/api/workspaces", headers=ada.headers, json=body)).status_code == 422, body


async def test_list_my_workspaces_with_my_role_page_by_page(world: World, client: httpx.AsyncClient) -> None:
    ada, bob = await world.person("Ada"), await world.person("Bob")
    names = [f"Space {n}" for n in range(5)]
    for name in names:
        await world.workspace(ada, name)
    theirs = await world.workspace(bob, "Bob's")
    await world.add(theirs, bob, ada)

    seen: list[tuple[str, str]] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/workspaces", params=params, headers=ada.headers)).json()
        assert len(page["items"]) <= 2
        seen += [(w["name"], w["myRole"]) for w in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [(n, "OWNER") for n in names] + [("Bob's", "MEMBER")]
    bad = await client.get("/api/workspaces", params={"cursor": "not-a-cursor"}, headers=ada.headers)
    assert bad.status_code == 422


async def test_settings_change_by_owner_and_admins_only(world: World, client: httpx.AsyncClient) -> None:
    ada, bob, cy = await world.person("Ada"), await world.person("Bob"), await world.person("Cy")
    space = await world.workspace(ada)
    await world.add(space, ada, bob, "ADMIN")
    await world.add(space, ada, cy)
    url = f"/api/workspaces/{space['workspaceId']}"

    by_admin = await client.patch(url, headers=bob.headers, json={"name": "Artemis", "isPublic": True})
    assert by_admin.status_code == 200
    assert by_admin.json()["name"] == "Artemis" and by_admin.json()["isPublic"] is True
    assert by_admin.json()["myRole"] == "ADMIN" and by_admin.json()["requiresApproval"] is True
    by_member = await client.patch(url, headers=cy.headers, json={"name": "Mine"})
    assert by_member.status_code == 403
    for body in ({"name": None}, {"isPublic": None}, {"name": ""}, {"ownerId": str(cy.id)}):
        assert (await client.patch(url, headers=ada.headers, json=body)).status_code == 422, body
    emptied = await client.patch(url, headers=ada.headers, json={"description": None})
    assert emptied.status_code == 200 and emptied.json()["description"] == ""
    assert (await client.get(url, headers=cy.headers)).json()["name"] == "Artemis"


async def test_only_the_owner_deletes_and_then_it_is_gone(world: World, client: httpx.AsyncClient) -> None:
    ada, bob = await world.person("Ada"), await world.person("Bob")
    space = await world.workspace(ada)
    await world.add(space, ada, bob, "ADMIN")
    url = f"/api/workspaces/{space['workspaceId']}"

    assert (await client.delete(url, headers=bob.headers)).status_code == 403
    assert (await client.delete(url, headers=ada.headers)).status_code == 204
    assert (await client.get(url, headers=ada.headers)).status_code == 404
    assert (await client.get(f"{url}/members", headers=bob.headers)).status_code == 404
    assert (await client.get("/api/workspaces", headers=ada.headers)).json()["items"] == []
    await world.wait_for_event("user.workspace_deleted", workspaceId=space["workspaceId"])


async def test_search_finds_public_workspaces_by_name_and_shows_public_fields(
    world: World, client: httpx.AsyncClient
) -> None:
    ada, eve = await world.person("Ada"), await world.person("Eve")
    for name in ("Rocket Lab", "rocketry club", "Secret Rockets", "Gardening", "팀 로켓", "100%_rocket"):
        await world.workspace(ada, name, isPublic=not name.startswith("Secret"), description=f"about {name}")

    found = await client.get("/api/workspaces/search", params={"q": "ROCKET"}, headers=eve.headers)
    assert found.status_code == 200
    items = found.json()["items"]
    assert [w["name"] for w in items] == ["100%_rocket", "Rocket Lab", "rocketry club"]
    assert set(items[0]) == {"workspaceId", "name", "description", "requiresApproval", "createdAt"}
    korean = await client.get("/api/workspaces/search", params={"q": "로켓"}, headers=eve.headers)
    assert [w["name"] for w in korean.json()["items"]] == ["팀 로켓"]
    # LIKE wildcards are searched for literally.
    literal = await client.get("/api/workspaces/search", params={"q": "%_"}, headers=eve.headers)
    assert [w["name"] for w in literal.json()["items"]] == ["100%_rocket"]

    first = (
        await client.get("/api/workspaces/search", params={"q": "rocket", "limit": 2}, headers=eve.headers)
    ).json()
    rest = await client.get(
        "/api/workspaces/search",
        params={"q": "rocket", "limit": 2, "cursor": first["nextCursor"]},
        headers=eve.headers,
    )
    assert [w["name"] for w in first["items"] + rest.json()["items"]] == [
        "100%_rocket",
        "Rocket Lab",
        "rocketry club",
    ]
    assert rest.json()["nextCursor"] is None
    assert (
        await client.get("/api/workspaces/search", params={"q": ""}, headers=eve.headers)
    ).status_code == 422


async def test_transfer_makes_a_member_the_owner_and_me_an_admin(
    world: World, client: httpx.AsyncClient
) -> None:
    ada, bob, eve = await world.person("Ada"), await world.person("Bob"), await world.person("Eve")
    space = await world.workspace(ada)
    await world.add(space, ada, bob)
    url = f"/api/workspaces/{space['workspaceId']}"

    assert (
        await client.post(f"{url}/transfer", headers=bob.headers, json={"userId": str(bob.id)})
    ).status_code == 403
    assert (
        await client.post(f"{url}/transfer", headers=ada.headers, json={"userId": str(eve.id)})
    ).status_code == 404
    assert (
        await client.post(f"{url}/transfer", headers=ada.headers, json={"userId": str(ada.id)})
    ).status_code == 409
    moved = await client.post(f"{url}/transfer", headers=ada.headers, json={"userId": str(bob.id)})
    assert moved.status_code == 200
    assert moved.json()["ownerId"] == str(bob.id) and moved.json()["myRole"] == "ADMIN"
    roles = {
        m["userId"]: m["role"]
        for m in (await client.get(f"{url}/members", headers=ada.headers)).json()["items"]
    }
    assert roles == {str(ada.id): "ADMIN", str(bob.id): "OWNER"}
    await world.wait_for_event(
        "user.member_role_changed", userId=str(bob.id), role="OWNER", previousRole="MEMBER"
    )
    # The new owner may delete it; the old one may not any more.
    assert (await client.delete(url, headers=ada.headers)).status_code == 403
    assert (await client.delete(url, headers=bob.headers)).status_code == 204


async def test_transfer_to_a_member_is_refused_when_the_admin_seats_are_full(
    world: World, client: httpx.AsyncClient
) -> None:
    ada = await world.person("Ada")
    space = await world.workspace(ada)
    for n in range(4):
        await world.add(space, ada, await world.person(f"Admin {n}"), "ADMIN")
    bob = await world.person("Bob")
    await world.add(space, ada, bob)
    url = f"/api/workspaces/{space['workspaceId']}/transfer"

    refused = await client.post(url, headers=ada.headers, json={"userId": str(bob.id)})
    assert refused.status_code == 409 and refused.json()["code"] == "ADMIN_LIMIT"
