"""The stranger walk: every route of a plugin, called by someone who is not a member of the data's workspace.

A plugin's isolation test arranges a workspace B with data in it, then walks every HTTP route of the plugin
as a member of another workspace (or nobody's member) with B's ids::

    from wealist_core.testing import Probe, probe_routes

    await probe_routes(
        app, client, plugin="notes", headers=stranger.headers,
        ids={"workspaceId": b_ws, "noteId": b_note},
        calls={
            ("GET", "/api/notes"): Probe(query={"workspaceId": "{workspaceId}"}),
            ("GET", "/api/notes/{noteId}"): Probe(),
            ("PATCH", "/api/notes/{noteId}"): Probe(body={"text": "taken over"}),
            ("GET", "/api/notes/mine"): Probe(refused=False),  # the stranger's own: fine, must not show B
        },
        secrets=["B's secret note"],
    )

Path parameters are filled from ``ids`` by name; in ``query`` and ``body``, a string ``"{name}"`` is replaced
by ``ids[name]`` (anywhere in nested lists and objects). A route of the plugin without an entry in ``calls``
fails the walk, and so does an entry that names no route: the walk stays complete as the plugin grows.

Every answer must be below 500 and must not contain any of ``secrets``. A ``refused`` call (the default) must
answer one of its ``statuses`` (404 by default: a resource of a workspace you are not a member of is a 404).
Checking that B is unchanged afterwards is the caller's part, since only it knows what B holds.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette

from wealist_core.http import ApiRoute

__all__ = ["Probe", "assert_routes_need_a_token", "plugin_routes", "probe_routes"]

_PLACEHOLDER = re.compile(r"{([^}:]+)}")
_ANY_PARAMETER = re.compile(r"{[^}:]+(?::([^}]+))?}")


def _sample(match: re.Match[str]) -> str:
    """A value that the parameter's converter accepts (so the route, not the router, answers)."""
    return {"int": "1", "float": "1.0"}.get(match.group(1) or "", "00000000-0000-4000-8000-000000000000")


@dataclass(frozen=True)
class Probe:
    """How to call one route in a stranger walk, and what it must answer."""

    #: The call is about the other workspace's data: it must answer one of ``statuses``.
    refused: bool = True
    query: Mapping[str, Any] | None = None
    body: Any = None
    statuses: Collection[int] = (404,)
    #: Extra headers for this call (merged over the walk's).
    headers: Mapping[str, str] | None = None


def _mounted(app: Starlette, plugin: str) -> list[tuple[str, ApiRoute]]:
    return [
        (method, route)
        for route in app.routes
        if isinstance(route, ApiRoute) and route.plugin == plugin
        for method in sorted(route.methods or ())
        if method != "HEAD"
    ]


def plugin_routes(app: Starlette, plugin: str) -> list[tuple[str, str]]:
    """``(method, template)`` of every HTTP route the host mounted for ``plugin`` (HEAD left out)."""
    return [(method, route.template) for method, route in _mounted(app, plugin)]


def _fill(value: Any, ids: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: str(ids[m.group(1)]) if m.group(1) in ids else m.group(0), value)
    if isinstance(value, Mapping):
        return {key: _fill(item, ids) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_fill(item, ids) for item in value]
    return value


def _path(template: str, ids: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in ids, f"the walk has no id for the path parameter {name!r} of {template}"
        return str(ids[name])

    return _PLACEHOLDER.sub(one, template)


async def probe_routes(
    app: Starlette,
    client: httpx.AsyncClient,
    *,
    plugin: str,
    calls: Mapping[tuple[str, str], Probe],
    ids: Mapping[str, str],
    headers: Mapping[str, str],
    secrets: Collection[str] = (),
) -> dict[tuple[str, str], httpx.Response]:
    """Call every route of ``plugin`` as described in ``calls``; assert what the module docstring says.

    Returns the answers by ``(method, template)`` for checks of the caller's own.
    """
    routes = plugin_routes(app, plugin)
    missing = sorted(set(routes) - set(calls))
    unknown = sorted(set(calls) - set(routes))
    assert not missing, f"routes of {plugin!r} without a Probe in the walk: {missing}"
    assert not unknown, f"Probes naming no route of {plugin!r}: {unknown}"
    answers: dict[tuple[str, str], httpx.Response] = {}
    for method, template in routes:
        probe = calls[(method, template)]
        path = _path(template, ids)
        answer = await client.request(
            method,
            path,
            params=_fill(dict(probe.query), ids) if probe.query else None,
            json=_fill(probe.body, ids) if probe.body is not None else None,
            headers={**headers, **(probe.headers or {})},
        )
        where = f"{method} {path} -> {answer.status_code} {answer.text[:300]}"
        assert answer.status_code < 500, where
        if probe.refused:
            assert answer.status_code in probe.statuses, f"expected one of {sorted(probe.statuses)}: {where}"
        for secret in secrets:
            assert secret not in answer.text, f"{secret!r} shown to a stranger: {where}"
        answers[(method, template)] = answer
    return answers


async def assert_routes_need_a_token(
    app: Starlette, client: httpx.AsyncClient, *, plugin: str, public: Collection[tuple[str, str]] = ()
) -> None:
    """Every route of ``plugin`` but the ``public`` ones answers 401 to a request without credentials."""
    for method, route in _mounted(app, plugin):
        if (method, route.template) in public:
            continue
        path = _ANY_PARAMETER.sub(_sample, route.path)
        answer = await client.request(method, path)
        assert answer.status_code == 401, f"{method} {path} -> {answer.status_code} {answer.text[:200]}"
