"""Members and roles: listing with profiles, role changes, the admin limit, removing and leaving."""

from __future__ import annotations

import httpx

from tests.user.conftest import Person, World


async def _roles(client: httpx.AsyncClient, space: dict[str, str], who: Person) -> dict[str, str]:
    answer = await client.get(f"/api/workspaces/{space['workspaceId']}/members", headers=who.headers)
    assert answer.status_code == 200, answer.text
    return {m["userId"]: m["role"] for m in answer.json()["items"]}


async def test_members_are_listed_with_their_workspace_profile_page_by_page(
    world: World, client: httpx.AsyncClient
) -> None:
    ada = await world.person("Ada Lovelace")
    space = await world.workspace(ada)
    people = [await world.person(f"Member {n}") for n in range(4)]
    for person in people:
        await world.add(space, ada, person)
    await client.patch(
        "/api/profiles/me",
        params={"workspaceId": space["workspaceId"]},
        headers=ada.headers,
        json={"nickname": "Countess"},
    )
    url = f"/api/workspaces/{space['workspaceId']}/members"

    first = (await client.get(url, params={"limit": 3}, headers=people[0].headers)).json()
    second = (
        await client.get(url, params={"limit": 3, "cursor": first["nextCursor"]}, headers=people[0].headers)
    ).json()
    assert second["nextCursor"] is None
    members = first["items"] + second["items"]
    assert [m["userId"] for m in members] == [str(p.id) for p in (ada, *people)]
    assert members[0] == {
        "userId": str(ada.id),
        "name": "Ada Lovelace",
        "role": "OWNER",
        "nickname": "Countess",
        "avatarUrl": None,
        "joinedAt": members[0]["joinedAt"],
    }
    assert members[1]["nickname"] == "Member 0" and members[1]["role"] == "MEMBER"


async def test_role_changes_and_the_fifth_admin_is_refused(world: World, client: httpx.AsyncClient) -> None:
    ada = await world.person("Ada")
    space = await world.workspace(ada)
    people = [await world.person(f"P{n}") for n in range(5)]
    for person in people:
        await world.add(space, ada, person)
    url = f"/api/workspaces/{space['workspaceId']}/members"

    for person in people[:4]:
        answer = await client.patch(f"{url}/{person.id}", headers=ada.headers, json={"role": "ADMIN"})
        assert answer.status_code == 200 and answer.json()["role"] == "ADMIN"
    fifth = await client.patch(f"{url}/{people[4].id}", headers=ada.headers, json={"role": "ADMIN"})
    assert fifth.status_code == 409 and fifth.json()["code"] == "ADMIN_LIMIT"
    # Inviting a fifth admin is refused the same way.
    newcomer = await world.person("New")
    invited = await client.post(
        f"/api/workspaces/{space['workspaceId']}/invitations",
        headers=ada.headers,
        json={"email": newcomer.email, "role": "ADMIN"},
    )
    assert invited.status_code == 409 and invited.json()["code"] == "ADMIN_LIMIT"
    # Demoting one frees a seat.
    assert (
        await client.patch(f"{url}/{people[0].id}", headers=ada.headers, json={"role": "MEMBER"})
    ).status_code == 200
    assert (
        await client.patch(f"{url}/{people[4].id}", headers=ada.headers, json={"role": "ADMIN"})
    ).status_code == 200
    changed = await world.wait_for_event("user.member_role_changed", userId=str(people[4].id), role="ADMIN")
    assert changed["previousRole"] == "MEMBER" and changed["actorId"] == str(ada.id)


async def test_the_owner_cannot_be_demoted_nor_anyone_made_owner(
    world: World, client: httpx.AsyncClient
) -> None:
    ada, bob = await world.person("Ada"), await world.person("Bob")
    space = await world.workspace(ada)
    await world.add(space, ada, bob, "ADMIN")
    url = f"/api/workspaces/{space['workspaceId']}/members"

    demoted = await client.patch(f"{url}/{ada.id}", headers=ada.headers, json={"role": "MEMBER"})
    assert demoted.status_code == 409 and demoted.json()["code"] == "OWNER_ROLE_FIXED"
    assert (
        await client.patch(f"{url}/{ada.id}", headers=bob.headers, json={"role": "MEMBER"})
    ).status_code == 409
    made_owner = await client.patch(f"{url}/{bob.id}", headers=ada.headers, json={"role": "OWNER"})
    assert made_owner.status_code == 422
    assert (
        await client.patch(f"{url}/{bob.id}", headers=ada.headers, json={"role": "KING"})
    ).status_code == 422
    assert await _roles(client, space, ada) == {str(ada.id): "OWNER", str(bob.id): "ADMIN"}


