"""Notifications from other plugins' events: who gets one, once, in their language; reading and counting."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from wealist_plugins.board.contract import CommentAdded, TaskAssigned
from wealist_plugins.chat.contract import MessageCreated
from wealist_plugins.user.contract import MemberAdded, Role

from tests.noti.conftest import EventSource, Team, notifications, wait_for_notifications
from wealist_core.testing import on_both_backends


def assigned(team: Team, assignee: object, actor: object, title: str = "Ship it") -> TaskAssigned:
    return TaskAssigned(
        workspace_id=team.workspace,
        project_id=uuid.uuid4(),
        project_name="Launch",
        board_id=uuid.uuid4(),
        task_id=uuid.uuid4(),
        task_title=title,
        watcher_ids=[assignee.user_id],  # type: ignore[attr-defined]
        actor_id=actor.user_id,  # type: ignore[attr-defined]
        assignee_id=assignee.user_id,  # type: ignore[attr-defined]
    )


@on_both_backends
async def test_an_assignment_notifies_the_assignee_once_in_korean(
    wealist_client: httpx.AsyncClient, team: Team, source: EventSource
) -> None:
    event = assigned(team, team.ada, team.owner)
    event_id = await source.emit(event)
    await source.emit(event, event_id=event_id)  # delivered twice: at least once
    await source.emit(assigned(team, team.bob, team.owner, "Other"))
    await wait_for_notifications(wealist_client, team.bob, 1)
    items = await notifications(wealist_client, team.ada)
    assert len(items) == 1
    item = items[0]
    assert item["type"] == "TASK_ASSIGNED"
    assert item["actorId"] == str(team.owner.user_id)
    assert item["workspaceId"] == str(team.workspace)
    assert item["resource"] == {"type": "TASK", "id": str(event.task_id), "name": "Ship it"}
    assert "배정" in item["text"]
    assert item["link"].endswith(f"/tasks/{event.task_id}")
    assert item["readAt"] is None


async def test_nobody_hears_of_their_own_action_nor_of_a_workspace_they_are_not_in(
    wealist_client: httpx.AsyncClient, team: Team, source: EventSource
) -> None:
    await source.emit(assigned(team, team.ada, team.ada))  # self-assignment
    await source.emit(assigned(team, team.stranger, team.owner))  # not a member
    await source.emit(assigned(team, team.bob, team.owner))  # a marker that the others were consumed
    await wait_for_notifications(wealist_client, team.bob, 1)
    assert await notifications(wealist_client, team.ada) == []
    assert await notifications(wealist_client, team.stranger) == []


async def test_an_invitation_a_mention_and_a_direct_message(
    wealist_client: httpx.AsyncClient, team: Team, source: EventSource
) -> None:
    await source.emit(
        MemberAdded(
            workspace_id=team.workspace,
            workspace_name="Apollo",
            user_id=team.ada.user_id,
            user_name="Ada",
            role=Role.MEMBER,
            actor_id=team.owner.user_id,
            actor_name="Olga",
            via="INVITATION",
        )
    )
    await source.emit(
        CommentAdded(
            workspace_id=team.workspace,
            project_id=uuid.uuid4(),
            project_name="Launch",
            board_id=uuid.uuid4(),
            task_id=uuid.uuid4(),
            task_title="Ship it",
            watcher_ids=[team.ada.user_id, team.bob.user_id],
            actor_id=team.owner.user_id,
            comment_id=uuid.uuid4(),
            preview="@Ada look",
            mentioned_user_ids=[team.ada.user_id],
        )
    )
    await source.emit(
        MessageCreated(
            workspace_id=team.workspace,
            chat_id=uuid.uuid4(),
            chat_type="DM",
            chat_name="Olga",
            message_id=uuid.uuid4(),
            seq=3,
            sender_id=team.owner.user_id,
            sender_name="Olga",
            preview="hi",
            recipient_ids=[team.ada.user_id],
            offline_recipient_ids=[team.ada.user_id],
            mentioned_user_ids=[],
        )
    )
    items = await wait_for_notifications(wealist_client, team.ada, 3)
    assert sorted(i["type"] for i in items) == ["CHAT_DIRECT_MESSAGE", "MENTIONED", "WORKSPACE_INVITED"]
    bob = await wait_for_notifications(wealist_client, team.bob, 1)
    assert [i["type"] for i in bob] == ["COMMENT_ADDED"]


@on_both_backends
async def test_reading_counting_paging_and_deleting(
    wealist_client: httpx.AsyncClient, team: Team, source: EventSource
) -> None:
    h = team.h(team.ada)
    for title in ("one", "two", "three"):
        await source.emit(assigned(team, team.ada, team.owner, title))
    items = await wait_for_notifications(wealist_client, team.ada, 3)
    count = await wealist_client.get("/api/notifications/unread-count", headers=h)
    assert count.json() == {"count": 3}
    first = await wealist_client.get("/api/notifications", headers=h, params={"limit": 2})
    assert len(first.json()["items"]) == 2
    rest = await wealist_client.get(
        "/api/notifications", headers=h, params={"limit": 2, "cursor": first.json()["nextCursor"]}
    )
    seen = [i["notificationId"] for i in first.json()["items"] + rest.json()["items"]]
    assert sorted(seen) == sorted(i["notificationId"] for i in items)

    target = items[0]["notificationId"]
    assert (await wealist_client.post(f"/api/notifications/{target}/read", headers=h)).status_code == 200
    count = await wealist_client.get("/api/notifications/unread-count", headers=h)
    assert count.json() == {"count": 2}
    unread = await wealist_client.get("/api/notifications", headers=h, params={"unreadOnly": "true"})
    assert target not in [i["notificationId"] for i in unread.json()["items"]]

    # Someone else cannot read or delete mine.
    other = team.h(team.bob)
    assert (await wealist_client.post(f"/api/notifications/{target}/read", headers=other)).status_code == 404
    assert (await wealist_client.delete(f"/api/notifications/{target}", headers=other)).status_code == 404

    assert (
        await wealist_client.delete(f"/api/notifications/{items[1]['notificationId']}", headers=h)
    ).status_code in (200, 204)
    count = await wealist_client.get("/api/notifications/unread-count", headers=h)
    assert count.json() == {"count": 1}
    done = await wealist_client.post(
        "/api/notifications/read-all", headers=h, json={"workspaceId": str(team.workspace)}
    )
    assert done.status_code == 200, done.text
    count = await wealist_client.get("/api/notifications/unread-count", headers=h)
    assert count.json() == {"count": 0}


async def test_a_muted_type_creates_nothing(
    wealist_client: httpx.AsyncClient, team: Team, source: EventSource
) -> None:
    h = team.h(team.ada)
    muted = [{"workspaceId": str(team.workspace), "type": "TASK_ASSIGNED", "inApp": False, "email": False}]
    response = await wealist_client.put("/api/notifications/preferences", headers=h, json=muted)
    assert response.status_code == 200, response.text
    assert response.json() == muted
    await source.emit(assigned(team, team.ada, team.owner))
    await source.emit(assigned(team, team.bob, team.owner))
    await wait_for_notifications(wealist_client, team.bob, 1)
    await asyncio.sleep(0)
    assert await notifications(wealist_client, team.ada) == []
    foreign = [{"workspaceId": str(team.elsewhere), "type": "TASK_ASSIGNED", "inApp": False, "email": True}]
    response = await wealist_client.put("/api/notifications/preferences", headers=h, json=foreign)
    assert response.status_code == 404
