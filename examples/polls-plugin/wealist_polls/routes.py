"""The polls API: each route declared once by its handler's signature; the rules live in the service."""

from __future__ import annotations

import uuid

from wealist_plugins.user.contract import MemberOf

from wealist_core import UnitOfWork
from wealist_core.http import Controller, Page, get, post
from wealist_polls.access import VisiblePoll
from wealist_polls.schemas import PollIn, PollOut, PollQuery, VoteIn
from wealist_polls.service import PollService

__all__ = ["Polls"]


class Polls(Controller):
    """``/api/polls``: questions asked in a workspace, answered by its members."""

    path = "/api/polls"
    tags = ("polls",)

    def __init__(self, service: PollService) -> None:
        self.service = service

    @post("", status=201)
    async def create_poll(self, member: MemberOf, body: PollIn, uow: UnitOfWork) -> PollOut:
        """Ask a question in a workspace I belong to."""
        return await self.service.create(uow, member, body)

    @get("")
    async def list_polls(self, member: MemberOf, query: PollQuery, uow: UnitOfWork) -> Page[PollOut]:
        """The workspace's polls, newest first."""
        return await self.service.page(uow, member, query)

    @get("/{pollId}")
    async def get_poll(self, pollId: uuid.UUID, poll: VisiblePoll, uow: UnitOfWork) -> PollOut:
        """A poll with its votes per option."""
        return await self.service.read(uow, poll)

    @post("/{pollId}/votes", errors=(409,))
    async def vote(self, pollId: uuid.UUID, poll: VisiblePoll, body: VoteIn, uow: UnitOfWork) -> PollOut:
        """Vote for an option, or change my vote, while the poll is open."""
        return await self.service.vote(uow, poll, body.option)

    @post("/{pollId}/close", errors=(409,))
    async def close_poll(self, pollId: uuid.UUID, poll: VisiblePoll, uow: UnitOfWork) -> PollOut:
        """Close the poll (its author or a workspace manager)."""
        return await self.service.close(uow, poll)
