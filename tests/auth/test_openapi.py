"""Every route of API.md's auth section is served and described in /api/openapi.json, with its models."""

from __future__ import annotations

import httpx

API_MD_AUTH = {
    ("post", "/api/auth/signup"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/refresh"),
    ("post", "/api/auth/logout"),
    ("post", "/api/auth/logout-all"),
    ("get", "/api/auth/sessions"),
    ("delete", "/api/auth/sessions/{sessionId}"),
    ("post", "/api/auth/password"),
    ("post", "/api/auth/totp/enroll"),
    ("post", "/api/auth/totp/confirm"),
    ("delete", "/api/auth/totp"),
    ("get", "/api/auth/providers"),
    ("get", "/api/auth/oidc/{provider}/login"),
    ("get", "/api/auth/oidc/{provider}/callback"),
    ("post", "/api/auth/oidc/exchange"),
    ("get", "/api/auth/.well-known/jwks.json"),
}
# The last path segment of the routes that need no token.
PUBLIC = {"signup", "login", "refresh", "providers", "callback", "exchange", "jwks.json"}


async def test_the_openapi_document_lists_every_auth_route(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/openapi.json")).json()
    served = {
        (method, path)
        for path, ops in document["paths"].items()
        if path.startswith("/api/auth")
        for method in ops
    }

    assert served == API_MD_AUTH
    for method, path in served:
        operation = document["paths"][path][method]
        public = path.rsplit("/", 1)[-1] in PUBLIC
        assert ("security" in operation) is not public, (method, path)


async def test_token_pairs_are_described_in_camel_case(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/openapi.json")).json()
    login = document["paths"]["/api/auth/login"]["post"]
    schema = login["responses"]["200"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    pair = document["components"]["schemas"][name]

    assert set(pair["properties"]) == {"userId", "accessToken", "refreshToken", "expiresIn"}
    assert {"401", "429"} <= set(login["responses"])
