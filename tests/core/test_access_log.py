"""The access log: one JSON line per request, the same shape whether written directly or through logging."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any

import httpx
import pytest

from wealist_core import observability
from wealist_core.app import create_app
from wealist_core.observability import JsonFormatter


async def _request(settings_factory: Any, path: str) -> None:
    app = create_app(settings_factory())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        await client.get(path, headers={"x-request-id": "trace-42"})
        await asyncio.sleep(observability.FLUSH_AFTER * 2)  # the direct writer writes its lines in batches


async def test_the_direct_line_is_json_with_what_the_formatter_writes(
    settings_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    odd_path = '/api/a"b\\c\u00e9d'
    direct = io.StringIO()
    monkeypatch.setattr(observability, "_json_stream", direct)
    logger = logging.getLogger("wealist.access")
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        await _request(settings_factory, odd_path)
    finally:
        logger.setLevel(previous)
    (line,) = [json.loads(text) for text in direct.getvalue().splitlines()]

    # The same request through logging (a handler on the access logger turns the direct path off).
    formatted: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            formatted.append(json.loads(JsonFormatter().format(record)))

    handler = Collect(level=logging.INFO)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        await _request(settings_factory, odd_path)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    (via_logging,) = formatted

    assert line["path"] == odd_path and line["msg"] == f"GET {odd_path} 404"
    assert (line["requestId"], line["status"], line["route"], line["principal"]) == (
        "trace-42",
        404,
        "<unmatched>",
        None,
    )
    ignore = {"ts", "durationMs"}
    assert {k: v for k, v in line.items() if k not in ignore} == {
        k: v for k, v in via_logging.items() if k not in ignore
    }
