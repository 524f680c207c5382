"""The OpenAPI document names every route of the user plugin as API.md does, with its models."""

from __future__ import annotations

import httpx

API_MD = {
    "/api/users/me": {"get", "patch", "delete"},
    "/api/users/me/restore": {"post"},
    "/api/users/{userId}": {"get"},
    "/api/workspaces": {"get", "post"},
    "/api/workspaces/search": {"get"},
    "/api/workspaces/{workspaceId}": {"get", "patch", "delete"},
    "/api/workspaces/{workspaceId}/transfer": {"post"},
    "/api/workspaces/{workspaceId}/members": {"get"},
    "/api/workspaces/{workspaceId}/members/{userId}": {"patch", "delete"},
    "/api/workspaces/{workspaceId}/invitations": {"get", "post"},
    "/api/workspaces/{workspaceId}/invitations/{invitationId}": {"delete"},
    "/api/workspaces/invitations/{token}/accept": {"post"},
    "/api/workspaces/{workspaceId}/join-requests": {"get", "post"},
    "/api/workspaces/{workspaceId}/join-requests/{requestId}/approve": {"post"},
    "/api/workspaces/{workspaceId}/join-requests/{requestId}/reject": {"post"},
    "/api/profiles/me": {"get", "patch"},
    "/api/profiles/me/avatar": {"post"},
    "/api/profiles/{userId}": {"get"},
}


async def test_openapi_lists_every_user_route_with_its_schemas(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    ours = {
        path: {method for method, op in ops.items() if op["operationId"].startswith("user.")}
        for path, ops in spec["paths"].items()
    }
    ours = {path: methods for path, methods in ours.items() if methods}
    assert ours == API_MD

    members = spec["paths"]["/api/workspaces/{workspaceId}/members"]["get"]
    assert {p["name"] for p in members["parameters"]} == {"workspaceId", "limit", "cursor"}
    assert {"401", "404"} <= set(members["responses"])
    invite = spec["paths"]["/api/workspaces/{workspaceId}/invitations"]["post"]
    assert "201" in invite["responses"] and "409" in invite["responses"]
    schemas = spec["components"]["schemas"]
    assert {"userId", "role", "nickname", "avatarUrl", "joinedAt"} <= set(schemas["MemberOut"]["properties"])
    assert set(schemas["UserOut"]["properties"]) == {
        "userId",
        "email",
        "name",
        "locale",
        "defaultWorkspaceId",
        "createdAt",
    }
