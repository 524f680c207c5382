"""A board of 1,000 tasks on PostgreSQL: the board plugin's listing and moves, against a bare Starlette +
asyncpg endpoint reading and serialising the same rows, in the same run.

    .venv/bin/python bench/board.py [--tasks 1000] [--lists 30] [--moves 600]

Both applications are called in process through httpx's ASGI transport (no sockets, no load generator), one
request at a time, so the figures compare the work done per request: requests per second, p50 and p99, and the
SQL statements per request (counted on the plugin's engine). Needs PostgreSQL (WEALIST_TEST_POSTGRES_URL,
default postgresql://postgres@127.0.0.1:5432/postgres); a scratch database is made and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import event
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from wealist_plugins.board.plugin import BoardPlugin
from wealist_plugins.user.testing import InMemoryDirectory, InMemoryUserPlugin

from wealist_core.testing import (
    build_app,
    create_database,
    drop_database,
    headers_for,
    hermetic_settings,
    plugin_named,
    running,
)

ADMIN = os.environ.get("WEALIST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _figures(name: str, times: list[float], queries: float | None) -> dict[str, float | str | None]:
    ordered = sorted(times)
    return {
        "name": name,
        "rps": round(len(times) / sum(times), 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "queries_per_request": queries,
    }


POOL: dict[str, asyncpg.Pool] = {}


def bare_app(dsn: str) -> Starlette:
    """The same rows (tasks, participants, labels, field values of one board), read and serialised by hand."""
    pool = POOL

    async def tasks(request):  # type: ignore[no-untyped-def]
        if "p" not in pool:
            pool["p"] = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
        board = uuid.UUID(request.path_params["board"])
        async with pool["p"].acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM board_task WHERE board_id = $1 ORDER BY column_id, rank, id LIMIT 1001", board
            )
            ids = [r["id"] for r in rows]
            people = await conn.fetch(
                "SELECT task_id, user_id FROM board_task_participant WHERE task_id = ANY($1)", ids
            )
            labels = await conn.fetch(
                "SELECT task_id, label FROM board_task_label WHERE task_id = ANY($1)", ids
            )
            values = await conn.fetch(
                "SELECT v.task_id, f.key, v.value FROM board_field_value v"
                " JOIN board_field f ON f.id = v.field_id"
                " WHERE v.task_id = ANY($1)",
                ids,
            )
        by_people: dict[uuid.UUID, list[str]] = {}
        for r in people:
            by_people.setdefault(r["task_id"], []).append(str(r["user_id"]))
        by_labels: dict[uuid.UUID, list[str]] = {}
        for r in labels:
            by_labels.setdefault(r["task_id"], []).append(r["label"])
        by_values: dict[uuid.UUID, dict[str, object]] = {}
        for r in values:
            by_values.setdefault(r["task_id"], {})[r["key"]] = json.loads(r["value"])
        items = [
            {
                "taskId": str(r["id"]),
                "boardId": str(r["board_id"]),
                "columnId": str(r["column_id"]),
                "rank": r["rank"],
                "title": r["title"],
                "content": r["content"],
                "authorId": str(r["author_id"]),
                "assigneeId": str(r["assignee_id"]) if r["assignee_id"] else None,
                "participantIds": by_people.get(r["id"], []),
                "labels": by_labels.get(r["id"], []),
                "fields": by_values.get(r["id"], {}),
                "createdAt": r["created_at"].isoformat(),
                "updatedAt": r["updated_at"].isoformat(),
            }
            for r in rows
        ]
        return Response(json.dumps({"items": items, "nextCursor": None}), media_type="application/json")

    return Starlette(routes=[Route("/bare/{board}", tasks)])


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--lists", type=int, default=30)
    parser.add_argument("--moves", type=int, default=600)
    args = parser.parse_args()
    url = await create_database(ADMIN)
    try:
        directory = InMemoryDirectory()
        people = [directory.add_user(f"User {i}").user_id for i in range(10)]
        space = directory.add_workspace(people[0], "Bench", members=people[1:])
        data = Path(tempfile.mkdtemp(prefix="wealist-bench-board-"))
        settings = hermetic_settings(data, database_url=url, auto_migrate=True)
        app = build_app(settings, [InMemoryUserPlugin(directory), BoardPlugin], record=False)
        async with running(app) as client:
            h = headers_for(people[0])
            project = (
                await client.post(
                    "/api/boards/projects", json={"workspaceId": str(space), "name": "B"}, headers=h
                )
            ).json()
            pid, bid = project["projectId"], project["defaultBoardId"]
            for p in people[1:]:
                await client.post(f"/api/boards/projects/{pid}/members", json={"userId": str(p)}, headers=h)
            columns = [
                c["columnId"] for c in (await client.get(f"/api/boards/{bid}", headers=h)).json()["columns"]
            ]
            task_ids = []
            started = time.perf_counter()
            for i in range(args.tasks):
                body = {
                    "title": f"Task {i}",
                    "content": "Some *markdown* content " * 4,
                    "columnId": columns[i % 4],
                    "assigneeId": str(people[i % 10]),
                    "participantIds": [str(people[(i + 1) % 10])],
                    "labels": [f"l{i % 7}", "bench"],
                    "fields": {"importance": "normal", "role": "developer"},
                }
                answer = await client.post(
                    f"/api/boards/{bid}/tasks", json=body, headers=headers_for(people[i % 10])
                )
                assert answer.status_code == 201, answer.text
                task_ids.append(answer.json()["taskId"])
            print(f"seeded {args.tasks} tasks in {time.perf_counter() - started:.1f} s")
            engine = plugin_named(app, "board").deps.database.engine
            statements = [0]

            def count(*_a: object) -> None:
                statements[0] += 1

            event.listen(engine.sync_engine, "before_cursor_execute", count)
            bare = httpx.AsyncClient(
                transport=httpx.ASGITransport(bare_app(url.replace("+asyncpg", ""))), base_url="http://bare"
            )
            list_times, bare_times = [], []
            for _ in range(3):  # warm-up
                await client.get(f"/api/boards/{bid}/tasks", params={"limit": 1000}, headers=h)
                await bare.get(f"/bare/{bid}")
            statements[0] = 0
            for _ in range(args.lists):
                t = time.perf_counter()
                r = await bare.get(f"/bare/{bid}")
                bare_times.append(time.perf_counter() - t)
                assert len(r.json()["items"]) == args.tasks
                t = time.perf_counter()
                r = await client.get(f"/api/boards/{bid}/tasks", params={"limit": 1000}, headers=h)
                list_times.append(time.perf_counter() - t)
                assert len(r.json()["items"]) == args.tasks, r.text[:200]
            list_queries = statements[0] / args.lists
            statements[0] = 0
            move_times = []
            for i in range(args.moves):
                task = task_ids[(i * 37) % len(task_ids)]
                body = {"columnId": columns[i % 4], "afterTaskId": None}
                t = time.perf_counter()
                r = await client.post(f"/api/boards/tasks/{task}/move", json=body, headers=h)
                move_times.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text
            move_queries = statements[0] / args.moves
            await bare.aclose()
            if "p" in POOL:
                await POOL["p"].close()
        results = [
            _figures("bare list", bare_times, 4),
            _figures("board list", list_times, list_queries),
            _figures("board move", move_times, move_queries),
        ]
        for row in results:
            print(
                f"{row['name']:12} {row['rps']:>8} req/s  p50 {row['p50_ms']:>8} ms"
                f"  p99 {row['p99_ms']:>8} ms  queries/request {row['queries_per_request']}"
            )
        ratio = results[1]["rps"] / results[0]["rps"]  # type: ignore[operator]
        print(
            f"board list / bare list: {ratio:.0%} (goal >= 50%); moves {results[2]['rps']}/s (goal >= 300/s)"
        )
    finally:
        await drop_database(ADMIN, url)


if __name__ == "__main__":
    asyncio.run(main())
