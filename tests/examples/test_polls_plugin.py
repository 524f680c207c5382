"""The example polls plugin, in process, beside the real user plugin, as its users see it: every route,
the 404 of strangers, one vote per member, who may close a poll, the job that closes due polls and the
events it publishes and consumes.

It is tested with the plugin author's toolkit (``wealist_core.testing``) and the user plugin's
``Community``, which makes people and workspaces through the user plugin's own API.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from wealist_plugins.user.plugin import UserPlugin
from wealist_plugins.user.testing import Community, Person
from wealist_polls.contract import PollClosed
from wealist_polls.plugin import PollsPlugin

from wealist_core import utcnow
from wealist_core.migrations import describe_differences, differences
from wealist_core.testing import EventRecorder, assert_problem, on_both_backends

OPTIONS = ["Tea", "Coffee", "Water"]


@pytest.fixture
def wealist_plugins() -> Sequence[object]:
    return [UserPlugin, PollsPlugin]


@pytest.fixture
def community(wealist_app: Starlette, wealist_client: httpx.AsyncClient) -> Community:
    return Community(wealist_app, wealist_client)


@pytest.fixture
async def team(community: Community) -> tuple[str, list[Person]]:
    """Ada's workspace with Bob and Cy as plain members: ``(workspace id, [ada, bob, cy])``."""
    space, people = await community.team("Ada", "Bob", "Cy")
    return str(space["workspaceId"]), people


