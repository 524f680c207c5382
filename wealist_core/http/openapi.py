"""OpenAPI 3.1 built from the mounted routes, and a readable page of it.

Only :class:`ApiRoute` describes its input and output; every other public route (WebSockets, the signed
blob URLs, health) is listed with what the host knows of it, so the document names every public path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter
from starlette.routing import BaseRoute, Route, WebSocketRoute

from wealist_core.http.routing import ApiRoute

__all__ = ["DOCS_HTML", "build_openapi"]

_CONVERTOR = re.compile(r"{([^}:]+)(:[^}]+)?}")
_PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "Stable, machine-readable error code."},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "requestId": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["type", "title", "status", "code", "detail"],
}
_ERROR_TEXT = {
    400: "Malformed request",
    401: "Not signed in, or the token is invalid",
    403: "Not allowed",
    404: "Not found, or not visible to you",
    409: "Conflict with the current state",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Rate limited",
    503: "A dependency is unavailable",
}


def _template(path: str) -> str:
    return _CONVERTOR.sub(lambda m: "{" + m.group(1) + "}", path)


def build_openapi(routes: Sequence[BaseRoute], *, title: str, version: str) -> dict[str, Any]:
    inputs: list[tuple[tuple[int, str], Any, TypeAdapter[Any]]] = []
    api_routes = [r for r in routes if isinstance(r, ApiRoute) and r.include_in_schema]
    for index, api_route in enumerate(api_routes):
        if api_route.body_model is not None:
            inputs.append(((index, "body"), "validation", TypeAdapter(api_route.body_model)))
        if api_route.response_model is not None:
            inputs.append(((index, "response"), "serialization", TypeAdapter(api_route.response_model)))
    schemas, defs = (
        TypeAdapter.json_schemas(inputs, ref_template="#/components/schemas/{model}", by_alias=True)
        if inputs
        else ({}, {})
    )
    components: dict[str, Any] = dict(defs.get("$defs", {}))
    components["Problem"] = _PROBLEM

    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = set()  # OpenAPI requires every operationId to be unique
    for index, api_route in enumerate(api_routes):
        path = _template(api_route.path)
        methods = [m for m in sorted(api_route.methods or ()) if m != "HEAD"]
        for method in methods:
            op = _operation(api_route, index, schemas, method, components)
            op["operationId"] = _unique(op["operationId"], method, len(methods) > 1, used)
            paths.setdefault(path, {})[method.lower()] = op
    for route in routes:
        if isinstance(route, ApiRoute) or not getattr(route, "include_in_schema", True):
            continue
        if isinstance(route, Route):
            methods = [m for m in sorted(route.methods or ()) if m != "HEAD"]
            for method in methods:
                base = f"{getattr(route, 'plugin', None) or 'host'}.{route.name}"
                plain: dict[str, Any] = {
                    "operationId": _unique(base, method, len(methods) > 1, used),
                    "tags": [getattr(route, "plugin", None) or "host"],
                    "summary": (route.endpoint.__doc__ or route.name or "").strip().split("\n")[0],
                    "responses": {"200": {"description": "OK"}},
                }
                names = list(route.param_convertors)
                if names:
                    plain["parameters"] = [
                        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                        for name in names
                    ]
                    problem = {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    }
                    for code in (403, 404) if route.path.startswith("/blobs/") else (404,):
                        plain["responses"][str(code)] = {
                            "description": _ERROR_TEXT.get(code, "Error"),
                            "content": problem,
                        }
                paths.setdefault(_template(route.path), {})[method.lower()] = plain
        elif isinstance(route, WebSocketRoute):
            base = f"{getattr(route, 'plugin', None) or 'host'}.{route.name}"
            paths.setdefault(_template(route.path), {})["get"] = {
                "operationId": _unique(base, "GET", False, used),
                "tags": [getattr(route, "plugin", None) or "host"],
                "summary": 'WebSocket: the first frame is {"type": "AUTH", "token": ...}.',
                "responses": {"101": {"description": "Switching protocols"}},
            }
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _unique(base: str, method: str, several: bool, used: set[str]) -> str:
    """``base``, suffixed with the method when one route serves several, and with a number if still taken."""
    candidate = f"{base}_{method.lower()}" if several else base
    number = 1
    while candidate in used:
        number += 1
        candidate = f"{base}_{method.lower()}_{number}" if several else f"{base}_{number}"
    used.add(candidate)
    return candidate


def _operation(
    route: ApiRoute, index: int, schemas: dict[Any, Any], method: str, components: dict[str, Any]
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{route.plugin or 'host'}.{route.name}",
        "tags": list(route.tags or (route.plugin or "host",)),
    }
    if route.summary:
        op["summary"] = route.summary
    if route.description:
        op["description"] = route.description
    params: list[dict[str, Any]] = []
    for name, adapter in route._path_adapters.items():
        params.append({"name": name, "in": "path", "required": True, "schema": adapter.json_schema()})
    if route.query_model is not None:
        schema = route.query_model.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}"
        )
        # The query model's own definitions (an enum) join the components its properties refer to.
        for def_name, definition in schema.get("$defs", {}).items():
            components.setdefault(def_name, definition)
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    if params:
        op["parameters"] = params
    if route.body_model is not None and method != "GET":
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas[((index, "body"), "validation")]}},
        }
    responses: dict[str, Any] = {}
    if route.response_model is not None:
        responses[str(route.status_code)] = {
            "description": "OK",
            "content": {"application/json": {"schema": schemas[((index, "response"), "serialization")]}},
        }
    else:
        responses["204" if route.status_code == 200 else str(route.status_code)] = {
            "description": "No content"
        }
    codes = set(route.errors)
    if route.auth:
        codes.add(401)
        op["security"] = [{"bearer": []}]
    if route.body_model is not None or route.query_model is not None or route._path_adapters:
        codes.add(422)
    if route.body_model is not None:
        codes.update({400, 413, 415})
    for code in sorted(codes):
        responses[str(code)] = {
            "description": _ERROR_TEXT.get(code, "Error"),
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    op["responses"] = responses
    return op


DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wealist API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:24px;color:#1f2328}
h1{margin:0 0 4px} .op{border:1px solid #d0d7de;border-radius:6px;margin:8px 0;padding:8px 12px}
.m{display:inline-block;min-width:64px;font-weight:600;font-family:monospace}
.get{color:#0969da}.post{color:#1a7f37}.patch,.put{color:#9a6700}.delete{color:#cf222e}
code,pre{font-family:ui-monospace,monospace;font-size:13px} pre{background:#f6f8fa;padding:8px;overflow:auto}
details summary{cursor:pointer} h2{border-bottom:1px solid #d0d7de;margin-top:32px}
</style></head><body>
<h1>Wealist API</h1><p>The machine-readable document: <a href="/api/openapi.json">/api/openapi.json</a></p>
<div id="doc">Loading…</div>
<script>
const esc = s => String(s ?? "")
  .replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
fetch("/api/openapi.json").then(r => r.json()).then(spec => {
  const byTag = {};
  for (const [path, ops] of Object.entries(spec.paths))
    for (const [method, op] of Object.entries(ops))
      (byTag[(op.tags || ["other"])[0]] ||= []).push({path, method, op});
  let html = "";
  for (const tag of Object.keys(byTag).sort()) {
    html += `<h2>${esc(tag)}</h2>`;
    for (const {path, method, op} of byTag[tag]) {
      html += `<details class="op"><summary><span class="m ${method}">${method.toUpperCase()}</span>`
        + `<code>${esc(path)}</code> ${esc(op.summary)}</summary>`
        + `<pre>${esc(JSON.stringify({parameters: op.parameters, requestBody: op.requestBody,
             responses: op.responses}, null, 2))}</pre></details>`;
    }
  }
  document.getElementById("doc").innerHTML = html;
});
</script></body></html>
"""
