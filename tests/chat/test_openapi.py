"""The OpenAPI document names every chat route as API.md does (plus the routes added beside them), with
their models."""

from __future__ import annotations

import httpx

API_MD = {
    "/api/chats": {"get", "post"},
    "/api/chats/{chatId}": {"get", "patch", "delete"},
    "/api/chats/{chatId}/participants": {"post"},
    "/api/chats/{chatId}/participants/{userId}": {"delete"},
    "/api/chats/{chatId}/messages": {"get", "post"},
    "/api/chats/{chatId}/messages/{messageId}": {"patch", "delete"},
    "/api/chats/{chatId}/messages/{messageId}/reactions": {"post", "delete"},
    "/api/chats/{chatId}/read": {"post"},
    "/api/chats/{chatId}/attachments": {"post"},
    "/api/chats/search": {"get"},
    "/api/chats/presence": {"get"},
}
ADDED = {
    "/api/chats/{chatId}/messages/{messageId}/edits": {"get"},
    "/api/chats/{chatId}/attachments/{attachmentId}/download": {"get"},
    "/ws/chat": {"get"},  # the socket, documented by the host as its upgrade
}


async def test_openapi_lists_every_chat_route_with_its_schemas(wealist_client: httpx.AsyncClient) -> None:
    spec = (await wealist_client.get("/api/openapi.json")).json()
    ours = {
        path: {method for method, op in ops.items() if op.get("operationId", "").startswith("chat.")}
        for path, ops in spec["paths"].items()
    }
    assert {path: methods for path, methods in ours.items() if methods} == {**API_MD, **ADDED}

    history = spec["paths"]["/api/chats/{chatId}/messages"]["get"]
    assert {"chatId", "before", "after", "limit"} <= {p["name"] for p in history["parameters"]}
    assert {"200", "401", "404", "422"} <= set(history["responses"])
    create = spec["paths"]["/api/chats"]["post"]
    assert {"200", "201", "404", "422"} <= set(create["responses"])
    schemas = spec["components"]["schemas"]
    assert {
        "messageId",
        "chatId",
        "seq",
        "senderId",
        "content",
        "replyToId",
        "attachment",
        "reactions",
        "editedAt",
        "createdAt",
    } <= set(schemas["MessageOut"]["properties"])
    assert {"unreadCount", "lastMessage"} <= set(schemas["ChatOut"]["properties"])
    assert set(schemas["PresenceOut"]["properties"]) == {"userId", "status", "lastSeenAt"}
