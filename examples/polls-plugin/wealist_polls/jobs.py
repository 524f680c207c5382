"""The polls plugin's periodic job: polls whose ``closesAt`` has passed are closed and announced."""

from __future__ import annotations

from datetime import timedelta

from wealist_core import Job, JobContext
from wealist_polls.service import PollService

__all__ = ["polls_jobs"]


def polls_jobs(service: PollService) -> list[Job]:
    async def close_due(ctx: JobContext) -> None:
        closed = await service.close_due(ctx.now)  # ctx.now, not the wall clock: tests choose the time
        if closed:
            ctx.log.info("closed due polls", extra={"count": closed})

    # A poll past its closesAt refuses votes at once; the job makes it CLOSED and publishes PollClosed.
    return [Job("close_due", close_due, every=timedelta(minutes=1), description="close polls past closesAt")]
