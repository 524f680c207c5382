"""``/ws/boards``: a subscriber sees presence and the task frames of its project, with who did it; a stranger
cannot follow the project."""

from __future__ import annotations

import json
import uuid

import httpx
from wealist_plugins.board.plugin import BoardPlugin
from wealist_plugins.user.testing import InMemoryDirectory, InMemoryUserPlugin
from websockets.asyncio.client import connect

from tests.support.processes import serving
from wealist_core.testing import build_app, headers_for, token_for


async def _next(ws, type_: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == type_:
            return frame


async def test_a_subscriber_sees_presence_and_task_frames(wealist_settings) -> None:  # type: ignore[no-untyped-def]
    directory = InMemoryDirectory()
    ada, eve = directory.add_user("Ada").user_id, directory.add_user("Eve").user_id
    space = directory.add_workspace(ada, "Apollo")
    directory.add_workspace(eve, "Elsewhere")
    app = build_app(wealist_settings, [InMemoryUserPlugin(directory), BoardPlugin])
    async with serving(app) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            project = (
                await client.post(
                    "/api/boards/projects",
                    json={"workspaceId": str(space), "name": "P"},
                    headers=headers_for(ada),
                )
            ).json()
            pid = project["projectId"]
            async with (
                connect(base.replace("http", "ws") + "/ws/boards") as ws,
                connect(base.replace("http", "ws") + "/ws/boards") as spy,
            ):
                await ws.send(json.dumps({"type": "AUTH", "token": token_for(ada)}))
                assert (await _next(ws, "READY"))["userId"] == str(ada)
                await ws.send(json.dumps({"type": "SUBSCRIBE", "projectId": pid}))
                presence = await _next(ws, "PROJECT_PRESENCE")
                assert presence["userIds"] == [str(ada)] and presence["projectId"] == pid
                online = (
                    await client.get(f"/api/boards/projects/{pid}/online", headers=headers_for(ada))
                ).json()
                assert online["userIds"] == [str(ada)]
                await spy.send(json.dumps({"type": "AUTH", "token": token_for(eve)}))
                await _next(spy, "READY")
                await spy.send(json.dumps({"type": "SUBSCRIBE", "projectId": pid}))
                assert (await _next(spy, "ERROR"))["code"] in {"PROJECT_NOT_FOUND", "TOPIC_NOT_FOUND"}
                created = await client.post(
                    f"/api/boards/{project['defaultBoardId']}/tasks",
                    json={"title": "Live"},
                    headers=headers_for(ada),
                )
                frame = await _next(ws, "TASK_CREATED")
                assert frame["task"]["taskId"] == created.json()["taskId"] and frame["actorId"] == str(ada)
                assert frame["projectId"] == pid
                assert uuid.UUID(frame["task"]["columnId"])
