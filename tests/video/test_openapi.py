"""The OpenAPI document names every route of the video plugin as API.md does, with its models and the
statuses each may answer."""

from __future__ import annotations

import httpx

API_MD = {
    "/api/video/rooms": {"get", "post"},
    "/api/video/rooms/{roomId}": {"get", "delete"},
    "/api/video/rooms/{roomId}/join": {"post"},
    "/api/video/rooms/{roomId}/leave": {"post"},
    "/api/video/rooms/{roomId}/recording": {"post", "delete"},
    "/api/video/history": {"get"},
    "/api/video/history/{callId}": {"get"},
    "/api/video/history/{callId}/transcript": {"put"},
    "/api/video/webhooks/livekit": {"post"},
}


async def test_openapi_lists_every_video_route_with_its_schemas(wealist_client: httpx.AsyncClient) -> None:
    spec = (await wealist_client.get("/api/openapi.json")).json()
    ours = {
        path: {method for method, op in ops.items() if op["operationId"].startswith("video.")}
        for path, ops in spec["paths"].items()
    }
    assert {path: methods for path, methods in ours.items() if methods} == API_MD

    paths = spec["paths"]
    assert {"201", "401", "404", "422", "503"} <= set(paths["/api/video/rooms"]["post"]["responses"])
    assert {"200", "404", "409", "410", "503"} <= set(
        paths["/api/video/rooms/{roomId}/join"]["post"]["responses"]
    )
    assert {"403", "410", "503"} <= set(paths["/api/video/rooms/{roomId}"]["delete"]["responses"])
    assert {"409", "503"} <= set(paths["/api/video/rooms/{roomId}/recording"]["post"]["responses"])
    assert {"401", "413"} <= set(paths["/api/video/webhooks/livekit"]["post"]["responses"])
    history = paths["/api/video/history"]["get"]
    assert {p["name"] for p in history["parameters"]} == {"workspaceId", "userId", "limit", "cursor"}

    schemas = spec["components"]["schemas"]
    assert set(schemas["RoomIn"]["properties"]) == {"workspaceId", "name", "capacity", "chatId", "projectId"}
    assert {
        "roomId", "workspaceId", "name", "capacity", "status", "createdBy", "participants", "createdAt"
    } <= set(schemas["RoomOut"]["properties"])  # fmt: skip
    assert {"token", "url", "iceServers", "expiresAt"} <= set(schemas["JoinOut"]["properties"])
    assert set(schemas["IceServerOut"]["properties"]) == {"urls", "username", "credential"}
    call = {"callId", "roomId", "startedAt", "endedAt", "durationSeconds", "participants", "recordings"}
    assert call | {"transcript"} <= set(schemas["CallOut"]["properties"])
    assert set(schemas["CallParticipantOut"]["properties"]) >= {"userId", "joinedAt", "leftAt"}
