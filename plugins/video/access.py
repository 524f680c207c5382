"""Who may see a room or a call: the members of its workspace. The dependencies load what the path names
and check the caller's membership of its workspace, so a stranger gets the same 404 whether the room exists
or not, and each route says it once, by its signature (``room: VisibleRoom``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from wealist_plugins.user.contract import MANAGERS, Directory, Membership
from wealist_plugins.video.models import Call, Room

from wealist_core import Forbidden, NotFound
from wealist_core.http import Call as RequestCall
from wealist_core.http import Dependency

__all__ = ["SeenCall", "SeenRoom", "VisibleCall", "VisibleRoom"]


@dataclass(frozen=True)
class SeenRoom:
    """A room (as read before the request's unit of work opened) and the caller's membership."""

    room: Room
    member: Membership

    def require_creator(self, action: str) -> None:
        if self.room.created_by != self.member.user_id:
            raise Forbidden(f"Only the room's creator may {action}.", code="NOT_ROOM_CREATOR")

    def require_creator_or_manager(self, action: str) -> None:
        if self.room.created_by != self.member.user_id and self.member.role not in MANAGERS:
            raise Forbidden(
                f"Only the room's creator or a workspace admin may {action}.", code="NOT_ROOM_CREATOR"
            )


@dataclass(frozen=True)
class SeenCall:
    call: Call
    member: Membership


async def _member(call: RequestCall, workspace_id: uuid.UUID, me: uuid.UUID) -> Membership | None:
    directory = call.container.contracts.get(Directory)
    return await call.remember(
        ("user.membership", workspace_id, me), lambda: directory.membership(workspace_id, me)
    )


class RoomAccess(Dependency):
    """The room of ``roomId`` when the caller is a member of its workspace, else 404 ``ROOM_NOT_FOUND``."""

    errors = (401, 403, 404)
    needs_principal = True

    async def resolve(self, call: RequestCall) -> SeenRoom:
        room_id: uuid.UUID = call.find("roomId")
        me = call.user_id()
        async with call.container.database(call.plugin).reading() as session:
            room = await session.get(Room, room_id)
        member = await _member(call, room.workspace_id, me) if room is not None else None
        if room is None or member is None:
            raise NotFound(f"No room {room_id} in a workspace you belong to.", code="ROOM_NOT_FOUND")
        return SeenRoom(room, member)


class CallAccess(Dependency):
    """The call of ``callId`` when the caller is a member of its workspace, else 404 ``CALL_NOT_FOUND``."""

    errors = (401, 403, 404)
    needs_principal = True

    async def resolve(self, call: RequestCall) -> SeenCall:
        call_id: uuid.UUID = call.find("callId")
        me = call.user_id()
        async with call.container.database(call.plugin).reading() as session:
            record = await session.get(Call, call_id)
        member = await _member(call, record.workspace_id, me) if record is not None else None
        if record is None or member is None:
            raise NotFound(f"No call {call_id} in a workspace you belong to.", code="CALL_NOT_FOUND")
        return SeenCall(record, member)


VisibleRoom = Annotated[SeenRoom, RoomAccess()]
VisibleCall = Annotated[SeenCall, CallAccess()]
