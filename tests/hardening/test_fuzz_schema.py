"""The OpenAPI document the fuzzer reads is valid: every path template's parameters are declared and every
``$ref`` resolves, for every installed plugin's routes (``make fuzz`` then runs schemathesis against it)."""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from typing import Any

from tests.auth.support import ADAPTERS, running, settings_for
from wealist_core.testing import build_app


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


async def test_every_path_parameter_is_declared_and_every_reference_resolves(settings_factory: Any) -> None:
    plugins = [ep.load() for ep in sorted(entry_points(group="wealist.plugins"), key=lambda ep: ep.name)]
    app = build_app(
        settings_for(settings_factory, {}), plugins, adapters=ADAPTERS, test_auth=False, record=False
    )
    async with running(app) as client:
        spec = (await client.get("/api/openapi.json")).json()
    undeclared = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            for name in re.findall(r"\{([^}]+)\}", path):
                if name not in declared:
                    undeclared.append(f"{method.upper()} {path}: {name}")
    assert not undeclared
    dangling = []
    for ref in set(_refs(spec)):
        node: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        if ref.startswith("#/$defs/") or node is None:
            dangling.append(ref)
    assert not dangling
    blobs = spec["paths"]["/blobs/{key}"]
    assert {"403", "404"} <= set(blobs["get"]["responses"]) and {"403", "404"} <= set(
        blobs["put"]["responses"]
    )
