"""``wealist demo [--if-empty]``: a demo workspace with a few users, and how to sign in.

Everything goes through the public HTTP API of an in-process application (sign-up belongs to the auth
plugin, which this plugin knows only through HTTP), so the demo data is exactly what users could have
made themselves. ``--if-empty`` does nothing when the demo user exists already (``make run`` uses it).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

__all__ = ["DEMO_EMAIL", "DEMO_WORKSPACE", "TEAMMATES", "add_command", "seed_demo"]

DEMO_EMAIL = "demo@wealist.dev"
DEMO_WORKSPACE = "Wealist Demo"


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: str
    nickname: str


OWNER = DemoUser(DEMO_EMAIL, "Demo User", "OWNER", "데모")
TEAMMATES = (
    DemoUser("minjun@wealist.dev", "김민준", "ADMIN", "민준"),
    DemoUser("seoyeon@wealist.dev", "이서연", "MEMBER", "서연"),
    DemoUser("emma@wealist.dev", "Emma Wilson", "MEMBER", "Emma"),
)


class DemoError(Exception):
    """A step of the demo failed; the message says which and why."""


def add_command(cli: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = cli.add_parser("demo", help="create a demo workspace with a few users and print how to sign in")
    parser.add_argument(
        "--if-empty", action="store_true", help="do nothing when the demo user exists already"
    )
    parser.add_argument("--password", help="the demo users' password (default: a random one, printed)")
    parser.set_defaults(func=_command)


async def _command(args: argparse.Namespace) -> int:
    from wealist_core import Settings
    from wealist_core.commands import create_app

    app = create_app(Settings.load())
    return await seed_demo(app, if_empty=args.if_empty, password=args.password)


async def seed_demo(
    app: Starlette,
    *,
    if_empty: bool = False,
    password: str | None = None,
    out: Callable[[str], None] = print,
) -> int:
    """Create the demo data through ``app``'s HTTP API; the exit status (0 also when it exists already)."""
    password = password or f"demo-{secrets.token_urlsafe(9)}"
    public_url = app.state.wealist.settings.public_url.rstrip("/")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=public_url) as client:
            try:
                created = await _seed(client, password)
            except DemoError as exc:
                print(f"wealist demo: {exc}", file=sys.stderr)
                return 1
    notes = Path(app.state.wealist.settings.data_dir) / "demo-credentials.txt"
    if not created:
        where = f" (the password is in {notes})" if notes.exists() else ""
        out(f"The demo user {DEMO_EMAIL} exists already; nothing was changed{where}.")
        return 0
    lines = [
        f"Demo data is ready: the workspace {DEMO_WORKSPACE!r} with {1 + len(TEAMMATES)} members.",
        f"Open {public_url} and sign in with any of these (password: {password}):",
        *(f"  {user.email:<22} {user.name} ({user.role.lower()})" for user in (OWNER, *TEAMMATES)),
    ]
    for line in lines:
        out(line)
    # Kept for the next `make run`, which finds the data and would otherwise have no password to show.
    fd = os.open(notes, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return 0


async def _seed(client: httpx.AsyncClient, password: str) -> bool:
    """Sign everyone up and build the workspace; False when the demo user exists (nothing is done)."""
    answer = await client.post(
        "/api/auth/signup", json={"email": OWNER.email, "password": password, "name": OWNER.name}
    )
    if answer.status_code == 409:
        return False
    owner = _auth(_expect(answer, 201, f"signing up {OWNER.email}"))
    tokens: dict[str, dict[str, str]] = {}
    for user in TEAMMATES:
        answer = await client.post(
            "/api/auth/signup", json={"email": user.email, "password": password, "name": user.name}
        )
        if answer.status_code != 409:  # left by an interrupted run: invited all the same
            tokens[user.email] = _auth(_expect(answer, 201, f"signing up {user.email}"))
    workspace = _expect(
        await client.post(
            "/api/workspaces",
            headers=owner,
            json={
                "name": DEMO_WORKSPACE,
                "description": "A workspace to try Wealist in: boards, chats and calls with the team.",
                "isPublic": True,
                "requiresApproval": True,
                "onlyAdminsInvite": True,
            },
        ),
        201,
        "creating the demo workspace",
    )
    workspace_id = workspace["workspaceId"]
    for user in TEAMMATES:
        _expect(
            await client.post(
                f"/api/workspaces/{workspace_id}/invitations",
                headers=owner,
                json={"email": user.email, "role": user.role},
            ),
            201,
            f"adding {user.email}",
        )
    for user, headers in ((OWNER, owner), *((u, tokens[u.email]) for u in TEAMMATES if u.email in tokens)):
        _expect(
            await client.patch(
                "/api/profiles/me",
                params={"workspaceId": workspace_id},
                headers=headers,
                json={"nickname": user.nickname},
            ),
            200,
            f"setting {user.email}'s nickname",
        )
    return True


def _expect(answer: httpx.Response, status: int, step: str) -> Any:
    if answer.status_code != status:
        try:
            detail = answer.json().get("detail", answer.text)
        except ValueError:
            detail = answer.text
        hint = (
            " (is the auth plugin installed and running in this process?)"
            if answer.status_code == 404
            else ""
        )
        raise DemoError(f"{step} answered {answer.status_code}: {detail}{hint}")
    return answer.json()


def _auth(body: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {body['accessToken']}"}
