"""The board API: each route declared once by its handler's signature; the rules live in the services."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from wealist_plugins.board import activity
from wealist_plugins.board.access import VisibleBoard, VisibleComment, VisibleProject, VisibleTask
from wealist_plugins.board.boards import BoardService
from wealist_plugins.board.comments import CommentService
from wealist_plugins.board.live import Presence
from wealist_plugins.board.projects import ProjectService
from wealist_plugins.board.schemas import (
    ActivityOut,
    AttachmentIn,
    AttachmentIssued,
    BoardIn,
    BoardOut,
    BoardPatch,
    BulkMoveIn,
    ColumnDeleteQuery,
    ColumnIn,
    ColumnPatch,
    CommentIn,
    CommentOut,
    CommentPatch,
    DownloadOut,
    FieldIn,
    FieldOut,
    FieldPatch,
    JoinRequestIn,
    JoinRequestOut,
    MemberIn,
    MemberOut,
    MemberPatch,
    MineQuery,
    MoveIn,
    OnlineOut,
    ParticipantResult,
    ParticipantsIn,
    ProjectIn,
    ProjectOut,
    ProjectPatch,
    ProjectQuery,
    TaskIn,
    TaskOut,
    TaskPatch,
    TaskQuery,
)
from wealist_plugins.board.tasks import TaskService
from wealist_plugins.user.contract import MemberOf

from wealist_core import RateLimiter, UnitOfWork
from wealist_core.http import CallerId, Controller, delete, get, patch, post
from wealist_core.pagination import Page, PageQuery

__all__ = ["Boards", "Projects", "Tasks"]

WRITES_PER_MINUTE = 300


class Projects(Controller):
    """``/api/boards/projects``: projects, members, join requests, fields, boards, activity, presence."""

    path = "/api/boards/projects"
    tags = ("board",)

    def __init__(
        self, projects: ProjectService, boards: BoardService, presence: Presence, limiter: RateLimiter
    ) -> None:
        self.projects = projects
        self.boards = boards
        self.presence = presence
        self.limiter = limiter

    @post("", status=201, errors=(429,))
    async def create_project(self, member: MemberOf, body: ProjectIn, uow: UnitOfWork) -> ProjectOut:
        """Create a project; its creator is its OWNER; it starts with a default board and fields."""
        await self.limiter.enforce(f"projects:{member.user_id}", limit=60, window=60)
        return await self.projects.create(uow, member, body)

    @get("")
    async def list_projects(self, member: MemberOf, query: ProjectQuery, uow: UnitOfWork) -> Page[ProjectOut]:
        """The workspace's projects, newest first; ``q`` searches names and descriptions."""
        return await self.projects.page(uow, member, query)

    @get("/{projectId}")
    async def get_project(self, projectId: uuid.UUID, seen: VisibleProject, uow: UnitOfWork) -> ProjectOut:
        return await self.projects.read(uow, seen)

    @patch("/{projectId}", errors=(422,))
    async def update_project(
        self, projectId: uuid.UUID, seen: VisibleProject, body: ProjectPatch, uow: UnitOfWork
    ) -> ProjectOut:
        """Change settings, archive (``archived: true``) or restore (project OWNER or ADMIN)."""
        return await self.projects.update(uow, seen, body)

    @delete("/{projectId}")
    async def delete_project(self, projectId: uuid.UUID, seen: VisibleProject, uow: UnitOfWork) -> None:
        """Delete the project with its boards, tasks and comments (project OWNER)."""
        await self.projects.delete(uow, seen)

    @get("/{projectId}/members")
    async def list_members(
        self, projectId: uuid.UUID, seen: VisibleProject, uow: UnitOfWork
    ) -> list[MemberOut]:
        return await self.projects.members(uow, seen)

    @post("/{projectId}/members", status=201, errors=(409, 422))
    async def add_member(
        self, projectId: uuid.UUID, seen: VisibleProject, body: MemberIn, uow: UnitOfWork
    ) -> MemberOut:
        return await self.projects.add_member(uow, seen, body)

    @patch("/{projectId}/members/{userId}", errors=(409, 422))
    async def change_member(
        self,
        projectId: uuid.UUID,
        userId: uuid.UUID,
        seen: VisibleProject,
        body: MemberPatch,
        uow: UnitOfWork,
    ) -> MemberOut:
        return await self.projects.change_member(uow, seen, userId, body)

    @delete("/{projectId}/members/{userId}", errors=(409,))
    async def remove_member(
        self, projectId: uuid.UUID, userId: uuid.UUID, seen: VisibleProject, uow: UnitOfWork
    ) -> None:
        """Remove a member (OWNER or ADMIN), or leave the project (yourself)."""
        await self.projects.remove_member(uow, seen, userId)

    @post("/{projectId}/join-requests", status=201, errors=(409,))
    async def request_to_join(
        self, projectId: uuid.UUID, seen: VisibleProject, body: JoinRequestIn, uow: UnitOfWork
    ) -> JoinRequestOut:
        """A member of the workspace asks to join the project."""
        return await self.projects.request_join(uow, seen, body)

    @get("/{projectId}/join-requests")
    async def list_join_requests(
        self, projectId: uuid.UUID, seen: VisibleProject, uow: UnitOfWork
    ) -> list[JoinRequestOut]:
        """Every request (OWNER and ADMIN), or my own."""
        return await self.projects.join_requests(uow, seen)

    @post("/{projectId}/join-requests/{requestId}/approve", errors=(409,))
    async def approve_join_request(
        self, projectId: uuid.UUID, requestId: uuid.UUID, seen: VisibleProject, uow: UnitOfWork
    ) -> JoinRequestOut:
        return await self.projects.decide(uow, seen, requestId, approve=True)

    @post("/{projectId}/join-requests/{requestId}/reject", errors=(409,))
    async def reject_join_request(
        self, projectId: uuid.UUID, requestId: uuid.UUID, seen: VisibleProject, uow: UnitOfWork
    ) -> JoinRequestOut:
        return await self.projects.decide(uow, seen, requestId, approve=False)

    @get("/{projectId}/fields")
    async def list_fields(
        self, projectId: uuid.UUID, seen: VisibleProject, uow: UnitOfWork
    ) -> list[FieldOut]:
        return await self.projects.fields(uow, seen.project.id)

    @post("/{projectId}/fields", status=201, errors=(409, 422))
    async def add_field(
        self, projectId: uuid.UUID, seen: VisibleProject, body: FieldIn, uow: UnitOfWork
    ) -> FieldOut:
        return await self.projects.add_field(uow, seen, body)

    @patch("/{projectId}/fields/{fieldId}", errors=(422,))
    async def change_field(
        self,
        projectId: uuid.UUID,
        fieldId: uuid.UUID,
        seen: VisibleProject,
        body: FieldPatch,
        uow: UnitOfWork,
    ) -> FieldOut:
        return await self.projects.change_field(uow, seen, fieldId, body)

    @delete("/{projectId}/fields/{fieldId}")
    async def delete_field(
        self, projectId: uuid.UUID, fieldId: uuid.UUID, seen: VisibleProject, uow: UnitOfWork
    ) -> None:
        await self.projects.delete_field(uow, seen, fieldId)

    @get("/{projectId}/boards")
    async def list_boards(
        self, projectId: uuid.UUID, seen: VisibleProject, uow: UnitOfWork
    ) -> list[BoardOut]:
        return await self.boards.list(uow, seen)

    @post("/{projectId}/boards", status=201)
    async def create_board(
        self, projectId: uuid.UUID, seen: VisibleProject, body: BoardIn, uow: UnitOfWork
    ) -> BoardOut:
        return await self.boards.create(uow, seen, body)

    @get("/{projectId}/activity")
    async def project_activity(
        self, projectId: uuid.UUID, seen: VisibleProject, query: PageQuery, uow: UnitOfWork
    ) -> Page[ActivityOut]:
        """Who changed what in the project, newest first."""
        return await activity.page(uow, query, project_id=seen.project.id)

    @get("/{projectId}/online")
    async def online(self, projectId: uuid.UUID, seen: VisibleProject) -> OnlineOut:
        """The users looking at the project now (sockets following it on ``/ws/boards``)."""
        return OnlineOut(project_id=seen.project.id, user_ids=await self.presence.online(seen.project.id))


