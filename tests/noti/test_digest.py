"""The email digest: what is still unread after the delay is mailed once, one message per user."""

from __future__ import annotations

import datetime as dt

import httpx
from starlette.applications import Starlette

from tests.noti.conftest import EventSource, Team, wait_for_notifications
from tests.noti.test_notifications import assigned
from wealist_core.testing import on_both_backends, plugin_named


@on_both_backends
async def test_unread_notifications_are_mailed_once_per_user_after_the_delay(
    wealist_app: Starlette, wealist_client: httpx.AsyncClient, team: Team, source: EventSource
) -> None:
    for title in ("one", "two"):
        await source.emit(assigned(team, team.ada, team.owner, title))
    await source.emit(assigned(team, team.bob, team.owner, "three"))
    ada = await wait_for_notifications(wealist_client, team.ada, 2)
    await wait_for_notifications(wealist_client, team.bob, 1)
    # Bob read his: nothing to mail him.
    bob = (await wealist_client.get("/api/notifications", headers=team.h(team.bob))).json()["items"]
    await wealist_client.post(f"/api/notifications/{bob[0]['notificationId']}/read", headers=team.h(team.bob))

    noti = plugin_named(wealist_app, "noti")
    mailer = noti.mailer  # type: ignore[attr-defined]
    service = noti.service  # type: ignore[attr-defined]
    before = len(mailer.outbox)
    now = dt.datetime.now(dt.UTC)
    assert await service.send_digests(mailer, now, dt.timedelta(minutes=30)) == 0  # too early
    later = now + dt.timedelta(minutes=31)
    assert await service.send_digests(mailer, later, dt.timedelta(minutes=30)) == 1
    assert await service.send_digests(mailer, later, dt.timedelta(minutes=30)) == 0  # never twice
    sent = list(mailer.outbox)[before:]
    assert len(sent) == 1
    assert sent[0].to == [team.ada.email]
    assert all(item["text"] in sent[0].text for item in ada)


async def test_a_type_kept_from_mail_is_not_mailed(
    wealist_app: Starlette, wealist_client: httpx.AsyncClient, team: Team, source: EventSource
) -> None:
    prefs = [{"type": "TASK_ASSIGNED", "inApp": True, "email": False}]
    response = await wealist_client.put(
        "/api/notifications/preferences", headers=team.h(team.ada), json=prefs
    )
    assert response.status_code == 200, response.text
    await source.emit(assigned(team, team.ada, team.owner))
    await wait_for_notifications(wealist_client, team.ada, 1)
    noti = plugin_named(wealist_app, "noti")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert await noti.service.send_digests(noti.mailer, later, dt.timedelta(minutes=30)) == 0  # type: ignore[attr-defined]
