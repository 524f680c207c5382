"""The auth plugin: accounts' credentials, sign-in (password, OpenID Connect, TOTP), tokens and sessions.

Two plugins live here: :class:`~wealist_plugins.auth.plugin.AuthPlugin` serves ``/api/auth`` and owns
credentials, identities, signing keys, refresh-token families and revocations;
:class:`~wealist_plugins.auth.verifier.TokenVerifierPlugin` runs in every process and turns a request's
``Authorization: Bearer`` access token into a :class:`~wealist_core.Principal`.
"""
