"""Forwarding headers and exposure: a real ``wealist serve`` believes ``X-Forwarded-For`` only from proxies
named in ``WEALIST_TRUSTED_PROXIES`` (none by default), the generated NGINX configuration overwrites the
header with ``$remote_addr`` and never routes ``/metrics``, and ``/metrics`` answers only allowed addresses or
its bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.auth.support import monolith, running, settings_for
from tests.support.processes import ServerProcess, start_wealist, wealist_env
from wealist_core.gateway import nginx_config

PLUGIN_MODULES = ",".join(
    [
        "wealist_plugins.user.plugin:UserPlugin",
        "wealist_plugins.auth.plugin:AuthPlugin",
        "wealist_plugins.auth.verifier:TokenVerifierPlugin",
    ]
)
PASSWORD = "correct horse battery staple"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    env = wealist_env(
        {
            "WEALIST_PLUGIN_MODULES": PLUGIN_MODULES,
            "WEALIST_AUTH__ARGON2_TIME_COST": "1",
            "WEALIST_AUTH__ARGON2_MEMORY_COST": "1024",
            "WEALIST_AUTH__ARGON2_PARALLELISM": "1",
            "WEALIST_AUTH__RATE_LIMIT_LOGIN_IP": "3/600",
        },
        data_dir=tmp_path / "data",
    )
    process = start_wealist("proxies", env, log_dir=tmp_path)
    try:
        yield process
    finally:
        process.stop()


async def test_a_local_client_cannot_choose_its_address_with_x_forwarded_for(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        created = await client.post(
            "/api/auth/signup",
            json={"email": "proxy.test@example.com", "password": PASSWORD, "name": "Ada"},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
        assert created.status_code == 201, created.text
        sessions = await client.get(
            "/api/auth/sessions", headers={"Authorization": f"Bearer {created.json()['accessToken']}"}
        )
        assert [s["ip"] for s in sessions.json()["items"]] == ["127.0.0.1"]
        statuses = []
        for n in range(6):
            answer = await client.post(
                "/api/auth/login",
                json={"email": f"nobody{n}@example.com", "password": PASSWORD},
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
            )
            statuses.append(answer.status_code)
        assert 429 in statuses, statuses  # every spoofed address counted as the one real client


def test_the_generated_nginx_config_overwrites_x_forwarded_for_and_hides_metrics() -> None:
    config = nginx_config([], peers={}, default_upstream="127.0.0.1:8000")
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in config
    assert "$proxy_add_x_forwarded_for" not in config
    assert "location = /metrics { return 404; }" in config


@pytest.mark.parametrize(
    ("options", "client_address", "headers", "status"),
    [
        ({}, "127.0.0.1", {}, 200),
        ({}, "203.0.113.7", {}, 404),
        ({"metrics_allowed": ("10.0.0.0/8",)}, "10.2.3.4", {}, 200),
        ({"metrics_token": "scrape-me"}, "203.0.113.7", {"Authorization": "Bearer scrape-me"}, 200),
        ({"metrics_token": "scrape-me"}, "203.0.113.7", {"Authorization": "Bearer wrong"}, 404),
    ],
)
async def test_metrics_answer_only_allowed_addresses_or_the_token(
    settings_factory: Any, options: dict[str, Any], client_address: str, headers: dict[str, str], status: int
) -> None:
    app: Starlette = monolith(settings_for(settings_factory, {}).model_copy(update=options))
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=(client_address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/metrics", headers=headers)
    assert response.status_code == status
