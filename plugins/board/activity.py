"""The activity log: who changed what, from what to what, when; per task and per project."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from wealist_plugins.board.models import Activity
from wealist_plugins.board.schemas import ActivityOut

from wealist_core import UnitOfWork
from wealist_core.pagination import Page, PageQuery, keyset

__all__ = ["log", "page"]

NEWEST_FIRST = (Activity.at.desc(), Activity.id)


def log(
    uow: UnitOfWork,
    *,
    project_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    action: str,
    at: dt.datetime,
    task_id: uuid.UUID | None = None,
    field: str | None = None,
    before: Any = None,
    after: Any = None,
) -> None:
    uow.session.add(
        Activity(
            project_id=project_id,
            task_id=task_id,
            actor_id=actor_id,
            action=action,
            field=field,
            from_value=before,
            to_value=after,
            at=at,
        )
    )


async def page(
    uow: UnitOfWork, query: PageQuery, *, project_id: uuid.UUID, task_id: uuid.UUID | None = None
) -> Page[ActivityOut]:
    stmt = select(Activity).where(Activity.project_id == project_id)
    if task_id is not None:
        stmt = stmt.where(Activity.task_id == task_id)
    ks = keyset(stmt, query, order=NEWEST_FIRST)
    return ks.page(
        (await uow.session.scalars(ks.statement)).all(),
        lambda a: ActivityOut(
            activity_id=a.id,
            task_id=a.task_id,
            actor_id=a.actor_id,
            action=a.action,
            field=a.field,
            from_=a.from_value,
            to=a.to_value,
            at=a.at,
        ),
    )
