"""The notifications API: each route declared once by its signature; the rules live in the service."""

from __future__ import annotations

import uuid

from wealist_plugins.noti.schemas import (
    CountOut,
    CountQuery,
    NotificationOut,
    NotificationQuery,
    PreferenceOut,
    PreferencesIn,
    ReadAllIn,
)
from wealist_plugins.noti.service import NotificationService

from wealist_core import Principal, UnitOfWork
from wealist_core.http import Controller, Page, delete, get, post, put

__all__ = ["Notifications"]


class Notifications(Controller):
    """``/api/notifications``: what happened to me, in every workspace I belong to."""

    path = "/api/notifications"
    tags = ("notifications",)

    def __init__(self, service: NotificationService) -> None:
        self.service = service

    @get("")
    async def list_notifications(
        self, principal: Principal, query: NotificationQuery, uow: UnitOfWork
    ) -> Page[NotificationOut]:
        """My notifications, newest first; ``unreadOnly`` keeps the unread ones."""
        return await self.service.page(uow, uuid.UUID(str(principal.id)), query)

    @get("/unread-count")
    async def unread_count(self, principal: Principal, query: CountQuery, uow: UnitOfWork) -> CountOut:
        """How many of mine are unread (in one workspace, or in all)."""
        return CountOut(
            count=await self.service.unread_count(uow, uuid.UUID(str(principal.id)), query.workspace_id)
        )

    @post("/read-all")
    async def read_all(self, principal: Principal, body: ReadAllIn, uow: UnitOfWork) -> CountOut:
        """Mark all of mine read (in one workspace, or in all); answers how many were unread."""
        return CountOut(
            count=await self.service.read_all(uow, uuid.UUID(str(principal.id)), body.workspace_id)
        )

    @get("/preferences")
    async def get_preferences(self, principal: Principal, uow: UnitOfWork) -> list[PreferenceOut]:
        """The types I muted or kept from mail, by default and per workspace."""
        return await self.service.preferences(uow, uuid.UUID(str(principal.id)))

    @put("/preferences")
    async def set_preferences(
        self, principal: Principal, body: PreferencesIn, uow: UnitOfWork
    ) -> list[PreferenceOut]:
        """Set some preferences (the rows not given stay as they are)."""
        return await self.service.set_preferences(uow, uuid.UUID(str(principal.id)), body.root)

    @post("/{notificationId}/read", errors=(404,))
    async def mark_read(
        self, notificationId: uuid.UUID, principal: Principal, uow: UnitOfWork
    ) -> NotificationOut:
        """Mark one of mine read."""
        return await self.service.mark_read(uow, uuid.UUID(str(principal.id)), notificationId)

    @delete("/{notificationId}", errors=(404,))
    async def delete_notification(
        self, notificationId: uuid.UUID, principal: Principal, uow: UnitOfWork
    ) -> None:
        """Delete one of mine."""
        await self.service.remove(uow, uuid.UUID(str(principal.id)), notificationId)
