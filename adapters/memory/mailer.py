"""``ConsoleMailer``: the embedded mailer. It logs each message and keeps the latest in ``outbox``.

``console://`` or ``console://?keep=200``. A developer reads invitation links in the log; tests read
``outbox``.
"""

from __future__ import annotations

import logging
from collections import deque
from urllib.parse import parse_qsl, urlsplit

from wealist_core.adapters import AdapterContext
from wealist_core.errors import AdapterError
from wealist_core.ports import Mailer, MailMessage

__all__ = ["ConsoleMailer"]

logger = logging.getLogger("wealist.mail")

_DEFAULT_KEEP = 100


class ConsoleMailer(Mailer):
    """Sends nothing: logs each message (logger ``wealist.mail``), keeps the last ``keep`` in ``outbox``."""

    def __init__(self, *, keep: int = _DEFAULT_KEEP, production: bool = False, setting: str = "") -> None:
        self.outbox: deque[MailMessage] = deque(maxlen=keep)
        self._production = production
        self._setting = setting or "WEALIST_MAILER_URL"

    @classmethod
    def from_context(cls, context: AdapterContext) -> ConsoleMailer:
        options = dict(parse_qsl(urlsplit(context.url).query))
        keep = options.pop("keep", str(_DEFAULT_KEEP))
        if options or not keep.isdigit() or int(keep) < 1:
            raise AdapterError(
                f"{context.setting} is {context.url!r}, which the console mailer does not understand; "
                "set it to console:// (optionally console://?keep=<number of messages to keep>)."
            )
        return cls(
            keep=int(keep), production=context.settings.environment == "production", setting=context.setting
        )

    async def start(self) -> None:
        if self._production:
            # Not an error (a deployment may have no mail yet), but invitations silently not arriving is
            # the kind of surprise an operator should read about at start.
            logger.warning(
                "%s is console://: mail is written to this log, not sent; set it to smtp://... to send mail.",
                self._setting,
            )

    async def send(self, message: MailMessage) -> None:
        check_message(message)
        self.outbox.append(message)
        logger.info(
            "Mail to %s: %s\n\n%s%s",
            ", ".join(message.to),
            message.subject,
            message.text,
            "\n\n(with an HTML part)" if message.html else "",
            extra={"mail_to": list(message.to), "mail_subject": message.subject},
        )


def check_message(message: MailMessage) -> None:
    """Refuse what a mail server would: no recipient, or a header value that could inject another header."""
    if isinstance(message.to, str):
        raise ValueError("MailMessage.to must be a sequence of addresses, not a single string.")
    if not message.to:
        raise ValueError("A mail message needs at least one recipient.")
    for value in (*message.to, message.subject, message.sender or "", message.reply_to or ""):
        if "\r" in value or "\n" in value:
            raise ValueError(f"Mail header value {value!r} contains a line break.")
