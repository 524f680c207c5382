"""Comments with @mentions, and attachments on the upload flow."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from wealist_plugins.board import activity
from wealist_plugins.board.access import MANAGER_ROLES, Seen
from wealist_plugins.board.contract import CommentAdded
from wealist_plugins.board.models import Comment, Task, TaskParticipant, uploads
from wealist_plugins.board.projects import attachment_out
from wealist_plugins.board.schemas import (
    AttachmentIn,
    AttachmentIssued,
    CommentIn,
    CommentOut,
    CommentPatch,
    DownloadOut,
)
from wealist_plugins.board.services import Deps
from wealist_plugins.board.tasks import _event_base, _jsonable, _watchers
from wealist_plugins.user.contract import Membership, check_membership

from wealist_core import Forbidden, NotFound, UnitOfWork
from wealist_core.mentions import mentioned_ids
from wealist_core.pagination import Page, PageQuery, keyset

__all__ = ["CommentService"]

OLDEST_FIRST = (Comment.created_at, Comment.id)
PREVIEW = 140


class CommentService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def add(self, uow: UnitOfWork, seen: Seen, body: CommentIn) -> CommentOut:
        seen.require_writer()
        assert seen.task is not None
        task = seen.task
        members = {m.user_id for m in await self.deps.directory.members(seen.project.workspace_id)}
        mentions = [u for u in mentioned_ids(body.content) if u in members and u != seen.me]
        comment = Comment(
            task_id=task.id,
            author_id=seen.me,
            content=body.content,
            mentions=[str(u) for u in mentions],
            created_at=self.deps.clock(),
        )
        uow.session.add(comment)
        await uow.session.flush()
        for upload_id in dict.fromkeys(body.attachment_ids):
            await self.deps.uploads.attach(
                uow,
                upload_id,
                by=seen.me,
                owner_type="comment",
                owner_id=comment.id,
                workspace_id=seen.project.workspace_id,
            )
        activity.log(
            uow,
            project_id=seen.project.id,
            task_id=task.id,
            actor_id=seen.me,
            action="comment.added",
            field=str(comment.id),
            at=comment.created_at,
        )
        participants = (
            await uow.session.scalars(
                select(TaskParticipant.user_id).where(TaskParticipant.task_id == task.id)
            )
        ).all()
        preview = " ".join(body.content.split())
        preview = preview if len(preview) <= PREVIEW else preview[: PREVIEW - 1] + "…"
        uow.emit(
            CommentAdded(
                **_event_base(seen.project, task, _watchers(task.assignee_id, participants, seen.me)),
                actor_id=seen.me,
                comment_id=comment.id,
                preview=preview,
                mentioned_user_ids=mentions,
            )
        )
        out = (await self._render(uow, [comment]))[0]
        frame = {"projectId": seen.project.id, "actorId": seen.me, "taskId": task.id, "comment": out}
        self.deps.publish_after_commit(uow, seen.project.id, "COMMENT_ADDED", _jsonable(frame))
        return out

    async def page(self, uow: UnitOfWork, seen: Seen, query: PageQuery) -> Page[CommentOut]:
        assert seen.task is not None
        ks = keyset(select(Comment).where(Comment.task_id == seen.task.id), query, order=OLDEST_FIRST)
        part = ks.slice((await uow.session.scalars(ks.statement)).all())
        return Page(items=await self._render(uow, part.rows), next_cursor=part.next_cursor)

    async def edit(self, uow: UnitOfWork, seen: Seen, body: CommentPatch) -> CommentOut:
        comment = await self._comment(uow, seen)
        if comment.author_id != seen.me:
            raise Forbidden("Only its author may edit a comment.", code="NOT_COMMENT_AUTHOR")
        members = {m.user_id for m in await self.deps.directory.members(seen.project.workspace_id)}
        comment.content = body.content
        comment.mentions = [str(u) for u in mentioned_ids(body.content) if u in members and u != seen.me]
        comment.edited_at = self.deps.clock()
        await uow.session.flush()
        return (await self._render(uow, [comment]))[0]

    async def delete(self, uow: UnitOfWork, seen: Seen) -> None:
        comment = await self._comment(uow, seen)
        if comment.author_id != seen.me and seen.role not in MANAGER_ROLES:
            raise Forbidden(
                "Only its author or a project admin may delete a comment.", code="NOT_COMMENT_AUTHOR"
            )
        await self.deps.uploads.release_owner(uow, "comment", comment.id)
        await uow.session.delete(comment)
        activity.log(
            uow,
            project_id=seen.project.id,
            task_id=comment.task_id,
            actor_id=seen.me,
            action="comment.deleted",
            field=str(comment.id),
            at=self.deps.clock(),
        )

    async def _comment(self, uow: UnitOfWork, seen: Seen) -> Comment:
        assert seen.comment is not None
        comment = await uow.session.get(Comment, seen.comment.id, populate_existing=True)
        if comment is None:
            raise NotFound("No such comment.", code="COMMENT_NOT_FOUND")
        return comment

    async def _render(self, uow: UnitOfWork, comments: Sequence[Comment]) -> list[CommentOut]:
        ids = [str(c.id) for c in comments]
        files: dict[str, list[object]] = {}
        if ids:
            for row in await uow.session.execute(
                select(uploads)
                .where(uploads.c.owner_type == "comment", uploads.c.owner_id.in_(ids))
                .order_by(uploads.c.created_at)
            ):
                files.setdefault(row.owner_id, []).append(attachment_out(row))
        return [
            CommentOut(
                comment_id=c.id,
                task_id=c.task_id,
                author_id=c.author_id,
                content=c.content,
                mentions=[uuid.UUID(u) for u in c.mentions],
                attachments=files.get(str(c.id), []),  # type: ignore[arg-type]
                created_at=c.created_at,
                edited_at=c.edited_at,
            )
            for c in comments
        ]

    # --------------------------------------------------------------------------------------- attachments
    async def issue(self, uow: UnitOfWork, member: Membership, body: AttachmentIn) -> AttachmentIssued:
        issued = await self.deps.uploads.issue(
            uow,
            uploader=member.user_id,
            file_name=body.file_name,
            content_type=body.content_type,
            size=body.size,
            key_prefix=f"ws/{member.workspace_id.hex}",
            workspace_id=member.workspace_id,
        )
        return AttachmentIssued(
            attachment_id=issued.upload.id,
            upload_url=issued.url.url,
            method=issued.url.method,
            headers=dict(issued.url.headers),
            expires_at=issued.url.expires_at,
        )

    async def _visible_upload(self, uow: UnitOfWork, me: uuid.UUID, attachment_id: uuid.UUID) -> object:
        row = (await uow.session.execute(select(uploads).where(uploads.c.id == attachment_id))).first()
        membership = None
        if row is not None and row.workspace_id is not None:
            membership = await self.deps.directory.membership(row.workspace_id, me)
        pending_of_other = row is not None and row.status != "ATTACHED" and row.uploader_id != me
        if row is None or membership is None or pending_of_other:
            raise NotFound(
                f"No attachment {attachment_id} in a workspace you belong to.", code="ATTACHMENT_NOT_FOUND"
            )
        check_membership(membership, row.workspace_id)
        return row

    async def download(self, uow: UnitOfWork, me: uuid.UUID, attachment_id: uuid.UUID) -> DownloadOut:
        await self._visible_upload(uow, me, attachment_id)
        url = await self.deps.uploads.download(uow, attachment_id)
        return DownloadOut(url=url.url, expires_at=url.expires_at)

    async def remove(self, uow: UnitOfWork, me: uuid.UUID, attachment_id: uuid.UUID) -> None:
        """The uploader takes an attachment off its task, comment or project (or drops a pending one)."""
        row = await self._visible_upload(uow, me, attachment_id)
        if row.uploader_id != me:  # type: ignore[attr-defined]
            raise Forbidden("Only its uploader may remove an attachment.", code="NOT_ATTACHMENT_UPLOADER")
        await self.deps.uploads.release(uow, attachment_id)
        if row.owner_type == "task":  # type: ignore[attr-defined]
            task = await uow.session.get(Task, uuid.UUID(row.owner_id))  # type: ignore[attr-defined]
            if task is not None:
                activity.log(
                    uow,
                    project_id=task.project_id,
                    task_id=task.id,
                    actor_id=me,
                    action="attachment.removed",
                    before=row.file_name,
                    at=self.deps.clock(),
                )  # type: ignore[attr-defined]
