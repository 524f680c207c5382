"""``wealist_core.outages``: which errors mean a server cannot be reached, their translation to
``DependencyUnavailable``, and the host's 503 answer for it (named dependency, Retry-After, counted)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError, InterfaceError
from starlette.routing import BaseRoute

from wealist_core import DependencyUnavailable, PluginManifest, Settings, hookimpl
from wealist_core.http import ApiRoute
from wealist_core.outages import is_database_outage, translate_outages, translating_methods
from wealist_core.testing import assert_problem, build_app, running


def _raised_in(module: str, exc: BaseException) -> BaseException:
    """``exc`` as raised by code of ``module`` (the traceback names it, as a driver's would)."""
    namespace: dict[str, Any] = {"__name__": module, "exc": exc}
    exec("def boom():\n    raise exc\n", namespace)
    try:
        namespace["boom"]()
    except BaseException as caught:
        return caught
    raise AssertionError("unreachable")


class _SqlState(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (_raised_in("asyncpg.connect_utils", ConnectionRefusedError(111, "Connect call failed")), True),
        (_raised_in("sqlalchemy.pool.base", TimeoutError()), True),
        (InterfaceError("SELECT 1", {}, Exception("closed"), connection_invalidated=True), True),
        (_SqlState("57P01"), True),  # the server is shutting down (terminating connection)
        (_SqlState("08006"), True),  # connection failure
        (
            _raised_in("plugins.video.rooms", ConnectionRefusedError(111, "LiveKit")),
            False,
        ),  # not the database
        (IntegrityError("INSERT", {}, Exception("duplicate key")), False),
        (_SqlState("23505"), False),
        (ValueError("no"), False),
    ],
)
def test_what_counts_as_the_database_being_unreachable(error: BaseException, outage: bool) -> None:
    assert is_database_outage(error) is outage


def test_the_translation_keeps_the_cause_and_passes_other_errors() -> None:
    with pytest.raises(DependencyUnavailable) as raised:
        with translate_outages("keyvalue", is_outage=lambda exc: isinstance(exc, ConnectionError)):
            raise ConnectionResetError("gone")
    assert raised.value.dependency == "keyvalue" and isinstance(raised.value.__cause__, ConnectionResetError)
    with pytest.raises(KeyError):
        with translate_outages("keyvalue", is_outage=lambda exc: isinstance(exc, ConnectionError)):
            raise KeyError("x")


async def test_translating_methods_wraps_the_public_coroutines_only() -> None:
    @translating_methods("pubsub", lambda exc: isinstance(exc, ConnectionError), skip=("close",))
    class Client:
        async def publish(self) -> None:
            raise ConnectionRefusedError

        async def close(self) -> None:
            raise ConnectionRefusedError

        async def _private(self) -> None:
            raise ConnectionRefusedError

    with pytest.raises(DependencyUnavailable):
        await Client().publish()
    for name in ("close", "_private"):
        with pytest.raises(ConnectionRefusedError):
            await getattr(Client(), name)()


class _Down:
    """A plugin whose route needs a server that is down."""

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(name="down", prefixes=("/api/down",))

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        async def down() -> None:
            with translate_outages("keyvalue", is_outage=lambda exc: isinstance(exc, ConnectionError)):
                raise ConnectionRefusedError(111, "Connect call failed ('10.1.2.3', 6379)")

        return [ApiRoute("/api/down", down, auth=False)]


async def test_an_unreachable_dependency_is_a_503_naming_it_and_counted(
    settings_factory: Callable[..., Settings],
) -> None:
    app = build_app(settings_factory(), [_Down()])
    async with running(app) as client:
        for _ in range(2):
            answer = await client.get("/api/down")
            body = assert_problem(answer, 503, "SERVICE_UNAVAILABLE")
            assert body["dependency"] == "keyvalue" and body["retryAfter"] == 5
            assert answer.headers["Retry-After"] == "5"
            assert "10.1.2.3" not in answer.text and "6379" not in answer.text
        metrics = (await client.get("/metrics")).text
    found = re.search(r'^wealist_dependency_unavailable_total\{dependency="keyvalue"\} (\S+)$', metrics, re.M)
    assert found is not None and float(found.group(1)) == 2.0
