"""The user plugin's services, built once from the settings and the ports of the container."""

from __future__ import annotations

from dataclasses import dataclass

from wealist_plugins.user.accounts import AccountService
from wealist_plugins.user.avatars import AvatarUrls
from wealist_plugins.user.directory import UserDirectory
from wealist_plugins.user.invitations import InvitationService
from wealist_plugins.user.join_requests import JoinRequestService
from wealist_plugins.user.members import MemberService
from wealist_plugins.user.options import UserOptions, avatar_policy
from wealist_plugins.user.profiles import ProfileService
from wealist_plugins.user.workspaces import WorkspaceService

from wealist_core import Container, Settings, Uploads

__all__ = ["UserServices"]


@dataclass(frozen=True)
class UserServices:
    """Everything the routes and the ``Directory`` contract call."""

    options: UserOptions
    directory: UserDirectory
    accounts: AccountService
    workspaces: WorkspaceService
    members: MemberService
    invitations: InvitationService
    join_requests: JoinRequestService
    profiles: ProfileService

    @classmethod
    def build(cls, settings: Settings, container: Container) -> UserServices:
        options = UserOptions.from_settings(settings)
        database = container.database("user")
        blobs = container.blobstore("user")
        avatars = AvatarUrls(blobs, options.avatar_url_ttl)
        return cls(
            options=options,
            directory=UserDirectory(database, options, avatars),
            accounts=AccountService(options),
            workspaces=WorkspaceService(options),
            members=MemberService(options, avatars),
            invitations=InvitationService(container.mailer("user"), options),
            join_requests=JoinRequestService(),
            profiles=ProfileService(
                Uploads(blobs, plugin="user", purpose="avatar", policy=avatar_policy(options)),
                options,
                avatars,
            ),
        )
