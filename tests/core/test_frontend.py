"""The web app at /: its files, index.html for page paths, never for API paths."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from wealist_core.app import create_app


@pytest.fixture
async def built(settings_factory, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>Wealist app</title>")
    (dist / "assets" / "app.js").write_text("console.log('wealist')")
    (tmp_path / "secret.txt").write_text("not for you")
    app = create_app(settings_factory(frontend_dir=dist))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        yield client


async def test_the_app_and_its_files_are_served(built: httpx.AsyncClient) -> None:
    home = await built.get("/")
    assert home.status_code == 200 and "Wealist app" in home.text
    script = await built.get("/assets/app.js")
    assert script.status_code == 200 and "wealist" in script.text
    assert "javascript" in script.headers["content-type"]


async def test_a_page_path_of_the_app_gets_index_html(built: httpx.AsyncClient) -> None:
    page = await built.get("/invite/some-token")
    assert page.status_code == 200 and "Wealist app" in page.text
    assert page.headers["cache-control"] == "no-cache"


async def test_api_paths_stay_problem_json_404s(built: httpx.AsyncClient) -> None:
    for path in ("/api/nothing", "/ws/nothing", "/health/nothing", "/internal/x/y"):
        answer = await built.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/problem+json", path


async def test_files_outside_the_app_folder_are_not_served(built: httpx.AsyncClient) -> None:
    answer = await built.get("/..%2fsecret.txt")
    assert "not for you" not in answer.text


async def test_without_a_build_the_home_page_says_how_to_build_it(settings_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings_factory(frontend_dir=tmp_path / "missing"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        home = await client.get("/")
    assert home.status_code == 200
    assert "/api/docs" in home.text and "npm run build" in home.text
