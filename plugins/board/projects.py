"""Projects, their members and join requests, custom fields; the default project of a workspace."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select
from wealist_plugins.board import activity
from wealist_plugins.board.access import Seen
from wealist_plugins.board.defaults import COLUMNS, FIELDS, label
from wealist_plugins.board.models import (
    Board,
    Column,
    Field,
    FieldOption,
    JoinRequest,
    Project,
    ProjectMember,
    uploads,
)
from wealist_plugins.board.schemas import (
    AttachmentOut,
    FieldIn,
    FieldOut,
    FieldPatch,
    JoinRequestIn,
    JoinRequestOut,
    MemberIn,
    MemberOut,
    MemberPatch,
    OptionIn,
    OptionOut,
    ProjectIn,
    ProjectOut,
    ProjectPatch,
    ProjectQuery,
)
from wealist_plugins.board.services import Deps, invalid
from wealist_plugins.user.contract import Membership

from wealist_core import Conflict, NotFound, UnitOfWork
from wealist_core.pagination import Page, keyset

__all__ = ["ProjectService", "attachment_out"]

NEWEST_FIRST = (Project.created_at.desc(), Project.id)
SELECT_TYPES = ("single_select", "multi_select")


def attachment_out(row: object) -> AttachmentOut:
    return AttachmentOut(
        attachment_id=row.id,  # type: ignore[attr-defined]
        file_name=row.file_name,  # type: ignore[attr-defined]
        content_type=row.content_type,  # type: ignore[attr-defined]
        size=row.size,  # type: ignore[attr-defined]
        uploader_id=row.uploader_id,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
    )


def _check_dates(start: dt.datetime | None, due: dt.datetime | None) -> None:
    if start is not None and due is not None and due < start:
        raise invalid("body.dueDate", "must not be before startDate")


class ProjectService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # ------------------------------------------------------------------------------------------ projects
    async def create(
        self, uow: UnitOfWork, member: Membership, body: ProjectIn, *, is_default: bool = False
    ) -> ProjectOut:
        _check_dates(body.start_date, body.due_date)
        now = self.deps.clock()
        project = Project(
            workspace_id=member.workspace_id,
            name=body.name.strip() or body.name,
            description=body.description,
            start_date=body.start_date,
            due_date=body.due_date,
            is_default=is_default,
            created_by=member.user_id,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(project)
        await uow.session.flush()
        uow.session.add(
            ProjectMember(project_id=project.id, user_id=member.user_id, role="OWNER", joined_at=now)
        )
        board = await self.make_board(
            uow, project.id, label("기본 보드", "Main board", body.locale), body.locale
        )
        project.default_board_id = board.id
        for position, (key, (ko, en, options)) in enumerate(FIELDS.items()):
            field = Field(
                project_id=project.id,
                key=key,
                name=label(ko, en, body.locale),
                type="single_select",
                position=position,
            )
            uow.session.add(field)
            await uow.session.flush()
            for i, (value, oko, oen, color) in enumerate(options):
                uow.session.add(
                    FieldOption(
                        field_id=field.id,
                        value=value,
                        label=label(oko, oen, body.locale),
                        color=color,
                        position=i,
                    )
                )
        activity.log(
            uow,
            project_id=project.id,
            actor_id=member.user_id,
            action="project.created",
            at=now,
            after=project.name,
        )
        await uow.session.flush()
        return self._out(project, "OWNER", [])

    async def make_board(
        self, uow: UnitOfWork, project_id: uuid.UUID, name: str, locale: str = "ko"
    ) -> Board:
        position = await uow.session.scalar(select(func.count()).where(Board.project_id == project_id))
        board = Board(project_id=project_id, name=name, position=position or 0, created_at=self.deps.clock())
        uow.session.add(board)
        await uow.session.flush()
        for i, (ko, en, color, done) in enumerate(COLUMNS):
            uow.session.add(
                Column(board_id=board.id, name=label(ko, en, locale), color=color, position=i, is_done=done)
            )
        await uow.session.flush()
        return board

    async def ensure_default(
        self, workspace_id: uuid.UUID, user_id: uuid.UUID, role: str, created: bool
    ) -> None:
        """A workspace's default project exists once someone joins it; every member of the workspace is a
        member of it (its creator owns it)."""
        async with self.deps.database.unit_of_work() as uow:
            project = await uow.session.scalar(
                select(Project).where(Project.workspace_id == workspace_id, Project.is_default.is_(True))
            )
            if project is None:
                from wealist_plugins.user.contract import Role

                member = Membership(
                    workspace_id=workspace_id, user_id=user_id, role=Role(role), joined_at=self.deps.clock()
                )
                body = ProjectIn(workspace_id=workspace_id, name="General")
                await self.create(uow, member, body, is_default=True)
                return
            await uow.upsert(
                ProjectMember,
                {
                    "project_id": project.id,
                    "user_id": user_id,
                    "role": "OWNER" if created else "MEMBER",
                    "joined_at": self.deps.clock(),
                },
                conflict=("project_id", "user_id"),
            )

    async def forget_member(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """Someone who left the workspace leaves its projects."""
        async with self.deps.database.unit_of_work() as uow:
            ids = select(Project.id).where(Project.workspace_id == workspace_id)
            await uow.session.execute(
                delete(ProjectMember).where(
                    ProjectMember.user_id == user_id, ProjectMember.project_id.in_(ids)
                )
            )

    async def page(self, uow: UnitOfWork, member: Membership, query: ProjectQuery) -> Page[ProjectOut]:
        stmt = (
            select(Project, ProjectMember.role)
            .outerjoin(
                ProjectMember,
                (ProjectMember.project_id == Project.id) & (ProjectMember.user_id == member.user_id),
            )
            .where(Project.workspace_id == member.workspace_id)
        )
        stmt = stmt.where(
            Project.archived_at.is_not(None) if query.archived else Project.archived_at.is_(None)
        )
        if query.q:
            like = f"%{query.q.strip().lower()}%"
            stmt = stmt.where(
                or_(func.lower(Project.name).like(like), func.lower(Project.description).like(like))
            )
        ks = keyset(stmt, query, order=NEWEST_FIRST)
        rows = (await uow.session.execute(ks.statement)).all()
        return ks.page(rows, lambda row: self._out(row[0], row[1], []))

    async def read(self, uow: UnitOfWork, seen: Seen) -> ProjectOut:
        files = (
            await uow.session.execute(
                select(uploads).where(
                    uploads.c.owner_type == "project", uploads.c.owner_id == str(seen.project.id)
                )
            )
        ).all()
        return self._out(seen.project, seen.role, files)

    async def update(self, uow: UnitOfWork, seen: Seen, body: ProjectPatch) -> ProjectOut:
        seen.require_manager()
        project = await uow.session.get(Project, seen.project.id, populate_existing=True)
        if project is None:
            raise NotFound("No such project.", code="PROJECT_NOT_FOUND")
        changes = body.model_dump(exclude_unset=True)
        start = changes.get("start_date", project.start_date)
        due = changes.get("due_date", project.due_date)
        _check_dates(start, due)
        now = self.deps.clock()
        for name in ("name", "description", "start_date", "due_date"):
            if (name in changes and changes[name] is not None) or (
                name in ("start_date", "due_date") and name in changes
            ):
                before, after = getattr(project, name), changes[name]
                if before != after:
                    setattr(project, name, after)
                    activity.log(
                        uow,
                        project_id=project.id,
                        actor_id=seen.me,
                        action="project.updated",
                        field=name,
                        before=_plain(before),
                        after=_plain(after),
                        at=now,
                    )
        if body.archived is not None and body.archived != (project.archived_at is not None):
            project.archived_at = now if body.archived else None
            activity.log(
                uow,
                project_id=project.id,
                actor_id=seen.me,
                action="project.archived" if body.archived else "project.restored",
                at=now,
            )
        if body.attachment_ids is not None:
            for upload_id in body.attachment_ids:
                await self.deps.uploads.attach(
                    uow,
                    upload_id,
                    by=seen.me,
                    owner_type="project",
                    owner_id=project.id,
                    workspace_id=project.workspace_id,
                )
        project.updated_at = now
        await uow.session.flush()
        return await self.read(uow, Seen(project=project, member=seen.member, role=seen.role))

    async def delete(self, uow: UnitOfWork, seen: Seen) -> None:
        seen.require_owner()
        project = await uow.session.get(Project, seen.project.id)
        if project is None:
            return
        await self.deps.uploads.release_owner(uow, "project", project.id)
        from wealist_plugins.board.models import Task

        task_ids = (await uow.session.scalars(select(Task.id).where(Task.project_id == project.id))).all()
        for task_id in task_ids:
            await self.deps.uploads.release_owner(uow, "task", task_id)
        await uow.session.delete(project)

    def _out(self, project: Project, role: str | None, files: Sequence[object]) -> ProjectOut:
        return ProjectOut(
            project_id=project.id,
            workspace_id=project.workspace_id,
            name=project.name,
            description=project.description,
            start_date=project.start_date,
            due_date=project.due_date,
            is_default=project.is_default,
            archived=project.archived_at is not None,
            default_board_id=project.default_board_id,
            created_by=project.created_by,
            my_role=role,  # type: ignore[arg-type]
            created_at=project.created_at,
            attachments=[attachment_out(f) for f in files],
        )

    # ------------------------------------------------------------------------------------------- members
    async def members(self, uow: UnitOfWork, seen: Seen) -> list[MemberOut]:
        rows = await uow.session.scalars(
            select(ProjectMember)
            .where(ProjectMember.project_id == seen.project.id)
            .order_by(ProjectMember.joined_at, ProjectMember.user_id)
        )
        return [MemberOut(user_id=m.user_id, role=m.role, joined_at=m.joined_at) for m in rows]  # type: ignore[arg-type]

    async def add_member(self, uow: UnitOfWork, seen: Seen, body: MemberIn) -> MemberOut:
        seen.require_manager()
        if body.role == "OWNER" and seen.role != "OWNER":
            raise invalid("body.role", "only the project's owner may make another owner")
        if await self.deps.directory.membership(seen.project.workspace_id, body.user_id) is None:
            raise invalid(
                "body.userId", "is not a member of the project's workspace", code="NOT_A_WORKSPACE_MEMBER"
            )
        existing = await uow.session.get(ProjectMember, (seen.project.id, body.user_id))
        if existing is not None:
            raise Conflict("Already a member of the project.", code="ALREADY_A_MEMBER")
        member = ProjectMember(
            project_id=seen.project.id, user_id=body.user_id, role=body.role, joined_at=self.deps.clock()
        )
        uow.session.add(member)
        activity.log(
            uow,
            project_id=seen.project.id,
            actor_id=seen.me,
            action="member.added",
            field=str(body.user_id),
            after=body.role,
            at=member.joined_at,
        )
        await uow.session.flush()
        return MemberOut(user_id=member.user_id, role=body.role, joined_at=member.joined_at)

    async def change_member(
        self, uow: UnitOfWork, seen: Seen, user_id: uuid.UUID, body: MemberPatch
    ) -> MemberOut:
        seen.require_manager()
        member = await uow.session.get(ProjectMember, (seen.project.id, user_id))
        if member is None:
            raise NotFound("No such member of the project.", code="MEMBER_NOT_FOUND")
        if (body.role == "OWNER" or member.role == "OWNER") and seen.role != "OWNER":
            raise invalid("body.role", "only the project's owner may give or take the owner role")
        if member.role == "OWNER" and body.role != "OWNER":
            await self._keep_an_owner(uow, seen.project.id, user_id)
        before, member.role = member.role, body.role
        activity.log(
            uow,
            project_id=seen.project.id,
            actor_id=seen.me,
            action="member.role_changed",
            field=str(user_id),
            before=before,
            after=body.role,
            at=self.deps.clock(),
        )
        return MemberOut(user_id=member.user_id, role=body.role, joined_at=member.joined_at)

    async def remove_member(self, uow: UnitOfWork, seen: Seen, user_id: uuid.UUID) -> None:
        if user_id != seen.me:
            seen.require_manager()
        member = await uow.session.get(ProjectMember, (seen.project.id, user_id))
        if member is None:
            raise NotFound("No such member of the project.", code="MEMBER_NOT_FOUND")
        if member.role == "OWNER":
            if seen.role != "OWNER":
                raise invalid("path.userId", "only an owner may remove an owner")
            await self._keep_an_owner(uow, seen.project.id, user_id)
        await uow.session.delete(member)
        activity.log(
            uow,
            project_id=seen.project.id,
            actor_id=seen.me,
            action="member.removed",
            field=str(user_id),
            before=member.role,
            at=self.deps.clock(),
        )

    async def _keep_an_owner(self, uow: UnitOfWork, project_id: uuid.UUID, leaving: uuid.UUID) -> None:
        others = await uow.session.scalar(
            select(func.count()).where(
                ProjectMember.project_id == project_id,
                ProjectMember.role == "OWNER",
                ProjectMember.user_id != leaving,
            )
        )
        if not others:
            raise Conflict(
                "A project keeps at least one owner; make someone else owner first.", code="LAST_OWNER"
            )

    # ------------------------------------------------------------------------------------- join requests
    async def request_join(self, uow: UnitOfWork, seen: Seen, body: JoinRequestIn) -> JoinRequestOut:
        if seen.role is not None:
            raise Conflict("Already a member of the project.", code="ALREADY_A_MEMBER")
        pending = await uow.session.scalar(
            select(JoinRequest).where(
                JoinRequest.project_id == seen.project.id,
                JoinRequest.user_id == seen.me,
                JoinRequest.status == "PENDING",
            )
        )
        if pending is not None:
            raise Conflict("A request to join is already waiting.", code="JOIN_REQUEST_PENDING")
        request = JoinRequest(
            project_id=seen.project.id, user_id=seen.me, message=body.message, created_at=self.deps.clock()
        )
        uow.session.add(request)
        await uow.session.flush()
        return _request_out(request)

    async def join_requests(self, uow: UnitOfWork, seen: Seen) -> list[JoinRequestOut]:
        if seen.role not in ("OWNER", "ADMIN"):
            rows = await uow.session.scalars(
                select(JoinRequest)
                .where(JoinRequest.project_id == seen.project.id, JoinRequest.user_id == seen.me)
                .order_by(JoinRequest.created_at)
            )
        else:
            rows = await uow.session.scalars(
                select(JoinRequest)
                .where(JoinRequest.project_id == seen.project.id)
                .order_by(JoinRequest.created_at, JoinRequest.id)
            )
        return [_request_out(r) for r in rows]

    async def decide(
        self, uow: UnitOfWork, seen: Seen, request_id: uuid.UUID, approve: bool
    ) -> JoinRequestOut:
        seen.require_manager()
        request = await uow.session.get(JoinRequest, request_id, with_for_update=True)
        if request is None or request.project_id != seen.project.id:
            raise NotFound("No such join request.", code="JOIN_REQUEST_NOT_FOUND")
        if request.status != "PENDING":
            raise Conflict("This request was decided already.", code="JOIN_REQUEST_DECIDED")
        now = self.deps.clock()
        request.status, request.decided_at, request.decided_by = (
            ("APPROVED" if approve else "REJECTED"),
            now,
            seen.me,
        )
        if (
            approve
            and await self.deps.directory.membership(seen.project.workspace_id, request.user_id) is not None
        ):
            await uow.upsert(
                ProjectMember,
                {
                    "project_id": seen.project.id,
                    "user_id": request.user_id,
                    "role": "MEMBER",
                    "joined_at": now,
                },
                conflict=("project_id", "user_id"),
            )
            activity.log(
                uow,
                project_id=seen.project.id,
                actor_id=seen.me,
                action="member.added",
                field=str(request.user_id),
                after="MEMBER",
                at=now,
            )
        return _request_out(request)

    # -------------------------------------------------------------------------------------------- fields
    async def fields(self, uow: UnitOfWork, project_id: uuid.UUID) -> list[FieldOut]:
        fields = (
            await uow.session.scalars(
                select(Field).where(Field.project_id == project_id).order_by(Field.position, Field.key)
            )
        ).all()
        options = (
            await uow.session.scalars(
                select(FieldOption)
                .where(FieldOption.field_id.in_([f.id for f in fields]))
                .order_by(FieldOption.position, FieldOption.value)
            )
        ).all()
        by_field: dict[uuid.UUID, list[OptionOut]] = {}
        for o in options:
            by_field.setdefault(o.field_id, []).append(
                OptionOut(option_id=o.id, value=o.value, label=o.label, color=o.color, position=o.position)
            )
        return [
            FieldOut(
                field_id=f.id,
                key=f.key,
                name=f.name,
                type=f.type,
                required=f.required,
                options=by_field.get(f.id, []),
            )  # type: ignore[arg-type]
            for f in fields
        ]

    async def add_field(self, uow: UnitOfWork, seen: Seen, body: FieldIn) -> FieldOut:
        seen.require_manager()
        if body.type in SELECT_TYPES and not body.options:
            raise invalid("body.options", "a select field needs at least one option")
        if body.type not in SELECT_TYPES and body.options:
            raise invalid("body.options", "only select fields have options")
        _unique_options(body.options)
        if await uow.session.scalar(
            select(Field.id).where(Field.project_id == seen.project.id, Field.key == body.key)
        ):
            raise Conflict(f"The project has a field {body.key!r} already.", code="FIELD_KEY_TAKEN")
        position = await uow.session.scalar(select(func.count()).where(Field.project_id == seen.project.id))
        field = Field(
            project_id=seen.project.id,
            key=body.key,
            name=body.name,
            type=body.type,
            required=body.required,
            position=position or 0,
        )
        uow.session.add(field)
        await uow.session.flush()
        self._add_options(uow, field.id, body.options)
        activity.log(
            uow,
            project_id=seen.project.id,
            actor_id=seen.me,
            action="field.created",
            field=body.key,
            at=self.deps.clock(),
        )
        await uow.session.flush()
        return next(f for f in await self.fields(uow, seen.project.id) if f.field_id == field.id)

    async def change_field(
        self, uow: UnitOfWork, seen: Seen, field_id: uuid.UUID, body: FieldPatch
    ) -> FieldOut:
        seen.require_manager()
        field = await uow.session.get(Field, field_id)
        if field is None or field.project_id != seen.project.id:
            raise NotFound("No such field.", code="FIELD_NOT_FOUND")
        if body.name is not None:
            field.name = body.name
        if body.required is not None:
            field.required = body.required
        if body.options is not None:
            if field.type not in SELECT_TYPES:
                raise invalid("body.options", "only select fields have options")
            if not body.options:
                raise invalid("body.options", "a select field needs at least one option")
            _unique_options(body.options)
            existing = {
                o.value: o
                for o in await uow.session.scalars(
                    select(FieldOption).where(FieldOption.field_id == field.id)
                )
            }
            wanted = {o.value for o in body.options}
            for value, option in existing.items():
                if value not in wanted:
                    await uow.session.delete(option)
            for i, o in enumerate(body.options):
                if o.value in existing:
                    existing[o.value].label, existing[o.value].position = o.label, i
                    if o.color:
                        existing[o.value].color = o.color
                else:
                    uow.session.add(
                        FieldOption(
                            field_id=field.id,
                            value=o.value,
                            label=o.label,
                            color=o.color or "#94A3B8",
                            position=i,
                        )
                    )
            await _drop_values_not_in(uow, field, wanted)
        await uow.session.flush()
        return next(f for f in await self.fields(uow, seen.project.id) if f.field_id == field.id)

    async def delete_field(self, uow: UnitOfWork, seen: Seen, field_id: uuid.UUID) -> None:
        seen.require_manager()
        field = await uow.session.get(Field, field_id)
        if field is None or field.project_id != seen.project.id:
            raise NotFound("No such field.", code="FIELD_NOT_FOUND")
        await uow.session.delete(field)
        activity.log(
            uow,
            project_id=seen.project.id,
            actor_id=seen.me,
            action="field.deleted",
            field=field.key,
            at=self.deps.clock(),
        )

    def _add_options(self, uow: UnitOfWork, field_id: uuid.UUID, options: list[OptionIn]) -> None:
        for i, o in enumerate(options):
            uow.session.add(
                FieldOption(
                    field_id=field_id, value=o.value, label=o.label, color=o.color or "#94A3B8", position=i
                )
            )


async def _drop_values_not_in(uow: UnitOfWork, field: Field, wanted: set[str]) -> None:
    from wealist_plugins.board.models import FieldValue

    values = (await uow.session.scalars(select(FieldValue).where(FieldValue.field_id == field.id))).all()
    for v in values:
        if field.type == "single_select" and v.value not in wanted:
            await uow.session.delete(v)
        elif field.type == "multi_select":
            kept = [x for x in v.value if x in wanted]
            if not kept:
                await uow.session.delete(v)
            elif kept != v.value:
                v.value, v.text = kept, "|" + "|".join(kept) + "|"


def _unique_options(options: list[OptionIn]) -> None:
    if len({o.value for o in options}) != len(options):
        raise invalid("body.options", "option values must differ")


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _request_out(r: JoinRequest) -> JoinRequestOut:
    return JoinRequestOut(
        request_id=r.id,
        project_id=r.project_id,
        user_id=r.user_id,
        status=r.status,  # type: ignore[arg-type]
        message=r.message,
        created_at=r.created_at,
        decided_at=r.decided_at,
    )
