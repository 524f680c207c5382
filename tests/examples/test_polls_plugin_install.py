"""The example polls plugin installed the way a user installs one: ``pip install`` of wealist and
wealist-polls into a fresh virtual environment (:mod:`tests.support.venvs`), then ``wealist plugins``,
``wealist migrate`` on PostgreSQL, ``wealist serve`` with the real user and auth plugins, and ``wealist jobs
run``.

People sign up through the auth plugin as they would in the web app (with its cheapest password hashing),
so nothing of the test toolkit is installed in the environment.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import REPO_ROOT, ServerProcess, free_port, start_process
from tests.support.venvs import fresh_venv, run, venv_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

POLLS_SOURCE = REPO_ROOT / "examples" / "polls-plugin"
PLUGINS = "user,auth,polls"
CHEAP_AUTH = {
    "WEALIST_AUTH__ARGON2_TIME_COST": "1",
    "WEALIST_AUTH__ARGON2_MEMORY_COST": "1024",
    "WEALIST_AUTH__ARGON2_PARALLELISM": "1",
}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with wealist and wealist-polls installed from their sources."""
    return fresh_venv(tmp_path_factory.mktemp("polls-venv"), POLLS_SOURCE)


def _wealist(venv: Path, *args: str, env: dict[str, str], cwd: Path) -> str:
    return run([str(venv / "bin" / "wealist"), *args], cwd=cwd, env=env, timeout=120)


def test_wealist_plugins_lists_polls_with_what_it_publishes_and_consumes(venv: Path, tmp_path: Path) -> None:
    env = venv_env(tmp_path / "data")

    listing = json.loads(_wealist(venv, "plugins", "--json", env=env, cwd=tmp_path))

    polls = {row["name"]: row for row in listing["plugins"]}["polls"]
    assert polls["source"] == "wealist-polls 0.1.0"
    assert polls["prefixes"] == ["/api/polls"]
    assert polls["needs"] == ["user.Directory"]
    # Derived from the contract module and the @subscribe method: the manifest restates neither.
    assert polls["publishes"] == ["polls.poll_closed"]
    assert polls["consumes"] == ["user.member_removed"]


@pytest.fixture
def server_env(venv: Path, tmp_path: Path, postgres_url: str) -> dict[str, str]:
    """One process on a new PostgreSQL database (memory:// for the rest), migrated by ``wealist migrate``."""
    env = venv_env(
        tmp_path / "data",
        WEALIST_PLUGINS=PLUGINS,
        WEALIST_DATABASE_URL=postgres_url,
        WEALIST_LOG_FORMAT="text",
        **CHEAP_AUTH,
    )
    migrated = _wealist(venv, "migrate", env=env, cwd=tmp_path)
    assert "polls" in migrated, migrated
    return env


@pytest.fixture
def server(venv: Path, server_env: dict[str, str], tmp_path: Path) -> Iterator[ServerProcess]:
    port = free_port()
    process = start_process(
        "wealist-polls",
        [str(venv / "bin" / "wealist"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=server_env,
        port=port,
        log_dir=tmp_path / "logs",
        ready_path="/health/ready",
    )
    yield process
    process.stop()


def _signup(client: httpx.Client, name: str) -> tuple[str, str, dict[str, str]]:
    """Sign up through the auth plugin: ``(email, user id, headers carrying the access token)``."""
    email = f"{name.lower()}.{time.monotonic_ns()}@example.com"
    answer = client.post(
        "/api/auth/signup", json={"email": email, "password": "correct horse battery staple", "name": name}
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return email, body["userId"], {"Authorization": f"Bearer {body['accessToken']}"}


def _ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None


def _poll(client: httpx.Client, poll_id: str, headers: dict[str, str]) -> dict[str, Any]:
    return dict(_ok(client.get(f"/api/polls/{poll_id}", headers=headers)))


def test_a_served_poll_takes_votes_forgets_a_removed_member_and_closes_by_the_job(
    venv: Path, server: ServerProcess, server_env: dict[str, str], tmp_path: Path
) -> None:
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        _, _, ada = _signup(client, "Ada")
        bob_email, bob_id, bob = _signup(client, "Bob")
        space = _ok(client.post("/api/workspaces", headers=ada, json={"name": "Apollo"}), 201)
        workspace = space["workspaceId"]
        invited = client.post(
            f"/api/workspaces/{workspace}/invitations", headers=ada, json={"email": bob_email}
        )
        assert _ok(invited, 201)["status"] == "ADDED"

        closes = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)
        created = _ok(
            client.post(
                "/api/polls",
                headers=ada,
                json={"workspaceId": workspace, "question": "Lunch?", "options": ["Noodles", "Rice"]},
            ),
            201,
        )
        timed = _ok(
            client.post(
                "/api/polls",
                headers=ada,
                json={
                    "workspaceId": workspace,
                    "question": "Now?",
                    "options": ["Yes", "No"],
                    "closesAt": closes.isoformat(),
                },
            ),
            201,
        )
        voted = _ok(
            client.post(f"/api/polls/{created['pollId']}/votes", headers=bob, json={"option": "Rice"})
        )
        assert (voted["myVote"], voted["totalVotes"]) == ("Rice", 1)
        listed = _ok(client.get("/api/polls", headers=bob, params={"workspaceId": workspace}))
        assert [poll["question"] for poll in listed["items"]] == ["Now?", "Lunch?"]

        # The user plugin announces the removal; the polls plugin's consumer withdraws Bob's vote.
        _ok(client.delete(f"/api/workspaces/{workspace}/members/{bob_id}", headers=ada), 204)
        deadline = time.monotonic() + 10
        while _poll(client, created["pollId"], ada)["totalVotes"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _poll(client, created["pollId"], ada)["totalVotes"] == 0, server.output()
        assert client.get(f"/api/polls/{created['pollId']}", headers=bob).status_code == 404

        time.sleep(max(0.0, (closes - dt.datetime.now(dt.UTC)).total_seconds()) + 0.2)
        late = client.post(f"/api/polls/{timed['pollId']}/votes", headers=ada, json={"option": "Yes"})
        assert (late.status_code, late.json()["code"]) == (409, "POLL_CLOSED")

        ran = _wealist(venv, "jobs", "run", "polls.close_due", env=server_env, cwd=tmp_path)
        assert "polls.close_due: success" in ran
        closed = _poll(client, timed["pollId"], ada)
        assert closed["status"] == "CLOSED"
        assert dt.datetime.fromisoformat(closed["closedAt"]) == dt.datetime.fromisoformat(timed["closesAt"])
