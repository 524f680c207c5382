"""The rules of polls: who votes, when a poll closes, what a removed member leaves behind.

Methods take the request's unit of work first; the closing job and the event handler open their own on the
plugin's database. Repositories would be overkill here: the few queries live beside their rules.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from wealist_plugins.user.contract import Membership

from wealist_core import Clock, Conflict, Database, UnitOfWork, ValidationProblem, utcnow
from wealist_core.pagination import Page, keyset
from wealist_polls.access import SeenPoll
from wealist_polls.contract import PollClosed
from wealist_polls.models import Poll, Vote
from wealist_polls.schemas import OptionCount, PollIn, PollOut, PollQuery

__all__ = ["PollService"]

NEWEST_FIRST = (Poll.created_at.desc(), Poll.id)
_BATCH = 200


def _invalid(field: str, message: str) -> ValidationProblem:
    return ValidationProblem(f"{field}: {message}", errors=[{"field": field, "message": message}])


class PollService:
    """Polls in workspaces. ``clock`` tells the time of requests (the job gets its own from the scheduler)."""

    def __init__(self, database: Database, clock: Clock = utcnow) -> None:
        self.database = database
        self.clock = clock

    async def create(self, uow: UnitOfWork, member: Membership, body: PollIn) -> PollOut:
        question, options = body.question.strip(), [option.strip() for option in body.options]
        if not question:
            raise _invalid("body.question", "may not be blank")
        if any(not option for option in options):
            raise _invalid("body.options", "an option may not be blank")
        if len({option.casefold() for option in options}) < len(options):
            raise _invalid("body.options", "options must differ from each other")
        if body.closes_at is not None:
            if body.closes_at.tzinfo is None:
                raise _invalid("body.closesAt", "give a time zone (2030-01-01T12:00:00Z)")
            if body.closes_at <= self.clock():
                raise _invalid("body.closesAt", "must be in the future")
        poll = Poll(
            workspace_id=member.workspace_id,
            author_id=member.user_id,
            question=question,
            options=options,
            created_at=self.clock(),
            closes_at=body.closes_at,
        )
        uow.session.add(poll)
        await uow.session.flush()
        return (await self._render(uow.session, [poll], member.user_id))[0]

    async def page(self, uow: UnitOfWork, member: Membership, query: PollQuery) -> Page[PollOut]:
        stmt = select(Poll).where(Poll.workspace_id == member.workspace_id)
        ks = keyset(stmt, query, order=NEWEST_FIRST)
        part = ks.slice((await uow.session.scalars(ks.statement)).all())
        items = await self._render(uow.session, part.rows, member.user_id)
        return Page(items=items, next_cursor=part.next_cursor)

    async def read(self, uow: UnitOfWork, seen: SeenPoll) -> PollOut:
        return (await self._render(uow.session, [seen.poll], seen.member.user_id))[0]

    async def vote(self, uow: UnitOfWork, seen: SeenPoll, option: str) -> PollOut:
        """The caller's vote, replacing an earlier one; 409 once the poll is closed."""
        poll = await self._open_poll(uow, seen)
        choice = next((o for o in poll.options if o.casefold() == option.strip().casefold()), None)
        if choice is None:
            raise _invalid("body.option", f"not an option of this poll: {', '.join(poll.options)}")
        me, now = seen.member.user_id, self.clock()
        vote = {"poll_id": poll.id, "user_id": me, "option": choice, "voted_at": now}
        await uow.upsert(Vote, vote, conflict=("poll_id", "user_id"), update=("option", "voted_at"))
        return (await self._render(uow.session, [poll], me))[0]

    async def close(self, uow: UnitOfWork, seen: SeenPoll) -> PollOut:
        """Closed by its author or a manager; announced with :class:`PollClosed`."""
        seen.require_closer()
        poll = await self._open_poll(uow, seen)
        await self._close(uow, poll, self.clock(), closed_by=seen.member.user_id)
        return (await self._render(uow.session, [poll], seen.member.user_id))[0]

    async def close_due(self, now: dt.datetime) -> int:
        """Close every poll whose ``closesAt`` has passed by ``now``, in batches; how many were closed."""
        closed = 0
        while True:
            async with self.database.unit_of_work() as uow:
                due = select(Poll).where(Poll.closed_at.is_(None), Poll.closes_at <= now)
                # A poll being closed by hand right now is locked (PostgreSQL): skip it, never close twice.
                due = due.order_by(Poll.closes_at).limit(_BATCH).with_for_update(skip_locked=True)
                polls = (await uow.session.scalars(due)).all()
                for poll in polls:
                    assert poll.closes_at is not None
                    await self._close(uow, poll, poll.closes_at, closed_by=None)
            closed += len(polls)
            if len(polls) < _BATCH:
                return closed

    async def withdraw(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> int:
        """Take a former member's votes out of the workspace's open polls (closed results stay)."""
        now = self.clock()
        open_polls = select(Poll.id).where(
            Poll.workspace_id == workspace_id,
            Poll.closed_at.is_(None),
            (Poll.closes_at.is_(None)) | (Poll.closes_at > now),
        )
        async with self.database.unit_of_work() as uow:
            result = await uow.session.execute(
                delete(Vote).where(Vote.user_id == user_id, Vote.poll_id.in_(open_polls))
            )
        return int(getattr(result, "rowcount", 0) or 0)

    # ----------------------------------------------------------------------------------------- helpers

    async def _open_poll(self, uow: UnitOfWork, seen: SeenPoll) -> Poll:
        # Read again inside the transaction (locked on PostgreSQL): a close may have happened meanwhile.
        poll = await uow.session.get(Poll, seen.poll.id, with_for_update=True, populate_existing=True)
        if poll is None or not poll.is_open(self.clock()):
            raise Conflict("This poll is closed.", code="POLL_CLOSED")
        return poll

    async def _close(self, uow: UnitOfWork, poll: Poll, at: dt.datetime, closed_by: uuid.UUID | None) -> None:
        poll.closed_at = at
        total = await uow.session.scalar(select(func.count()).where(Vote.poll_id == poll.id))
        uow.emit(
            PollClosed(
                workspace_id=poll.workspace_id,
                poll_id=poll.id,
                author_id=poll.author_id,
                question=poll.question,
                closed_by=closed_by,
                closed_at=at,
                total_votes=total or 0,
            )
        )

    async def _render(self, session: AsyncSession, polls: Sequence[Poll], me: uuid.UUID) -> list[PollOut]:
        """The polls with their counts per option and the caller's own vote: two queries for any number."""
        ids = [poll.id for poll in polls]
        counted = (
            select(Vote.poll_id, Vote.option, func.count())
            .where(Vote.poll_id.in_(ids))
            .group_by(Vote.poll_id, Vote.option)
        )
        counts = {(poll_id, option): n for poll_id, option, n in (await session.execute(counted)).all()}
        mine = select(Vote.poll_id, Vote.option).where(Vote.poll_id.in_(ids), Vote.user_id == me)
        my_votes = {poll_id: option for poll_id, option in (await session.execute(mine)).all()}
        now = self.clock()
        return [
            PollOut(
                poll_id=poll.id,
                workspace_id=poll.workspace_id,
                author_id=poll.author_id,
                question=poll.question,
                options=[OptionCount(option=o, votes=counts.get((poll.id, o), 0)) for o in poll.options],
                total_votes=sum(counts.get((poll.id, o), 0) for o in poll.options),
                my_vote=my_votes.get(poll.id),
                status="OPEN" if poll.is_open(now) else "CLOSED",
                created_at=poll.created_at,
                closes_at=poll.closes_at,
                closed_at=poll.closed_at,
            )
            for poll in polls
        ]