async def test_members_manage_no_one_and_admins_only_members(world: World, client: httpx.AsyncClient) -> None:
    ada, bob, cy, dan = (
        await world.person("Ada"),
        await world.person("Bob"),
        await world.person("Cy"),
        await world.person("Dan"),
    )
    space = await world.workspace(ada)
    await world.add(space, ada, bob, "ADMIN")
    await world.add(space, ada, cy, "ADMIN")
    await world.add(space, ada, dan)
    url = f"/api/workspaces/{space['workspaceId']}/members"

    # A member changes no role and removes no one.
    assert (
        await client.patch(f"{url}/{dan.id}", headers=dan.headers, json={"role": "ADMIN"})
    ).status_code == 403
    assert (await client.delete(f"{url}/{bob.id}", headers=dan.headers)).status_code == 403
    # An admin does not demote or remove another admin; the owner does.
    assert (
        await client.patch(f"{url}/{cy.id}", headers=bob.headers, json={"role": "MEMBER"})
    ).status_code == 403
    assert (await client.delete(f"{url}/{cy.id}", headers=bob.headers)).status_code == 403
    # An admin demotes themself and removes members.
    assert (await client.delete(f"{url}/{dan.id}", headers=bob.headers)).status_code == 204
    assert (
        await client.patch(f"{url}/{bob.id}", headers=bob.headers, json={"role": "MEMBER"})
    ).status_code == 200
    assert await _roles(client, space, ada) == {
        str(ada.id): "OWNER",
        str(bob.id): "MEMBER",
        str(cy.id): "ADMIN",
    }
    removed = await world.wait_for_event("user.member_removed", userId=str(dan.id))
    assert removed["reason"] == "REMOVED" and removed["actorId"] == str(bob.id)
    assert (
        await client.get(f"/api/workspaces/{space['workspaceId']}", headers=dan.headers)
    ).status_code == 404


async def test_the_owner_cannot_be_removed_nor_leave(world: World, client: httpx.AsyncClient) -> None:
    ada, bob = await world.person("Ada"), await world.person("Bob")
    space = await world.workspace(ada)
    await world.add(space, ada, bob, "ADMIN")
    url = f"/api/workspaces/{space['workspaceId']}/members"

    removed = await client.delete(f"{url}/{ada.id}", headers=bob.headers)
    assert removed.status_code == 409 and removed.json()["code"] == "OWNER_IMMUTABLE"
    left = await client.delete(f"{url}/{ada.id}", headers=ada.headers)
    assert left.status_code == 409 and left.json()["code"] == "OWNER_CANNOT_LEAVE"
    assert await _roles(client, space, ada) == {str(ada.id): "OWNER", str(bob.id): "ADMIN"}


async def test_leaving_a_workspace(world: World, client: httpx.AsyncClient) -> None:
    ada, bob = await world.person("Ada"), await world.person("Bob")
    space = await world.workspace(ada)
    await world.add(space, ada, bob)

    assert (
        await client.delete(f"/api/workspaces/{space['workspaceId']}/members/{bob.id}", headers=bob.headers)
    ).status_code == 204
    left = await world.wait_for_event("user.member_removed", userId=str(bob.id))
    assert left["reason"] == "LEFT"
    assert (await client.get("/api/workspaces", headers=bob.headers)).json()["items"] == []
    assert (await client.get("/api/users/me", headers=bob.headers)).json()["defaultWorkspaceId"] is None
    # Removing someone who is not a member is a 404.
    gone = await client.delete(
        f"/api/workspaces/{space['workspaceId']}/members/{bob.id}", headers=ada.headers
    )
    assert gone.status_code == 404
