"""``SmtpMailer``: the mailer port over SMTP with aiosmtplib.

``smtp://user:pass@host:587?starttls=true&from=noreply@example.com`` upgrades with STARTTLS (``starttls=true``
requires it, ``false`` never tries, absent uses it when the server offers it); ``smtps://host:465`` speaks TLS
from the first byte. More options: ``timeout`` (seconds, default 10) and ``cafile`` (a PEM bundle for a
private certificate authority). User name and password are percent-decoded.
"""

from __future__ import annotations

import datetime as dt
import logging
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from urllib.parse import parse_qsl, unquote, urlsplit

import aiosmtplib

from wealist_core.adapters import AdapterContext
from wealist_core.errors import AdapterError, AdapterUnavailable, BadRequest, ServiceUnavailable
from wealist_core.ports import Mailer, MailMessage
from wealist_core.settings import mask_url

__all__ = ["SmtpMailer"]

logger = logging.getLogger("wealist.mail")

_OPTIONS = frozenset({"starttls", "from", "timeout", "cafile"})
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


class SmtpMailer(Mailer):
    """Sends each message over its own SMTP connection: mail is rare, and no idle connection can go stale."""

    def __init__(
        self,
        *,
        hostname: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        use_tls: bool = False,
        start_tls: bool | None = None,
        default_sender: str = "noreply@localhost",
        timeout: float = 10.0,
        cafile: str | None = None,
        url: str = "",
        setting: str = "WEALIST_MAILER_URL",
    ) -> None:
        self.default_sender = default_sender
        self.url = url or f"{'smtps' if use_tls else 'smtp'}://{hostname}:{port}"
        self._setting = setting
        self._options = {
            "hostname": hostname,
            "port": port,
            "username": username,
            "password": password,
            "use_tls": use_tls,
            "start_tls": start_tls,
            "timeout": timeout,
            "cert_bundle": cafile,
        }

    @classmethod
    def from_context(cls, context: AdapterContext) -> SmtpMailer:
        url, setting = context.url, context.setting
        masked = mask_url(url)

        def bad(what: str) -> AdapterError:
            return AdapterError(
                f"{setting} is {masked}, {what}; set it like "
                "smtp://user:password@host:587?starttls=true&from=noreply@example.com."
            )

        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise bad(f"which is not a valid URL ({exc})") from exc
        if not parts.hostname:
            raise bad("which names no mail server host")
        options = dict(parse_qsl(parts.query))
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise bad(f"whose option {unknown[0]!r} is unknown (known: {', '.join(sorted(_OPTIONS))})")
        use_tls = parts.scheme.lower() == "smtps"
        start_tls: bool | None = None
        if "starttls" in options:
            if options["starttls"].lower() not in _BOOLEANS:
                raise bad("whose starttls option is neither true nor false")
            start_tls = _BOOLEANS[options["starttls"].lower()]
        if use_tls and start_tls:
            raise bad("which asks for STARTTLS on a connection that is already TLS (smtps://)")
        try:
            timeout = float(options.get("timeout", "10"))
        except ValueError as exc:
            raise bad("whose timeout is not a number of seconds") from exc
        return cls(
            hostname=parts.hostname,
            port=port or (465 if use_tls else 587 if start_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            use_tls=use_tls,
            # An explicit false turns STARTTLS off; absent lets aiosmtplib upgrade when the server offers it.
            start_tls=start_tls,
            default_sender=options.get("from") or "noreply@localhost",
            timeout=timeout,
            cafile=options.get("cafile"),
            url=url,
            setting=setting,
        )

    # ------------------------------------------------------------------------------------------ lifecycle

    # check() stays the no-op default: a mail server that is down must not take the API out of service.

    async def start(self) -> None:
        masked = mask_url(self.url)
        try:
            async with self._client() as smtp:  # connects, says EHLO, upgrades and logs in as configured
                await smtp.noop()
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise AdapterUnavailable(
                f"{self._setting} is {masked}, but the mail server refused its user name and password "
                f"({exc.code} {exc.message}); correct the credentials in {self._setting}."
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise AdapterUnavailable(
                f"{self._setting} is {masked}, but that mail server cannot be reached ({_reason(exc)}); "
                f"start it, correct {self._setting}, or set it to console:// to log mail instead."
            ) from exc

    # --------------------------------------------------------------------------------------------- sending

    async def send(self, message: MailMessage) -> None:
        email = self.build(message)
        recipients = [address for _, address in getaddresses(list(message.to)) if address]
        try:
            async with self._client() as smtp:
                refused, _ = await smtp.send_message(email, recipients=recipients)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused_all = ", ".join(error.recipient for error in exc.recipients)
            raise BadRequest(
                f"The mail server refused every recipient ({refused_all}).", code="MAIL_RECIPIENTS_REFUSED"
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            logger.warning("Sending mail through %s failed: %s", mask_url(self.url), _reason(exc))
            # The detail reaches API clients, so it names no server; the log line above does.
            raise ServiceUnavailable(
                "The email could not be sent because the mail server is unavailable; try again later.",
                code="MAIL_UNAVAILABLE",
            ) from exc
        if refused:
            # The message went to the others; one bad address must not fail (or resend) the whole batch.
            logger.warning("The mail server refused some recipients: %s", ", ".join(sorted(refused)))

    def build(self, message: MailMessage) -> EmailMessage:
        """The MIME message: text, plus an HTML alternative when given. ``ValueError`` for a bad message."""
        if isinstance(message.to, str):
            raise ValueError("MailMessage.to must be a sequence of addresses, not a single string.")
        if not message.to:
            raise ValueError("A mail message needs at least one recipient.")
        sender = message.sender or self.default_sender
        email = EmailMessage()
        # The email package refuses header values with line breaks (ValueError), which stops header injection.
        email["From"] = sender
        email["To"] = ", ".join(message.to)
        email["Subject"] = message.subject
        if message.reply_to:
            email["Reply-To"] = message.reply_to
        email["Date"] = format_datetime(dt.datetime.now(dt.UTC))
        # An explicit domain: without one make_msgid asks DNS for this host's name, which can block.
        email["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or "localhost")
        email.set_content(message.text)
        if message.html is not None:
            email.add_alternative(message.html, subtype="html")
        return email

    def _client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(**self._options)  # type: ignore[arg-type]


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.rstrip(".")
