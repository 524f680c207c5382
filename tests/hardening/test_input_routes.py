"""Every route of the OpenAPI document, of every installed plugin (a new plugin's routes are walked without
any change here), survives NUL, control characters, deep nesting and over-long strings in its path, query
and body: never a 5xx. On the embedded defaults and on PostgreSQL + Redis."""

from __future__ import annotations

import json
import re
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.auth.support import ADAPTERS, bearer, running, settings_for, signup
from wealist_core.testing import BACKENDS, build_app

EVIL = ["a\u0000b", "\u0007\u001b[31m\u202eevil", "\ud800", "x" * 20_000]
DEEP = b"[" * 1000 + b"]" * 1000


@pytest.fixture(params=BACKENDS)
def wealist_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _installed_plugins() -> list[object]:
    return [ep.load() for ep in sorted(entry_points(group="wealist.plugins"), key=lambda ep: ep.name)]


def _resolve(spec: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    while "$ref" in schema and depth < 20:
        node: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        schema, depth = node, depth + 1
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            resolved = _resolve(spec, option, depth + 1)
            if resolved.get("properties") or resolved.get("type") not in (None, "null"):
                return resolved
    return schema


def _bodies(spec: dict[str, Any], operation: dict[str, Any]) -> list[bytes]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = _resolve(spec, content.get("application/json", {}).get("schema", {}))
    properties = schema.get("properties", {})
    bodies = [DEEP]
    for evil in EVIL:
        body: dict[str, Any] = {}
        for name, prop in properties.items():
            kind = _resolve(spec, prop).get("type")
            body[name] = [evil] if kind == "array" else {evil: evil} if kind == "object" else evil
        bodies.append(json.dumps(body).encode())
    return bodies


async def test_no_route_answers_5xx_to_hostile_input(
    settings_factory: Any, wealist_infrastructure: Any
) -> None:
    app = build_app(
        settings_for(settings_factory, wealist_infrastructure),
        _installed_plugins(),
        adapters=ADAPTERS,
        test_auth=False,
        record=False,
    )
    async with running(app) as client:
        spec = (await client.get("/api/openapi.json")).json()
        token = (await signup(client))["accessToken"]
        failures: list[str] = []
        operations = 0
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                operations += 1
                for evil in EVIL[:2]:  # a lone surrogate cannot travel in a URL: bodies only
                    url = re.sub(r"\{[^}]+\}", quote(evil, safe=""), path)
                    params = {
                        p["name"]: evil for p in operation.get("parameters", []) if p.get("in") == "query"
                    }
                    requests: list[tuple[str, bytes | None]] = [(url, None)]
                    if "requestBody" in operation:
                        requests = [(url, body) for body in _bodies(spec, operation)]
                    for target, body in requests:
                        try:
                            answer = await client.request(
                                method.upper(),
                                target,
                                params=params,
                                content=body,
                                headers={**bearer(token), "content-type": "application/json"},
                            )
                        except httpx.InvalidURL:
                            continue
                        if answer.status_code >= 500:
                            failures.append(
                                f"{method.upper()} {path} -> {answer.status_code}: {answer.text[:200]}"
                            )
        assert operations >= 20
        assert not failures, "\n".join(failures[:20])
