"""The OpenAPI document names every notifications route as API.md does, with their models."""

from __future__ import annotations

import httpx

API_MD = {
    "/api/notifications": {"get"},
    "/api/notifications/unread-count": {"get"},
    "/api/notifications/{notificationId}/read": {"post"},
    "/api/notifications/read-all": {"post"},
    "/api/notifications/{notificationId}": {"delete"},
    "/api/notifications/preferences": {"get", "put"},
}
ADDED = {"/ws/notifications": {"get"}}  # the socket, documented by the host as its upgrade


async def test_openapi_lists_every_notifications_route_with_its_schemas(
    wealist_client: httpx.AsyncClient,
) -> None:
    spec = (await wealist_client.get("/api/openapi.json")).json()
    ours = {
        path: {method for method, op in ops.items() if op.get("operationId", "").startswith("noti.")}
        for path, ops in spec["paths"].items()
    }
    assert {path: methods for path, methods in ours.items() if methods} == {**API_MD, **ADDED}
    listing = spec["paths"]["/api/notifications"]["get"]
    assert {"workspaceId", "unreadOnly", "limit", "cursor"} <= {p["name"] for p in listing["parameters"]}
    assert {"200", "401", "422"} <= set(listing["responses"])
    schemas = spec["components"]["schemas"]
    assert set(schemas["NotificationOut"]["properties"]) == {
        "notificationId",
        "type",
        "workspaceId",
        "actorId",
        "resource",
        "text",
        "link",
        "metadata",
        "readAt",
        "createdAt",
    }
    assert set(schemas["PreferenceIn"]["properties"]) == {"workspaceId", "type", "inApp", "email"}
