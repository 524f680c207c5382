"""A mailer over SMTP (aiosmtplib): ``smtp://user:pass@host:587?starttls=true`` or ``smtps://host:465``."""

from __future__ import annotations

from wealist_core import AdapterContext, AdapterSpec, Resource, hookimpl


def _mailer(context: AdapterContext) -> Resource:
    from wealist_adapters.smtp.mailer import SmtpMailer

    return SmtpMailer.from_context(context)


@hookimpl
def wealist_register_adapters() -> list[AdapterSpec]:
    return [AdapterSpec("mailer", ("smtp", "smtps"), _mailer, "SmtpMailer")]
