"""The user plugin: people, workspaces, members and roles, invitations, join requests and profiles.

Other plugins use it only through :mod:`wealist_plugins.user.contract` (the ``Directory`` contract).
"""
