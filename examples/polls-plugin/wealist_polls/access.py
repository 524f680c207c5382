"""Who may see a poll: the members of its workspace. A dependency loads the poll a route names and checks
the caller's membership of its workspace, so every ``/api/polls/{pollId}`` route says it once, by its
signature (``poll: VisiblePoll``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from wealist_plugins.user.contract import MANAGERS, Directory, Membership

from wealist_core import Forbidden, NotFound
from wealist_core.http import Call, Dependency
from wealist_polls.models import Poll

__all__ = ["PollAccess", "SeenPoll", "VisiblePoll"]


@dataclass(frozen=True)
class SeenPoll:
    """A poll and the caller's membership of its workspace."""

    poll: Poll  # as read before the request's unit of work opened: re-read it to change it
    member: Membership

    def require_closer(self) -> None:
        """Only the author or a manager of the workspace may close a poll."""
        if self.poll.author_id != self.member.user_id and self.member.role not in MANAGERS:
            raise Forbidden("Only its author or a manager may close a poll.", code="NOT_POLL_CLOSER")


class PollAccess(Dependency):
    """The poll of ``pollId`` when the caller is a member of its workspace. An unknown poll and a poll of
    another workspace are the same 404, so a stranger cannot tell whether a poll exists."""

    errors = (401, 403, 404)
    needs_principal = True

    async def resolve(self, call: Call) -> SeenPoll:
        poll_id: uuid.UUID = call.find("pollId")
        me = call.user_id()
        return await call.remember(("polls.poll", poll_id, me), lambda: self._load(call, poll_id, me))

    async def _load(self, call: Call, poll_id: uuid.UUID, me: uuid.UUID) -> SeenPoll:
        # Dependencies run before the request's unit of work opens: a read session of our own.
        async with call.container.database(call.plugin).reading() as session:
            poll = await session.get(Poll, poll_id)
        member = None
        if poll is not None:
            member = await call.container.contracts.get(Directory).membership(poll.workspace_id, me)
        if poll is None or member is None:
            raise NotFound(f"No poll {poll_id} in a workspace you belong to.", code="POLL_NOT_FOUND")
        return SeenPoll(poll, member)


#: ``async def read(self, poll: VisiblePoll, ...)``: the poll of the path, seen by a member.
VisiblePoll = Annotated[SeenPoll, PollAccess()]
