"""Profiles: a default one and one per workspace; avatars through signed blob URLs."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from tests.user.conftest import Person, World
from wealist_core.testing import send_presigned

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _local(url: str) -> str:
    """The path and query of a signed URL, to send through the in-process client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def _upload_avatar(client: httpx.AsyncClient, who: Person, workspace_id: str | None = None) -> str:
    body = {"fileName": "me.png", "contentType": "image/png", "size": len(PNG)}
    if workspace_id:
        body["workspaceId"] = workspace_id
    signed = await client.post("/api/profiles/me/avatar", headers=who.headers, json=body)
    assert signed.status_code == 200, signed.text
    grant = signed.json()
    assert grant["method"] == "PUT" and grant["key"].endswith(".png")
    put = await send_presigned(client, "PUT", grant["uploadUrl"], content=PNG, headers=grant["headers"])
    assert put.status_code in (200, 201, 204), put.text
    return str(grant["key"])


async def test_default_and_workspace_profiles_are_separate(world: World, client: httpx.AsyncClient) -> None:
    ada = await world.person("Ada Lovelace")
    space = await world.workspace(ada)
    params = {"workspaceId": space["workspaceId"]}

    default = await client.get("/api/profiles/me", headers=ada.headers)
    assert default.json() == {
        "userId": str(ada.id),
        "workspaceId": None,
        "nickname": "Ada Lovelace",
        "avatarUrl": None,
    }
    changed = await client.patch(
        "/api/profiles/me", params=params, headers=ada.headers, json={"nickname": "  Countess "}
    )
    assert changed.status_code == 200
    assert changed.json() == {
        "userId": str(ada.id),
        "workspaceId": space["workspaceId"],
        "nickname": "Countess",
        "avatarUrl": None,
    }
    assert (await client.get("/api/profiles/me", headers=ada.headers)).json()["nickname"] == "Ada Lovelace"
    for body in ({"nickname": ""}, {"nickname": None}, {"nickname": "x" * 51}, {"avatar": "x"}):
        assert (await client.patch("/api/profiles/me", headers=ada.headers, json=body)).status_code == 422, (
            body
        )


async def test_an_avatar_is_uploaded_then_attached_and_served(
    world: World, client: httpx.AsyncClient
) -> None:
    ada, bob = await world.person("Ada"), await world.person("Bob")
    space = await world.workspace(ada)
    await world.add(space, ada, bob)
    params = {"workspaceId": space["workspaceId"]}
    key = await _upload_avatar(client, ada, space["workspaceId"])

    attached = await client.patch(
        "/api/profiles/me", params=params, headers=ada.headers, json={"avatarKey": key}
    )
    assert attached.status_code == 200, attached.text
    url = attached.json()["avatarUrl"]
    assert url and key in url
    served = await send_presigned(client, "GET", url)
    assert served.status_code == 200 and served.content == PNG
    members = (
        await client.get(f"/api/workspaces/{space['workspaceId']}/members", headers=bob.headers)
    ).json()
    assert members["items"][0]["avatarUrl"] is not None
    seen = await client.get(f"/api/profiles/{ada.id}", params=params, headers=bob.headers)
    assert seen.status_code == 200 and seen.json()["avatarUrl"] is not None
    # The avatar belongs to that workspace's profile only; null removes it.
    assert (await client.get("/api/profiles/me", headers=ada.headers)).json()["avatarUrl"] is None
    removed = await client.patch(
        "/api/profiles/me", params=params, headers=ada.headers, json={"avatarKey": None}
    )
    assert removed.json()["avatarUrl"] is None


async def test_avatars_are_checked_before_a_url_is_signed(world: World, client: httpx.AsyncClient) -> None:
    ada = await world.person()
    base = {"fileName": "a.png", "contentType": "image/png", "size": 10}
    cases = [
        ({"contentType": "image/svg+xml"}, 422),
        ({"contentType": "application/pdf"}, 422),
        ({"contentType": "text/html; charset=utf-8"}, 422),
        ({"size": 20 * 1024 * 1024 + 1}, 413),
        ({"size": 0}, 422),
        ({"size": -5}, 422),
    ]
    for change, status in cases:
        answer = await client.post("/api/profiles/me/avatar", headers=ada.headers, json=base | change)
        assert answer.status_code == status, (change, answer.text)
        assert "uploadUrl" not in answer.json()
    ok = await client.post(
        "/api/profiles/me/avatar", headers=ada.headers, json=base | {"contentType": "IMAGE/JPEG"}
    )
    assert ok.status_code == 200 and ok.json()["key"].endswith(".jpg")


async def test_only_a_key_issued_to_me_and_uploaded_is_accepted(
    world: World, client: httpx.AsyncClient
) -> None:
    ada, bob = await world.person("Ada"), await world.person("Bob")
    space = await world.workspace(ada)
    bobs_key = await _upload_avatar(client, bob)

    stolen = await client.patch("/api/profiles/me", headers=ada.headers, json={"avatarKey": bobs_key})
    assert stolen.status_code == 422 and stolen.json()["code"] == "AVATAR_KEY_UNKNOWN"
    made_up = await client.patch(
        "/api/profiles/me", headers=ada.headers, json={"avatarKey": "user/avatars/x.png"}
    )
    assert made_up.status_code == 422
    # A key issued for my default profile does not fit a workspace profile.
    mine = await _upload_avatar(client, ada)
    other_scope = await client.patch(
        "/api/profiles/me",
        params={"workspaceId": space["workspaceId"]},
        headers=ada.headers,
        json={"avatarKey": mine},
    )
    assert other_scope.status_code == 422
    # A key whose upload never happened.
    signed = await client.post(
        "/api/profiles/me/avatar",
        headers=ada.headers,
        json={"fileName": "a.png", "contentType": "image/png", "size": 9},
    )
    never = await client.patch(
        "/api/profiles/me", headers=ada.headers, json={"avatarKey": signed.json()["key"]}
    )
    assert never.status_code == 422 and never.json()["code"] == "AVATAR_NOT_UPLOADED"
    assert (
        await client.patch("/api/profiles/me", headers=ada.headers, json={"avatarKey": mine})
    ).status_code == 200


async def test_profiles_of_others_are_for_members_only(world: World, client: httpx.AsyncClient) -> None:
    ada, bob, eve = await world.person("Ada"), await world.person("Bob"), await world.person("Eve")
    space = await world.workspace(ada)
    await world.add(space, ada, bob)
    params = {"workspaceId": space["workspaceId"]}

    assert (await client.get(f"/api/profiles/{bob.id}", params=params, headers=ada.headers)).json()[
        "nickname"
    ] == "Bob"
    assert (await client.get(f"/api/profiles/{bob.id}", headers=ada.headers)).status_code == 200
    assert (
        await client.get(f"/api/profiles/{bob.id}", params=params, headers=eve.headers)
    ).status_code == 404
    assert (await client.get(f"/api/profiles/{bob.id}", headers=eve.headers)).status_code == 404
    assert (
        await client.get(f"/api/profiles/{eve.id}", params=params, headers=ada.headers)
    ).status_code == 404
    assert (await client.get("/api/profiles/me", params=params, headers=eve.headers)).status_code == 404
