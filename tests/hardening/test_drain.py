"""SIGTERM under load: ``wealist serve`` stops accepting, answers every request already in flight within
the grace period (``WEALIST_SHUTDOWN_GRACE_SECONDS``, default 10 s), then exits 0; a request still running
when the grace period ends is answered 503 ``SHUTTING_DOWN`` and the process exits all the same.

The slow route is a toy plugin of this module (the served process imports it by name).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
import socket
from pathlib import Path

import httpx
import pytest
from starlette.routing import BaseRoute

from tests.support.processes import ServerProcess, start_wealist, wealist_env
from wealist_core import PluginManifest, hookimpl
from wealist_core.http import ApiModel, ApiRoute

pytestmark = [pytest.mark.slow]

IN_FLIGHT = 30

# ---------------------------------------------------------------------------------- the toy plugin


class Slept(ApiModel):
    slept_ms: int


_sleeping = 0


async def slow(ms: int) -> Slept:
    global _sleeping
    _sleeping += 1
    try:
        await asyncio.sleep(ms / 1000)
    finally:
        _sleeping -= 1
    return Slept(slept_ms=ms)


class Sleeping(ApiModel):
    count: int


async def sleeping() -> Sleeping:
    return Sleeping(count=_sleeping)


class SlowPlugin:
    """``GET /api/slow/{ms}`` answers after ``ms`` milliseconds; ``GET /api/slow/sleeping`` how many do."""

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(name="slow", prefixes=("/api/slow",))

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        return [
            ApiRoute("/api/slow/sleeping", sleeping, response=Sleeping, auth=False),
            ApiRoute("/api/slow/{ms:int}", slow, response=Slept, auth=False),
        ]


# ------------------------------------------------------------------------------------------- tests


def _serve(tmp_path: Path, *args: str, **env: str) -> ServerProcess:
    values = {"WEALIST_PLUGIN_MODULES": f"{__name__}:SlowPlugin", "WEALIST_ACCESS_LOG": "false", **env}
    return start_wealist(
        "wealist-drain", wealist_env(values, data_dir=tmp_path / "data"), log_dir=tmp_path / "logs", args=args
    )


async def _fire(base: str, count: int, ms: int) -> tuple[list[asyncio.Task[int]], httpx.AsyncClient]:
    """``count`` requests at once, each on a connection of its own; each task gives its status (0: none)."""
    client = httpx.AsyncClient(
        base_url=base, timeout=httpx.Timeout(120.0), limits=httpx.Limits(max_connections=count + 5)
    )

    async def one() -> int:
        try:
            return (await client.get(f"/api/slow/{ms}")).status_code
        except httpx.HTTPError:
            return 0

    tasks = [asyncio.create_task(one()) for _ in range(count)]
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as probe:
        for _ in range(2000):
            if (await probe.get("/api/slow/sleeping")).json()["count"] >= count:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the requests never got under way")
    return tasks, client


def _refuses_connections(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) != 0


async def _exit_status(server: ServerProcess, within: float = 60.0) -> int:
    return await asyncio.wait_for(asyncio.to_thread(server.process.wait), within)


async def test_sigterm_answers_every_request_in_flight_then_exits(tmp_path: Path) -> None:
    server = _serve(tmp_path)
    try:
        tasks, client = await _fire(server.url, IN_FLIGHT, ms=2500)
        try:
            server.process.send_signal(signal.SIGTERM)
            for _ in range(200):
                if _refuses_connections(server.port):
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("the server kept accepting connections after SIGTERM")
            statuses = collections.Counter(await asyncio.gather(*tasks))
        finally:
            await client.aclose()
        status = await _exit_status(server)
    finally:
        server.stop()
    print(f"SIGTERM with {IN_FLIGHT} in flight: {dict(statuses)}; lost: {IN_FLIGHT - statuses[200]}")
    assert statuses == {200: IN_FLIGHT}, dict(statuses)
    assert status == 0, server.output()
    assert "Traceback" not in server.output()


async def test_requests_longer_than_the_grace_period_are_cut_and_the_process_exits(tmp_path: Path) -> None:
    # The command line's --shutdown-grace wins over the setting (120 s would outlast the wait below).
    server = _serve(tmp_path, "--shutdown-grace", "1", WEALIST_SHUTDOWN_GRACE_SECONDS="120")
    try:
        tasks, client = await _fire(server.url, 3, ms=60_000)
        try:
            server.process.send_signal(signal.SIGTERM)
            # Long before the requests would end: the grace period is over and the process gone.
            status = await _exit_status(server, within=30.0)
            statuses = collections.Counter(await asyncio.gather(*tasks))
        finally:
            await client.aclose()
    finally:
        with contextlib.suppress(Exception):
            server.stop()
    assert status == 0, server.output()
    assert statuses == {503: 3}, dict(statuses)  # SHUTTING_DOWN with Retry-After, not a dropped connection
    assert "grace period" in server.output()


async def test_sigterm_under_keep_alive_load_cuts_no_request_sent(tmp_path: Path) -> None:
    """Clients sending request after request on kept-alive connections: each request the server read is
    answered; once it stops, a client's next request finds the port closed (safe to retry elsewhere), never
    a connection closed under a request it had sent."""
    server = _serve(tmp_path)
    outcomes: collections.Counter[str] = collections.Counter()
    stopping = asyncio.Event()

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=30.0) as client:
            while True:
                try:
                    answer = await client.get("/api/slow/0")
                except httpx.ConnectError:
                    outcomes["refused"] += 1
                    return
                except httpx.HTTPError as exc:  # sent, and the connection closed under it: lost
                    outcomes[f"lost: {type(exc).__name__}"] += 1
                    return
                outcomes[str(answer.status_code)] += 1
                if not stopping.is_set() and outcomes["200"] >= 300:
                    stopping.set()

    try:
        loops = [asyncio.create_task(client_loop()) for _ in range(IN_FLIGHT)]
        await stopping.wait()
        server.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(asyncio.gather(*loops), 60)
        status = await _exit_status(server)
    finally:
        server.stop()
    lost = sum(count for name, count in outcomes.items() if name.startswith("lost"))
    print(f"SIGTERM under keep-alive load: {dict(outcomes)}; lost: {lost}")
    assert lost == 0, dict(outcomes)
    assert set(outcomes) == {"200", "refused"}, dict(outcomes)
    assert status == 0, server.output()
