"""The identity plugins' OpenAPI document did not change when their routes moved onto the toolkit.

``fixtures/identity-openapi.json`` is the document the user and auth plugins produced before their routes
were declared by their handlers' signatures: every operation's id, parameters, request body, success
responses and security, and every schema. Error statuses may only grow (a guard now declares the 403 it
can answer); nothing else may move. Regenerate the fixture only for a deliberate change of the API.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import wealist_adapters.local_files
import wealist_adapters.memory
import wealist_adapters.sqlite
from wealist_plugins.auth.plugin import AuthPlugin
from wealist_plugins.auth.verifier import TokenVerifierPlugin
from wealist_plugins.user.plugin import UserPlugin

from wealist_core.app import create_app
from wealist_core.http.openapi import build_openapi

FIXTURE = Path(__file__).parent / "fixtures" / "identity-openapi.json"


def _document(settings_factory: Any) -> dict[str, Any]:
    app = create_app(
        settings_factory(),
        plugins=[UserPlugin(), AuthPlugin(), TokenVerifierPlugin()],
        adapters=[wealist_adapters.memory, wealist_adapters.sqlite, wealist_adapters.local_files],
    )
    return build_openapi(app.state.wealist.routes, title="Wealist API", version="test")


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            out[f"{method.upper()} {path}"] = {
                "operationId": op["operationId"],
                "parameters": op.get("parameters", []),
                "requestBody": op.get("requestBody"),
                "success": {c: r for c, r in op["responses"].items() if c[0] in "23"},
                "security": op.get("security"),
            }
    return out


def test_the_identity_plugins_document_is_what_it_was(settings_factory: Any) -> None:
    before = json.loads(FIXTURE.read_text())
    document = _document(settings_factory)

    assert document["components"]["schemas"] == before["schemas"]
    now = _operations(document)
    assert sorted(now) == sorted(before["operations"])
    for operation, was in before["operations"].items():
        assert now[operation] == was, operation


def test_error_statuses_only_grow(settings_factory: Any) -> None:
    before = json.loads(FIXTURE.read_text())["errors"]
    document = _document(settings_factory)
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            codes = {int(c) for c in op["responses"] if c[0] in "45"}
            assert set(before[f"{method.upper()} {path}"]) <= codes, (method, path)