async def _create(
    client: httpx.AsyncClient, author: Person, workspace: str, question: str = "Tea or coffee?", **extra: Any
) -> dict[str, Any]:
    answer = await client.post(
        "/api/polls",
        headers=author.headers,
        json={"workspaceId": workspace, "question": question, "options": OPTIONS, **extra},
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def _vote(client: httpx.AsyncClient, voter: Person, poll_id: str, option: str) -> httpx.Response:
    return await client.post(f"/api/polls/{poll_id}/votes", headers=voter.headers, json={"option": option})


def _counts(poll: dict[str, Any]) -> dict[str, int]:
    return {row["option"]: row["votes"] for row in poll["options"]}


# ------------------------------------------------------------------------------------------- routes


@on_both_backends
async def test_a_member_asks_and_every_member_reads_the_poll(
    wealist_client: httpx.AsyncClient, team: tuple[str, list[Person]]
) -> None:
    workspace, (ada, bob, _cy) = team
    closes = (utcnow() + dt.timedelta(days=1)).replace(microsecond=0)

    created = await _create(wealist_client, bob, workspace, closesAt=closes.isoformat())
    read = await wealist_client.get(f"/api/polls/{created['pollId']}", headers=ada.headers)

    assert read.status_code == 200, read.text
    poll = read.json()
    assert poll == created
    assert poll["authorId"] == str(bob.id) and poll["workspaceId"] == workspace
    assert poll["question"] == "Tea or coffee?"
    assert _counts(poll) == {"Tea": 0, "Coffee": 0, "Water": 0}
    assert (poll["totalVotes"], poll["myVote"], poll["status"]) == (0, None, "OPEN")
    assert dt.datetime.fromisoformat(poll["closesAt"]) == closes
    assert poll["closedAt"] is None


async def test_the_workspace_list_is_paginated_newest_first(
    wealist_client: httpx.AsyncClient, community: Community, team: tuple[str, list[Person]]
) -> None:
    workspace, (ada, bob, _cy) = team
    asked = [(await _create(wealist_client, ada, workspace, f"Question {n}?"))["pollId"] for n in range(3)]
    elsewhere, [dan] = await community.team("Dan")
    await _create(wealist_client, dan, str(elsewhere["workspaceId"]), "Not yours?")

    first = await wealist_client.get(
        "/api/polls", params={"workspaceId": workspace, "limit": 2}, headers=bob.headers
    )
    assert first.status_code == 200, first.text
    second = await wealist_client.get(
        "/api/polls",
        params={"workspaceId": workspace, "limit": 2, "cursor": first.json()["nextCursor"]},
        headers=bob.headers,
    )

    pages = [first.json(), second.json()]
    assert [[poll["pollId"] for poll in page["items"]] for page in pages] == [asked[:0:-1], asked[:1]]
    assert pages[1]["nextCursor"] is None
    bad_cursor = await wealist_client.get(
        "/api/polls", params={"workspaceId": workspace, "cursor": "nope"}, headers=bob.headers
    )
    assert_problem(bad_cursor, 422, "INVALID_CURSOR")


async def test_a_stranger_gets_404_for_every_poll_of_another_workspace(
    wealist_client: httpx.AsyncClient, community: Community, team: tuple[str, list[Person]]
) -> None:
    workspace, (ada, _bob, _cy) = team
    poll_id = (await _create(wealist_client, ada, workspace))["pollId"]
    _theirs, [eve] = await community.team("Eve")
    unknown = str(uuid.uuid4())

    for target in (poll_id, unknown):
        answers = [
            await wealist_client.get(f"/api/polls/{target}", headers=eve.headers),
            await _vote(wealist_client, eve, target, "Tea"),
            await wealist_client.post(f"/api/polls/{target}/close", headers=eve.headers),
        ]
        problems = [assert_problem(answer, 404, "POLL_NOT_FOUND") for answer in answers]
        # The same answer for a poll that exists and one that does not: nothing tells them apart.
        assert {p["detail"].replace(target, "<id>") for p in problems} == {
            "No poll <id> in a workspace you belong to."
        }
    listing = await wealist_client.get("/api/polls", params={"workspaceId": workspace}, headers=eve.headers)
    creating = await wealist_client.post(
        "/api/polls",
        headers=eve.headers,
        json={"workspaceId": workspace, "question": "Mine?", "options": OPTIONS},
    )
    assert_problem(listing, 404, "WORKSPACE_NOT_FOUND")
    assert_problem(creating, 404, "WORKSPACE_NOT_FOUND")
    assert (await wealist_client.get(f"/api/polls/{poll_id}")).status_code == 401


@on_both_backends
async def test_one_vote_per_member_which_they_may_change(
    wealist_client: httpx.AsyncClient, team: tuple[str, list[Person]]
) -> None:
    workspace, (ada, bob, cy) = team
    poll_id = (await _create(wealist_client, ada, workspace))["pollId"]

    assert (await _vote(wealist_client, bob, poll_id, "Tea")).status_code == 200
    changed = await _vote(wealist_client, bob, poll_id, "coffee")  # options match whatever the case
    assert (await _vote(wealist_client, cy, poll_id, "Coffee")).status_code == 200

    assert changed.status_code == 200, changed.text
    assert (_counts(changed.json()), changed.json()["myVote"]) == (
        {"Tea": 0, "Coffee": 1, "Water": 0},
        "Coffee",
    )
    seen_by_ada = (await wealist_client.get(f"/api/polls/{poll_id}", headers=ada.headers)).json()
    assert _counts(seen_by_ada) == {"Tea": 0, "Coffee": 2, "Water": 0}
    assert (seen_by_ada["totalVotes"], seen_by_ada["myVote"]) == (2, None)


async def test_bad_polls_and_votes_are_422(
    wealist_client: httpx.AsyncClient, team: tuple[str, list[Person]]
) -> None:
    workspace, (ada, _bob, _cy) = team
    base: dict[str, Any] = {"workspaceId": workspace, "question": "Which?", "options": OPTIONS}
    past = (utcnow() - dt.timedelta(minutes=1)).isoformat()
    cases: dict[str, list[dict[str, Any]]] = {
        "body.options": [{"options": ["Only one"]}, {"options": [f"o{n}" for n in range(11)]}],
        "body.options.1": [{"options": ["Tea", "x" * 101]}],
        "body.question": [{"question": ""}, {"question": "   "}],
        "body.closesAt": [{"closesAt": past}, {"closesAt": "2999-01-01T12:00:00"}],
    }
    for field, changes in cases.items():
        for change in changes:
            answer = await wealist_client.post("/api/polls", headers=ada.headers, json={**base, **change})
            problem = assert_problem(answer, 422, "VALIDATION_ERROR")
            assert [e["field"] for e in problem["errors"]] == [field], change
    twice = await wealist_client.post(
        "/api/polls", headers=ada.headers, json={**base, "options": ["Tea", " tea "]}
    )
    assert assert_problem(twice, 422, "VALIDATION_ERROR")["errors"][0]["field"] == "body.options"

    poll_id = (await _create(wealist_client, ada, workspace))["pollId"]
    wrong = await _vote(wealist_client, ada, poll_id, "Juice")
    assert assert_problem(wrong, 422, "VALIDATION_ERROR")["errors"][0]["field"] == "body.option"


@on_both_backends
async def test_the_author_or_a_manager_closes_a_poll_and_it_is_announced(
    wealist_client: httpx.AsyncClient,
    wealist_events: EventRecorder,
    community: Community,
    team: tuple[str, list[Person]],
) -> None:
    workspace, (ada, bob, cy) = team
    admin = await community.person("Ina")
    await community.add({"workspaceId": workspace}, ada, admin, role="ADMIN")
    bobs = (await _create(wealist_client, bob, workspace, "Bob's?"))["pollId"]
    cys = (await _create(wealist_client, cy, workspace, "Cy's?"))["pollId"]
    await _vote(wealist_client, cy, bobs, "Water")

    by_a_member = await wealist_client.post(f"/api/polls/{bobs}/close", headers=cy.headers)
    by_the_author = await wealist_client.post(f"/api/polls/{bobs}/close", headers=bob.headers)
    by_an_admin = await wealist_client.post(f"/api/polls/{cys}/close", headers=admin.headers)

    assert_problem(by_a_member, 403, "NOT_POLL_CLOSER")
    for answer in (by_the_author, by_an_admin):
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "CLOSED" and answer.json()["closedAt"] is not None
    closed = await wealist_events.wait_for(PollClosed, poll_id=uuid.UUID(bobs))
    assert (closed.closed_by, closed.author_id, closed.total_votes) == (bob.id, bob.id, 1)
    assert (closed.workspace_id, closed.question) == (uuid.UUID(workspace), "Bob's?")
    assert (await wealist_events.wait_for(PollClosed, poll_id=uuid.UUID(cys))).closed_by == admin.id

    assert_problem(await _vote(wealist_client, cy, bobs, "Tea"), 409, "POLL_CLOSED")
    assert_problem(
        await wealist_client.post(f"/api/polls/{bobs}/close", headers=bob.headers), 409, "POLL_CLOSED"
    )
    final = (await wealist_client.get(f"/api/polls/{bobs}", headers=cy.headers)).json()
    assert (_counts(final)["Water"], final["myVote"]) == (1, "Water")


# ------------------------------------------------------------------------------------ event and job


@on_both_backends
async def test_a_removed_member_votes_leave_the_open_polls_only(
    wealist_client: httpx.AsyncClient,
    wealist_events: EventRecorder,
    team: tuple[str, list[Person]],
) -> None:
    workspace, (ada, bob, cy) = team
    open_poll = (await _create(wealist_client, ada, workspace, "Open?"))["pollId"]
    closed_poll = (await _create(wealist_client, ada, workspace, "Closed?"))["pollId"]
    for poll_id in (open_poll, closed_poll):
        await _vote(wealist_client, bob, poll_id, "Tea")
        await _vote(wealist_client, cy, poll_id, "Coffee")
    await wealist_client.post(f"/api/polls/{closed_poll}/close", headers=ada.headers)

    removed = await wealist_client.delete(
        f"/api/workspaces/{workspace}/members/{bob.id}", headers=ada.headers
    )
    assert removed.status_code == 204, removed.text
    await wealist_events.wait_for("user.member_removed", userId=str(bob.id))

    async def counts(poll_id: str) -> dict[str, int]:
        return _counts((await wealist_client.get(f"/api/polls/{poll_id}", headers=ada.headers)).json())

    for _ in range(100):  # the polls plugin consumes the event in its own consumer group: give it 5 s
        if (await counts(open_poll))["Tea"] == 0:
            break
        await asyncio.sleep(0.05)
    assert await counts(open_poll) == {"Tea": 0, "Coffee": 1, "Water": 0}
    assert await counts(closed_poll) == {"Tea": 1, "Coffee": 1, "Water": 0}, "closed results stay"


@on_both_backends
async def test_the_job_closes_the_polls_whose_time_has_come(
    wealist_app: Starlette,
    wealist_client: httpx.AsyncClient,
    wealist_events: EventRecorder,
    team: tuple[str, list[Person]],
) -> None:
    workspace, (ada, bob, _cy) = team
    closes = (utcnow() + dt.timedelta(hours=1)).replace(microsecond=0)
    due = (await _create(wealist_client, ada, workspace, "Due?", closesAt=closes.isoformat()))["pollId"]
    later = await _create(
        wealist_client, ada, workspace, "Later?", closesAt=(closes + dt.timedelta(days=1)).isoformat()
    )
    endless = (await _create(wealist_client, ada, workspace, "Endless?"))["pollId"]
    await _vote(wealist_client, bob, due, "Tea")

    scheduler = app_jobs(wealist_app)
    scheduler.clock = lambda: closes + dt.timedelta(minutes=5)
    run = await scheduler.run_now("polls.close_due")

    assert run.outcome == "success", run.error
    statuses = {
        poll_id: (await wealist_client.get(f"/api/polls/{poll_id}", headers=bob.headers)).json()
        for poll_id in (due, later["pollId"], endless)
    }
    assert [poll["status"] for poll in statuses.values()] == ["CLOSED", "OPEN", "OPEN"]
    assert dt.datetime.fromisoformat(statuses[due]["closedAt"]) == closes, "closed at its closesAt"
    announced = await wealist_events.wait_for(PollClosed, poll_id=uuid.UUID(due))
    assert (announced.closed_by, announced.closed_at, announced.total_votes) == (None, closes, 1)
    assert_problem(await _vote(wealist_client, bob, due, "Coffee"), 409, "POLL_CLOSED")

    again = await scheduler.run_now("polls.close_due")
    assert again.outcome == "success"
    await asyncio.sleep(0.2)
    assert len(wealist_events.received(PollClosed, poll_id=uuid.UUID(due))) == 1, "closed once"


def app_jobs(app: Starlette) -> Any:
    """The application's job scheduler (docs/plugins.md, "Periodic jobs": what a test drives)."""
    return app.state.wealist.jobs


# ------------------------------------------------------------------------------------------ the schema


@on_both_backends
async def test_the_migration_builds_exactly_the_models(wealist_app: Starlette) -> None:
    [registration] = PollsPlugin().wealist_register_models()
    database = wealist_app.state.wealist.container.database("polls")

    assert describe_differences(await differences(database, registration)) == []


async def test_the_openapi_document_lists_what_each_route_may_answer(
    wealist_client: httpx.AsyncClient,
) -> None:
    paths = (await wealist_client.get("/api/openapi.json")).json()["paths"]

    assert set(paths["/api/polls/{pollId}/votes"]["post"]["responses"]) >= {
        "200",
        "401",
        "403",
        "404",
        "409",
        "422",
    }
    assert set(paths["/api/polls"]["post"]["responses"]) >= {"201", "401", "404", "422"}
    assert paths["/api/polls"]["get"]["operationId"] == "polls.list_polls"