class Boards(Controller):
    """``/api/boards/{boardId}``: a board, its columns and its tasks."""

    path = "/api/boards"
    tags = ("board",)

    def __init__(
        self, boards: BoardService, tasks: TaskService, comments: CommentService, limiter: RateLimiter
    ) -> None:
        self.boards = boards
        self.tasks = tasks
        self.comments = comments
        self.limiter = limiter

    @get("/{boardId}")
    async def get_board(self, boardId: uuid.UUID, seen: VisibleBoard, uow: UnitOfWork) -> BoardOut:
        assert seen.board is not None
        return await self.boards.read(uow, seen.board)

    @patch("/{boardId}")
    async def rename_board(
        self, boardId: uuid.UUID, seen: VisibleBoard, body: BoardPatch, uow: UnitOfWork
    ) -> BoardOut:
        return await self.boards.rename(uow, seen, body)

    @delete("/{boardId}", errors=(409,))
    async def delete_board(self, boardId: uuid.UUID, seen: VisibleBoard, uow: UnitOfWork) -> None:
        await self.boards.delete(uow, seen)

    @post("/{boardId}/columns", status=201)
    async def add_column(
        self, boardId: uuid.UUID, seen: VisibleBoard, body: ColumnIn, uow: UnitOfWork
    ) -> BoardOut:
        return await self.boards.add_column(uow, seen, body)

    @patch("/{boardId}/columns/{columnId}")
    async def change_column(
        self, boardId: uuid.UUID, columnId: uuid.UUID, seen: VisibleBoard, body: ColumnPatch, uow: UnitOfWork
    ) -> BoardOut:
        """Rename, recolour, reorder (``position``) or limit (``wipLimit``) a column."""
        return await self.boards.change_column(uow, seen, columnId, body)

    @delete("/{boardId}/columns/{columnId}", errors=(409, 422))
    async def delete_column(
        self,
        boardId: uuid.UUID,
        columnId: uuid.UUID,
        seen: VisibleBoard,
        query: ColumnDeleteQuery,
        uow: UnitOfWork,
    ) -> BoardOut:
        """Remove a column; its tasks move to ``moveTo``, after that column's own."""
        return await self.boards.delete_column(uow, seen, columnId, query.move_to)

    @post("/{boardId}/tasks", status=201, errors=(409, 422, 429))
    async def create_task(
        self, boardId: uuid.UUID, seen: VisibleBoard, body: TaskIn, uow: UnitOfWork
    ) -> TaskOut:
        await self.limiter.enforce(f"writes:{seen.me}", limit=WRITES_PER_MINUTE, window=60)
        return await self.tasks.create(uow, seen, body)

    @get("/{boardId}/tasks", errors=(422,))
    async def list_tasks(
        self, boardId: uuid.UUID, seen: VisibleBoard, query: TaskQuery, request: Request, uow: UnitOfWork
    ) -> Page[TaskOut]:
        """The board's tasks in column order; ``field.<key>=value`` filters by a custom field."""
        return await self.tasks.page(uow, seen, query, request.query_params)

    @post("/{boardId}/tasks/move", errors=(409, 422))
    async def bulk_move(
        self, boardId: uuid.UUID, seen: VisibleBoard, body: BulkMoveIn, uow: UnitOfWork
    ) -> list[TaskOut]:
        """Move several tasks into a column, in the given order, after ``afterTaskId`` (null: at the top)."""
        return await self.tasks.bulk_move(uow, seen, body)


