"""Who may see and change what. A dependency loads the project (board, task, comment) a route names, checks
the caller's membership of its workspace through the user plugin's ``Directory`` and reads the caller's role
in the project: one rule for every route, said by its signature (``task: VisibleTask``).

- Reading a project and everything in it: any member of its workspace.
- Writing tasks and comments: members of the project (its default project holds every workspace member).
- Project settings, fields, boards and columns, members and join requests: the project's OWNER and ADMIN.
- Deleting a project: its OWNER. Editing a comment: its author; deleting one: its author or a project admin.

An unknown id and an id of another workspace are the same 404, so a stranger learns nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from sqlalchemy import select
from wealist_plugins.board.models import Board, Comment, Project, ProjectMember, Task
from wealist_plugins.user.contract import Directory, Membership

from wealist_core import Forbidden, NotFound
from wealist_core.http import Call, Dependency

__all__ = [
    "MANAGER_ROLES",
    "ProjectScope",
    "Seen",
    "VisibleBoard",
    "VisibleComment",
    "VisibleProject",
    "VisibleTask",
]

MANAGER_ROLES = frozenset({"OWNER", "ADMIN"})


@dataclass(frozen=True)
class Seen:
    """What a route names, as read before its unit of work opened, with the caller's standing."""

    project: Project
    member: Membership
    role: str | None  # the caller's role in the project, None when not one of its members
    board: Board | None = None
    task: Task | None = None
    comment: Comment | None = None

    @property
    def me(self) -> uuid.UUID:
        return self.member.user_id

    def require_writer(self) -> None:
        if self.role is None:
            raise Forbidden(
                "Only members of this project may change it; ask to join.", code="PROJECT_MEMBER_REQUIRED"
            )

    def require_manager(self) -> None:
        if self.role not in MANAGER_ROLES:
            raise Forbidden(
                "This needs the role OWNER or ADMIN in the project.", code="PROJECT_ROLE_REQUIRED"
            )

    def require_owner(self) -> None:
        if self.role != "OWNER":
            raise Forbidden("Only the project's owner may do this.", code="PROJECT_ROLE_REQUIRED")


_NOT_FOUND = {
    "project": ("projectId", "PROJECT_NOT_FOUND"),
    "board": ("boardId", "BOARD_NOT_FOUND"),
    "task": ("taskId", "TASK_NOT_FOUND"),
    "comment": ("commentId", "COMMENT_NOT_FOUND"),
}


class ProjectScope(Dependency):
    """The project of the route's ``projectId`` (or its board, task or comment), seen by a member."""

    errors = (401, 403, 404)
    needs_principal = True

    def __init__(self, kind: str) -> None:
        self.kind = kind

    async def resolve(self, call: Call) -> Seen:
        name, _ = _NOT_FOUND[self.kind]
        ident: uuid.UUID = call.find(name)
        me = call.user_id()
        return await call.remember(("board", self.kind, ident, me), lambda: self._load(call, ident, me))

    async def _load(self, call: Call, ident: uuid.UUID, me: uuid.UUID) -> Seen:
        _, code = _NOT_FOUND[self.kind]
        found: dict[str, Any] = {}
        async with call.container.database(call.plugin).reading() as session:
            if self.kind == "project":
                stmt = select(Project).where(Project.id == ident)
                row = (await session.execute(stmt)).first()
            elif self.kind == "board":
                stmt2 = (
                    select(Project, Board)
                    .join(Board, Board.project_id == Project.id)
                    .where(Board.id == ident)
                )
                row = (await session.execute(stmt2)).first()
                if row is not None:
                    found["board"] = row[1]
            elif self.kind == "task":
                stmt3 = (
                    select(Project, Task).join(Task, Task.project_id == Project.id).where(Task.id == ident)
                )
                row = (await session.execute(stmt3)).first()
                if row is not None:
                    found["task"] = row[1]
            else:
                stmt4 = (
                    select(Project, Task, Comment)
                    .join(Task, Task.project_id == Project.id)
                    .join(Comment, Comment.task_id == Task.id)
                    .where(Comment.id == ident)
                )
                row = (await session.execute(stmt4)).first()
                if row is not None:
                    found["task"], found["comment"] = row[1], row[2]
            project = row[0] if row is not None else None
            role = None
            if project is not None:
                role = await session.scalar(
                    select(ProjectMember.role).where(
                        ProjectMember.project_id == project.id, ProjectMember.user_id == me
                    )
                )
        member = None
        if project is not None:
            directory = call.container.contracts.get(Directory)
            ws = project.workspace_id
            member = await call.remember(("user.membership", ws, me), lambda: directory.membership(ws, me))
        if project is None or member is None:
            raise NotFound(f"No {self.kind} {ident} in a workspace you belong to.", code=code)
        return Seen(project=project, member=member, role=role, **found)


VisibleProject = Annotated[Seen, ProjectScope("project")]
VisibleBoard = Annotated[Seen, ProjectScope("board")]
VisibleTask = Annotated[Seen, ProjectScope("task")]
VisibleComment = Annotated[Seen, ProjectScope("comment")]
