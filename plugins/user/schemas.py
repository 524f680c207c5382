"""Request and response bodies of the user plugin's routes (camelCase on the wire)."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, EmailStr, StringConstraints, model_validator
from pydantic.alias_generators import to_camel
from wealist_plugins.user.contract import Role

from wealist_core.http import ApiModel, Field, Page, Text
from wealist_core.pagination import PageQuery

__all__ = [
    "AcceptResult",
    "AvatarUploadIn",
    "AvatarUploadOut",
    "InvitationOut",
    "InviteIn",
    "InviteResult",
    "InviteStatus",
    "JoinRequestIn",
    "JoinRequestOut",
    "JoinRequestQuery",
    "JoinStatus",
    "MemberOut",
    "Page",
    "ProfileOut",
    "ProfilePatch",
    "ProfileQuery",
    "RoleIn",
    "SearchQuery",
    "TransferIn",
    "UserOut",
    "UserPatch",
    "UserPublic",
    "WorkspaceIn",
    "WorkspaceOut",
    "WorkspacePatch",
    "WorkspacePublic",
]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Nickname = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Description = Annotated[Text, StringConstraints(strip_whitespace=True, max_length=2000)]
Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", max_length=16)]


def _not_owner(role: Role) -> Role:
    if role is Role.OWNER:
        raise ValueError("OWNER is never assigned: transfer the ownership instead")
    return role


#: ``ADMIN`` or ``MEMBER``: the roles an invitation or a role change may give.
AssignableRole = Annotated[
    Role, AfterValidator(_not_owner), Field(json_schema_extra={"enum": ["ADMIN", "MEMBER"]})
]


class _Patch(ApiModel):
    """A PATCH body: a field left out keeps its value; ``null`` is refused for the fields in ``_required``."""

    _required: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _refuse_nulls(self) -> _Patch:
        for name in self._required:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{to_camel(name)} cannot be null: leave it out to keep its value")
        return self


# ------------------------------------------------------------------------------------------------------ users


class UserOut(ApiModel):
    """The signed-in user."""

    user_id: uuid.UUID
    email: str
    name: str
    locale: str
    default_workspace_id: uuid.UUID | None
    created_at: dt.datetime


class UserPublic(ApiModel):
    """What a teammate may see of a user."""

    user_id: uuid.UUID
    email: str
    name: str
    created_at: dt.datetime


class UserPatch(_Patch):
    """Fields to change; ``defaultWorkspaceId: null`` clears the default workspace."""

    _required: ClassVar[tuple[str, ...]] = ("name", "locale")

    name: Name | None = None
    locale: Locale | None = None
    default_workspace_id: uuid.UUID | None = None


# ------------------------------------------------------------------------------------------------- workspaces


class WorkspaceIn(ApiModel):
    name: Name
    description: Description = ""
    is_public: bool = False
    requires_approval: bool = True
    only_admins_invite: bool = True


class WorkspacePatch(_Patch):
    """Settings to change; a field left out keeps its value (``description: null`` empties it)."""

    _required: ClassVar[tuple[str, ...]] = ("name", "is_public", "requires_approval", "only_admins_invite")

    name: Name | None = None
    description: Description | None = None
    is_public: bool | None = None
    requires_approval: bool | None = None
    only_admins_invite: bool | None = None


class WorkspaceOut(ApiModel):
    """A workspace as its members see it, with the caller's role."""

    workspace_id: uuid.UUID
    name: str
    description: str
    is_public: bool
    requires_approval: bool
    only_admins_invite: bool
    owner_id: uuid.UUID
    created_at: dt.datetime
    my_role: Role


class WorkspacePublic(ApiModel):
    """What anyone signed in may see of a public workspace: never its members or its data."""

    workspace_id: uuid.UUID
    name: str
    description: str
    requires_approval: bool
    created_at: dt.datetime


class SearchQuery(PageQuery):
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        description="Part of the workspace's name, any case."
    )


class TransferIn(ApiModel):
    user_id: uuid.UUID = Field(description="The member who becomes the owner.")


# ---------------------------------------------------------------------------------------------------- members


class MemberOut(ApiModel):
    """A member with their workspace profile."""

    user_id: uuid.UUID
    name: str
    role: Role
    nickname: str
    avatar_url: str | None
    joined_at: dt.datetime


class RoleIn(ApiModel):
    role: AssignableRole


class InviteIn(ApiModel):
    email: EmailStr
    role: AssignableRole = Role.MEMBER


class InviteStatus(StrEnum):
    ADDED = "ADDED"
    INVITED = "INVITED"


class InviteResult(ApiModel):
    """``ADDED`` (an existing user is a member now) or ``INVITED`` (an email with a link was sent)."""

    status: InviteStatus
    invitation_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    email_sent: bool | None = None


class InvitationOut(ApiModel):
    invitation_id: uuid.UUID
    workspace_id: uuid.UUID
    email: str
    role: Role
    invited_by: uuid.UUID
    created_at: dt.datetime
    expires_at: dt.datetime


class AcceptResult(ApiModel):
    """The workspace joined through an invitation link."""

    workspace: WorkspaceOut
    already_member: bool


# ---------------------------------------------------------------------------------------------- join requests


class JoinStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class JoinRequestIn(ApiModel):
    message: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class JoinRequestOut(ApiModel):
    request_id: uuid.UUID
    workspace_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    message: str
    status: JoinStatus
    created_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: uuid.UUID | None


class JoinRequestQuery(PageQuery):
    status: JoinStatus | Literal["ALL"] = Field(
        default=JoinStatus.PENDING, description="Which requests to list."
    )


# --------------------------------------------------------------------------------------------------- profiles


class ProfileQuery(ApiModel):
    workspace_id: uuid.UUID | None = Field(default=None, description="Omitted: the default profile.")


class ProfileOut(ApiModel):
    user_id: uuid.UUID
    workspace_id: uuid.UUID | None
    nickname: str
    avatar_url: str | None


class ProfilePatch(_Patch):
    """``avatarKey`` is a key from ``POST /api/profiles/me/avatar`` once uploaded; null removes the avatar."""

    _required: ClassVar[tuple[str, ...]] = ("nickname",)

    nickname: Nickname | None = None
    avatar_key: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None


class AvatarUploadIn(ApiModel):
    workspace_id: uuid.UUID | None = None
    file_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    content_type: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    size: int = Field(ge=1, description="Bytes; at most 20 MB.")


class AvatarUploadOut(ApiModel):
    """Upload with ``PUT uploadUrl`` and the ``headers``, then PATCH the profile with ``avatarKey: key``."""

    upload_url: str
    method: str
    headers: dict[str, str]
    key: str
    expires_at: dt.datetime
