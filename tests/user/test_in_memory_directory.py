"""The in-memory ``Directory`` of ``wealist_plugins.user.testing`` answers as the real one does, so the tests
of other plugins that use it test against the contract's rules."""

from __future__ import annotations

import uuid

import pytest
from wealist_plugins.user.contract import Role, require_member
from wealist_plugins.user.testing import InMemoryDirectory

from wealist_core import Conflict, Forbidden, NotFound, ValidationProblem


async def test_emails_are_normalised_and_unique() -> None:
    directory = InMemoryDirectory()
    ada = await directory.create_user(uuid.uuid4(), "  Ada@Example.COM ", "Ada")

    assert ada.email == "ada@example.com"
    assert await directory.find_user_by_email("ADA@example.com ") == ada
    with pytest.raises(Conflict) as taken:
        await directory.create_user(uuid.uuid4(), "ada@EXAMPLE.com", "Other Ada")
    assert taken.value.code == "EMAIL_TAKEN"
    with pytest.raises(ValidationProblem):
        await directory.create_user(uuid.uuid4(), "not an address", "Nobody")


async def test_membership_roles_and_profiles_of_live_workspaces_only() -> None:
    directory = InMemoryDirectory()
    ada, bob, eve = directory.add_user("Ada"), directory.add_user("Bob"), directory.add_user("Eve")
    space = directory.add_workspace(ada.user_id, "Apollo", members=[bob.user_id])
    directory.add_member(space, bob.user_id, Role.ADMIN, nickname="bobby")

    assert (await require_member(directory, space, ada.user_id, roles={Role.OWNER})).role is Role.OWNER
    with pytest.raises(Forbidden):
        await require_member(directory, space, bob.user_id, roles={Role.OWNER})
    with pytest.raises(NotFound):
        await require_member(directory, space, eve.user_id)
    profiles = await directory.member_profiles(space, [bob.user_id, eve.user_id])
    assert [(p.user_id, p.nickname, p.role) for p in profiles] == [(bob.user_id, "bobby", Role.ADMIN)]
    assert [m.workspace_id for m in await directory.user_workspaces(bob.user_id)] == [space]

    directory.delete_workspace(space)

    assert await directory.membership(space, ada.user_id) is None
    assert await directory.members(space) == []
    assert await directory.user_workspaces(bob.user_id) == []
