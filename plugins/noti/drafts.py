"""From an event to the notifications it causes: who gets one, of which type, with which text.

Each function takes the typed event and answers :class:`Draft` values; the service stores them. Texts are
written in Korean and English; the recipient's locale picks one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from wealist_plugins.board.contract import (
    CommentAdded,
    TaskAssigned,
    TaskDueSoon,
    TaskOverdue,
    TaskParticipantAdded,
    TaskUnassigned,
    TaskUpdated,
)
from wealist_plugins.chat.contract import MessageCreated
from wealist_plugins.user.contract import (
    JoinRequestCreated,
    JoinRequestDecided,
    MemberAdded,
    MemberRoleChanged,
)

from wealist_core import DomainEvent

__all__ = ["DRAFTERS", "TYPES", "Draft"]

#: Every notification type, in the order the preferences list them.
TYPES = (
    "WORKSPACE_INVITED",
    "ROLE_CHANGED",
    "JOIN_REQUESTED",
    "JOIN_REQUEST_DECIDED",
    "TASK_ASSIGNED",
    "TASK_UNASSIGNED",
    "TASK_PARTICIPANT_ADDED",
    "TASK_UPDATED",
    "COMMENT_ADDED",
    "MENTIONED",
    "TASK_DUE_SOON",
    "TASK_OVERDUE",
    "CHAT_MENTIONED",
    "CHAT_DIRECT_MESSAGE",
)


@dataclass(frozen=True)
class Draft:
    type: str
    recipients: tuple[uuid.UUID, ...]
    actor_id: uuid.UUID | None
    workspace_id: uuid.UUID
    resource_type: str
    resource_id: uuid.UUID
    resource_name: str
    ko: str
    en: str
    link: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def text(self, locale: str | None) -> str:
        return self.ko if (locale or "").lower().startswith("ko") else self.en


def _ids(values: Iterable[uuid.UUID], *, without: uuid.UUID | None = None) -> tuple[uuid.UUID, ...]:
    return tuple(dict.fromkeys(v for v in values if v != without))


def _workspace(
    event: Any, kind: str, recipients: Iterable[uuid.UUID], ko: str, en: str, **meta: Any
) -> Draft:
    return Draft(
        type=kind,
        recipients=_ids(recipients, without=getattr(event, "actor_id", None)),
        actor_id=getattr(event, "actor_id", None),
        workspace_id=event.workspace_id,
        resource_type="WORKSPACE",
        resource_id=event.workspace_id,
        resource_name=event.workspace_name,
        ko=ko,
        en=en,
        link=f"/workspaces/{event.workspace_id}",
        metadata=meta,
    )


def _task(event: Any, kind: str, recipients: Iterable[uuid.UUID], ko: str, en: str, **meta: Any) -> Draft:
    return Draft(
        type=kind,
        recipients=_ids(recipients, without=getattr(event, "actor_id", None)),
        actor_id=getattr(event, "actor_id", None),
        workspace_id=event.workspace_id,
        resource_type="TASK",
        resource_id=event.task_id,
        resource_name=event.task_title,
        ko=ko,
        en=en,
        link=f"/workspaces/{event.workspace_id}/projects/{event.project_id}/tasks/{event.task_id}",
        metadata={"projectId": str(event.project_id), "projectName": event.project_name, **meta},
    )


def member_added(e: MemberAdded) -> list[Draft]:
    if e.via != "INVITATION":
        return []
    return [
        _workspace(
            e,
            "WORKSPACE_INVITED",
            [e.user_id],
            f"{e.actor_name}님이 '{e.workspace_name}' 워크스페이스에 초대했습니다.",
            f"{e.actor_name} invited you to the workspace '{e.workspace_name}'.",
            role=e.role.value,
        )
    ]


def role_changed(e: MemberRoleChanged) -> list[Draft]:
    return [
        _workspace(
            e,
            "ROLE_CHANGED",
            [e.user_id],
            f"'{e.workspace_name}'에서 역할이 {e.previous_role.value}에서 {e.role.value}(으)로 바뀌었습니다.",
            f"Your role in '{e.workspace_name}' changed from {e.previous_role.value} to {e.role.value}.",
            role=e.role.value,
            previousRole=e.previous_role.value,
        )
    ]


def join_requested(e: JoinRequestCreated) -> list[Draft]:
    if e.status != "PENDING":
        return []
    draft = _workspace(
        e,
        "JOIN_REQUESTED",
        [a for a in e.admin_ids if a != e.user_id],
        f"{e.user_name}님이 '{e.workspace_name}' 가입을 요청했습니다.",
        f"{e.user_name} asked to join '{e.workspace_name}'.",
        requestId=str(e.request_id),
        userId=str(e.user_id),
    )
    return [Draft(**{**draft.__dict__, "actor_id": e.user_id})]


def join_decided(e: JoinRequestDecided) -> list[Draft]:
    if e.status == "PENDING":
        return []
    approved = e.status == "APPROVED"
    return [
        _workspace(
            e,
            "JOIN_REQUEST_DECIDED",
            [e.user_id],
            f"'{e.workspace_name}' 가입 요청이 {'승인' if approved else '거절'}되었습니다.",
            f"Your request to join '{e.workspace_name}' was {'approved' if approved else 'declined'}.",
            status=e.status,
            requestId=str(e.request_id),
        )
    ]


def task_assigned(e: TaskAssigned) -> list[Draft]:
    return [
        _task(
            e,
            "TASK_ASSIGNED",
            [e.assignee_id],
            f"'{e.task_title}' 작업이 배정되었습니다.",
            f"You were assigned to '{e.task_title}'.",
        )
    ]


def task_unassigned(e: TaskUnassigned) -> list[Draft]:
    return [
        _task(
            e,
            "TASK_UNASSIGNED",
            [e.assignee_id],
            f"'{e.task_title}' 작업 배정이 해제되었습니다.",
            f"You are no longer assigned to '{e.task_title}'.",
        )
    ]


def participant_added(e: TaskParticipantAdded) -> list[Draft]:
    return [
        _task(
            e,
            "TASK_PARTICIPANT_ADDED",
            [e.user_id],
            f"'{e.task_title}' 작업의 참여자로 추가되었습니다.",
            f"You were added to '{e.task_title}'.",
        )
    ]


def task_updated(e: TaskUpdated) -> list[Draft]:
    fields = ", ".join(change.field for change in e.changes)
    return [
        _task(
            e,
            "TASK_UPDATED",
            e.watcher_ids,
            f"'{e.task_title}' 작업이 수정되었습니다: {fields}",
            f"'{e.task_title}' was updated: {fields}",
            changes=[change.model_dump(mode="json", by_alias=True) for change in e.changes],
        )
    ]


def comment_added(e: CommentAdded) -> list[Draft]:
    mentioned = _ids(e.mentioned_user_ids, without=e.actor_id)
    meta = {"commentId": str(e.comment_id), "preview": e.preview}
    drafts = [
        _task(
            e,
            "MENTIONED",
            mentioned,
            f"'{e.task_title}' 댓글에서 회원님을 언급했습니다: {e.preview}",
            f"You were mentioned in a comment on '{e.task_title}': {e.preview}",
            **meta,
        )
    ]
    others = [w for w in e.watcher_ids if w not in mentioned]
    drafts.append(
        _task(
            e,
            "COMMENT_ADDED",
            others,
            f"'{e.task_title}'에 새 댓글: {e.preview}",
            f"New comment on '{e.task_title}': {e.preview}",
            **meta,
        )
    )
    return drafts


def due_soon(e: TaskDueSoon) -> list[Draft]:
    due = e.due_date.isoformat()
    return [
        _task(
            e,
            "TASK_DUE_SOON",
            e.watcher_ids,
            f"'{e.task_title}' 작업의 마감이 다가옵니다.",
            f"'{e.task_title}' is due soon.",
            dueDate=due,
        )
    ]


def overdue(e: TaskOverdue) -> list[Draft]:
    due = e.due_date.isoformat()
    return [
        _task(
            e,
            "TASK_OVERDUE",
            e.watcher_ids,
            f"'{e.task_title}' 작업의 마감이 지났습니다.",
            f"'{e.task_title}' is overdue.",
            dueDate=due,
        )
    ]


def message_created(e: MessageCreated) -> list[Draft]:
    link = f"/workspaces/{e.workspace_id}/chats/{e.chat_id}?seq={e.seq}"
    meta = {"messageId": str(e.message_id), "seq": e.seq, "chatType": e.chat_type, "preview": e.preview}

    def draft(kind: str, recipients: Iterable[uuid.UUID], ko: str, en: str) -> Draft:
        return Draft(
            type=kind,
            recipients=_ids(recipients, without=e.sender_id),
            actor_id=e.sender_id,
            workspace_id=e.workspace_id,
            resource_type="CHAT",
            resource_id=e.chat_id,
            resource_name=e.chat_name,
            ko=ko,
            en=en,
            link=link,
            metadata=meta,
        )

    mentioned = _ids(e.mentioned_user_ids, without=e.sender_id)
    drafts = [
        draft(
            "CHAT_MENTIONED",
            mentioned,
            f"{e.sender_name}님이 '{e.chat_name}'에서 회원님을 언급했습니다: {e.preview}",
            f"{e.sender_name} mentioned you in '{e.chat_name}': {e.preview}",
        )
    ]
    if e.chat_type == "DM":
        offline = [r for r in e.offline_recipient_ids if r not in mentioned]
        drafts.append(
            draft(
                "CHAT_DIRECT_MESSAGE",
                offline,
                f"{e.sender_name}님의 메시지: {e.preview}",
                f"Message from {e.sender_name}: {e.preview}",
            )
        )
    return drafts


#: The events noti consumes, each with the function that turns it into drafts.
DRAFTERS: dict[type[DomainEvent], Callable[[Any], list[Draft]]] = {
    MemberAdded: member_added,
    MemberRoleChanged: role_changed,
    JoinRequestCreated: join_requested,
    JoinRequestDecided: join_decided,
    TaskAssigned: task_assigned,
    TaskUnassigned: task_unassigned,
    TaskParticipantAdded: participant_added,
    TaskUpdated: task_updated,
    CommentAdded: comment_added,
    TaskDueSoon: due_soon,
    TaskOverdue: overdue,
    MessageCreated: message_created,
}