class Tasks(Controller):
    """``/api/boards/tasks``, ``/comments``, ``/attachments``."""

    path = "/api/boards"
    tags = ("board",)

    def __init__(self, tasks: TaskService, comments: CommentService, limiter: RateLimiter) -> None:
        self.tasks = tasks
        self.comments = comments
        self.limiter = limiter

    @get("/tasks/mine")
    async def my_tasks(
        self, me: CallerId, member: MemberOf, query: MineQuery, uow: UnitOfWork
    ) -> Page[TaskOut]:
        """Tasks I am assigned to or take part in, across the workspace's projects, latest change first."""
        return await self.tasks.mine(uow, me, query)

    @get("/tasks/{taskId}")
    async def get_task(self, taskId: uuid.UUID, seen: VisibleTask, uow: UnitOfWork) -> TaskOut:
        return await self.tasks.read(uow, seen)

    @patch("/tasks/{taskId}", errors=(422,))
    async def update_task(
        self, taskId: uuid.UUID, seen: VisibleTask, body: TaskPatch, uow: UnitOfWork
    ) -> TaskOut:
        return await self.tasks.update(uow, seen, body)

    @delete("/tasks/{taskId}")
    async def delete_task(self, taskId: uuid.UUID, seen: VisibleTask, uow: UnitOfWork) -> None:
        await self.tasks.delete(uow, seen)

    @post("/tasks/{taskId}/move", errors=(409, 422))
    async def move_task(self, taskId: uuid.UUID, seen: VisibleTask, body: MoveIn, uow: UnitOfWork) -> TaskOut:
        """Put the task in a column after ``afterTaskId`` (null: at the top); one row is written."""
        return await self.tasks.move(uow, seen, body)

    @post("/tasks/{taskId}/participants")
    async def add_participants(
        self, taskId: uuid.UUID, seen: VisibleTask, body: ParticipantsIn, uow: UnitOfWork
    ) -> list[ParticipantResult]:
        return await self.tasks.add_participants(uow, seen, body.user_ids)

    @delete("/tasks/{taskId}/participants/{userId}")
    async def remove_participant(
        self, taskId: uuid.UUID, userId: uuid.UUID, seen: VisibleTask, uow: UnitOfWork
    ) -> None:
        await self.tasks.remove_participant(uow, seen, userId)

    @get("/tasks/{taskId}/activity")
    async def task_activity(
        self, taskId: uuid.UUID, seen: VisibleTask, query: PageQuery, uow: UnitOfWork
    ) -> Page[ActivityOut]:
        assert seen.task is not None
        return await activity.page(uow, query, project_id=seen.project.id, task_id=seen.task.id)

    @get("/tasks/{taskId}/comments")
    async def list_comments(
        self, taskId: uuid.UUID, seen: VisibleTask, query: PageQuery, uow: UnitOfWork
    ) -> Page[CommentOut]:
        return await self.comments.page(uow, seen, query)

    @post("/tasks/{taskId}/comments", status=201, errors=(429,))
    async def add_comment(
        self, taskId: uuid.UUID, seen: VisibleTask, body: CommentIn, uow: UnitOfWork
    ) -> CommentOut:
        """Comment in markdown; ``@[Name](userId)`` mentions a member."""
        await self.limiter.enforce(f"writes:{seen.me}", limit=WRITES_PER_MINUTE, window=60)
        return await self.comments.add(uow, seen, body)

    @patch("/comments/{commentId}")
    async def edit_comment(
        self, commentId: uuid.UUID, seen: VisibleComment, body: CommentPatch, uow: UnitOfWork
    ) -> CommentOut:
        """Edit my own comment."""
        return await self.comments.edit(uow, seen, body)

    @delete("/comments/{commentId}")
    async def delete_comment(self, commentId: uuid.UUID, seen: VisibleComment, uow: UnitOfWork) -> None:
        """Delete my own comment (project admins: any)."""
        await self.comments.delete(uow, seen)

    @post("/attachments", status=201, errors=(413, 422))
    async def start_attachment(
        self, member: MemberOf, body: AttachmentIn, uow: UnitOfWork
    ) -> AttachmentIssued:
        """Declare a file (50 MB at most, no executables) and get the URL to upload it to; it stays pending
        until a task, comment or project that names it is saved."""
        return await self.comments.issue(uow, member, body)

    @get("/attachments/{attachmentId}/download")
    async def download_attachment(
        self, me: CallerId, attachmentId: uuid.UUID, uow: UnitOfWork
    ) -> DownloadOut:
        return await self.comments.download(uow, me, attachmentId)

    @delete("/attachments/{attachmentId}", errors=(403, 404))
    async def delete_attachment(self, me: CallerId, attachmentId: uuid.UUID, uow: UnitOfWork) -> None:
        await self.comments.remove(uow, me, attachmentId)
