"""Boards of a project and their ordered columns (stages)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from wealist_plugins.board import activity
from wealist_plugins.board.access import Seen
from wealist_plugins.board.models import Board, Column, Task
from wealist_plugins.board.projects import ProjectService
from wealist_plugins.board.schemas import BoardIn, BoardOut, BoardPatch, ColumnIn, ColumnOut, ColumnPatch
from wealist_plugins.board.services import Deps, invalid

from wealist_core import Conflict, NotFound, UnitOfWork
from wealist_core.ranks import rank_between

__all__ = ["BoardService"]


def column_out(c: Column) -> ColumnOut:
    return ColumnOut(
        column_id=c.id,
        name=c.name,
        color=c.color,
        wip_limit=c.wip_limit,
        position=c.position,
        is_done=c.is_done,
    )


class BoardService:
    def __init__(self, deps: Deps, projects: ProjectService) -> None:
        self.deps = deps
        self.projects = projects

    async def list(self, uow: UnitOfWork, seen: Seen) -> list[BoardOut]:
        boards = (
            await uow.session.scalars(
                select(Board)
                .where(Board.project_id == seen.project.id)
                .order_by(Board.position, Board.created_at)
            )
        ).all()
        columns = (
            await uow.session.scalars(
                select(Column).where(Column.board_id.in_([b.id for b in boards])).order_by(Column.position)
            )
        ).all()
        return [self._out(b, [c for c in columns if c.board_id == b.id]) for b in boards]

    async def read(self, uow: UnitOfWork, board: Board) -> BoardOut:
        columns = (
            await uow.session.scalars(
                select(Column).where(Column.board_id == board.id).order_by(Column.position)
            )
        ).all()
        return self._out(board, columns)

    async def create(self, uow: UnitOfWork, seen: Seen, body: BoardIn) -> BoardOut:
        seen.require_manager()
        board = await self.projects.make_board(uow, seen.project.id, body.name)
        activity.log(
            uow,
            project_id=seen.project.id,
            actor_id=seen.me,
            action="board.created",
            after=body.name,
            at=self.deps.clock(),
        )
        out = await self.read(uow, board)
        self._announce(uow, seen, out)
        return out

    async def rename(self, uow: UnitOfWork, seen: Seen, body: BoardPatch) -> BoardOut:
        seen.require_manager()
        board = await self._board(uow, seen)
        before, board.name = board.name, body.name
        activity.log(
            uow,
            project_id=seen.project.id,
            actor_id=seen.me,
            action="board.renamed",
            before=before,
            after=body.name,
            at=self.deps.clock(),
        )
        out = await self.read(uow, board)
        self._announce(uow, seen, out)
        return out

    async def delete(self, uow: UnitOfWork, seen: Seen) -> None:
        seen.require_manager()
        board = await self._board(uow, seen)
        if seen.project.default_board_id == board.id:
            raise Conflict("The project's default board cannot be deleted.", code="DEFAULT_BOARD")
        await uow.session.delete(board)
        activity.log(
            uow,
            project_id=seen.project.id,
            actor_id=seen.me,
            action="board.deleted",
            before=board.name,
            at=self.deps.clock(),
        )

    # ------------------------------------------------------------------------------------------- columns
    async def add_column(self, uow: UnitOfWork, seen: Seen, body: ColumnIn) -> BoardOut:
        seen.require_manager()
        board = await self._board(uow, seen)
        columns = await self._columns(uow, board.id)
        column = Column(
            board_id=board.id,
            name=body.name,
            color=body.color or "#94A3B8",
            wip_limit=body.wip_limit,
            is_done=body.is_done,
        )
        uow.session.add(column)
        at = len(columns) if body.position is None else min(body.position, len(columns))
        columns.insert(at, column)
        _renumber(columns)
        activity.log(
            uow,
            project_id=seen.project.id,
            actor_id=seen.me,
            action="column.created",
            after=body.name,
            at=self.deps.clock(),
        )
        await uow.session.flush()
        out = await self.read(uow, board)
        self._announce(uow, seen, out)
        return out

    async def change_column(
        self, uow: UnitOfWork, seen: Seen, column_id: uuid.UUID, body: ColumnPatch
    ) -> BoardOut:
        seen.require_manager()
        board = await self._board(uow, seen)
        columns = await self._columns(uow, board.id)
        column = next((c for c in columns if c.id == column_id), None)
        if column is None:
            raise NotFound("No such column on this board.", code="COLUMN_NOT_FOUND")
        changes = body.model_dump(exclude_unset=True)
        now = self.deps.clock()
        for name in ("name", "color", "is_done"):
            if changes.get(name) is not None and getattr(column, name) != changes[name]:
                activity.log(
                    uow,
                    project_id=seen.project.id,
                    actor_id=seen.me,
                    action="column.updated",
                    field=name,
                    before=getattr(column, name),
                    after=changes[name],
                    at=now,
                )
                setattr(column, name, changes[name])
        if "wip_limit" in changes:
            column.wip_limit = changes["wip_limit"] or None
        if body.position is not None:
            columns.remove(column)
            columns.insert(min(body.position, len(columns)), column)
            _renumber(columns)
        await uow.session.flush()
        out = await self.read(uow, board)
        self._announce(uow, seen, out)
        return out

    async def delete_column(
        self, uow: UnitOfWork, seen: Seen, column_id: uuid.UUID, move_to: uuid.UUID | None
    ) -> BoardOut:
        seen.require_manager()
        board = await self._board(uow, seen)
        columns = await self._columns(uow, board.id)
        column = next((c for c in columns if c.id == column_id), None)
        if column is None:
            raise NotFound("No such column on this board.", code="COLUMN_NOT_FOUND")
        has_tasks = await uow.session.scalar(select(func.count()).where(Task.column_id == column.id))
        if has_tasks:
            target = next((c for c in columns if c.id == move_to and c.id != column.id), None)
            if target is None:
                raise invalid("query.moveTo", "name another column of this board to take the column's tasks")
            last = await uow.session.scalar(select(func.max(Task.rank)).where(Task.column_id == target.id))
            # The moved tasks keep their order, after the target's own: their ranks are prefixed once.
            base = rank_between(last, None)
            await uow.session.execute(
                update(Task)
                .where(Task.column_id == column.id)
                .values(column_id=target.id, rank=base + Task.rank)
            )
        elif len(columns) == 1:
            raise Conflict("A board keeps at least one column.", code="LAST_COLUMN")
        await uow.session.delete(column)
        columns.remove(column)
        _renumber(columns)
        activity.log(
            uow,
            project_id=seen.project.id,
            actor_id=seen.me,
            action="column.deleted",
            before=column.name,
            at=self.deps.clock(),
        )
        await uow.session.flush()
        out = await self.read(uow, board)
        self._announce(uow, seen, out)
        return out

    # ------------------------------------------------------------------------------------------- helpers
    async def _board(self, uow: UnitOfWork, seen: Seen) -> Board:
        assert seen.board is not None
        board = await uow.session.get(Board, seen.board.id, populate_existing=True)
        if board is None:
            raise NotFound("No such board.", code="BOARD_NOT_FOUND")
        return board

    async def _columns(self, uow: UnitOfWork, board_id: uuid.UUID) -> list[Column]:
        return list(
            (
                await uow.session.scalars(
                    select(Column).where(Column.board_id == board_id).order_by(Column.position)
                )
            ).all()
        )

    def _announce(self, uow: UnitOfWork, seen: Seen, out: BoardOut) -> None:
        payload = {
            "projectId": str(seen.project.id),
            "actorId": str(seen.me),
            "board": out.model_dump(mode="json", by_alias=True),
        }
        self.deps.publish_after_commit(uow, seen.project.id, "BOARD_UPDATED", payload)

    def _out(self, board: Board, columns: object) -> BoardOut:
        return BoardOut(
            board_id=board.id,
            project_id=board.project_id,
            name=board.name,
            columns=[column_out(c) for c in columns],
        )  # type: ignore[attr-defined]


def _renumber(columns: list[Column]) -> None:
    for i, c in enumerate(columns):
        c.position = i
