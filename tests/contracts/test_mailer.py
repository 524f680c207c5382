"""Contract of the ``Mailer`` port, run against every adapter.

The console mailer is read through its ``outbox``; the SMTP mailer through a real SMTP server (aiosmtpd)
started in the test on a free loopback port, whose handler records what arrives.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from wealist_adapters.memory.mailer import ConsoleMailer
from wealist_adapters.smtp.mailer import SmtpMailer

from tests.support.processes import free_port
from wealist_core import (
    AdapterContext,
    AdapterError,
    AdapterUnavailable,
    BadRequest,
    Mailer,
    MailMessage,
    ServiceUnavailable,
    Settings,
)

SETTING = "WEALIST_MAILER_URL"

# ------------------------------------------------------------------------------------------ SMTP server


class Recorder:
    """An aiosmtpd handler that keeps every message it accepts (and refuses mail to ``nobody@...``)."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.original_content or b"", policy=policy.default) for e in self.envelopes]  # type: ignore[misc]


@dataclass
class SmtpServer:
    recorder: Recorder
    port: int
    controller: Controller


@contextmanager
def smtp_server(**options: Any) -> Iterator[SmtpServer]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield SmtpServer(recorder, port, controller)
    finally:
        controller.stop()


def smtp_mailer(settings: Settings, url: str) -> SmtpMailer:
    return SmtpMailer.from_context(AdapterContext(url, settings, SETTING))


# ---------------------------------------------------------------------------------------------- harness


@dataclass
class Delivered:
    """One message as its recipient sees it."""

    to: list[str]
    subject: str
    text: str
    html: str | None
    sender: str | None
    reply_to: str | None


@dataclass
class MailHarness:
    mailer: Mailer
    delivered: Callable[[], list[Delivered]]


def _from_outbox(mailer: ConsoleMailer) -> list[Delivered]:
    return [Delivered(list(m.to), m.subject, m.text, m.html, m.sender, m.reply_to) for m in mailer.outbox]


def _from_smtp(recorder: Recorder) -> list[Delivered]:
    out = []
    for message in recorder.messages():
        text_part = message.get_body(("plain",))
        html_part = message.get_body(("html",))
        out.append(
            Delivered(
                to=[str(address) for address in message["To"].addresses],
                subject=str(message["Subject"]),
                text=_unwrap(text_part),
                html=_unwrap(html_part) if html_part is not None else None,
                sender=str(message["From"]),
                reply_to=str(message["Reply-To"]) if message["Reply-To"] else None,
            )
        )
    return out


def _unwrap(part: Any) -> str:
    # SMTP carries CRLF line ends and set_content() ends a text with a newline; the reader sees neither.
    return str(part.get_content()).replace("\r\n", "\n").removesuffix("\n")


@pytest.fixture(params=["console", "smtp"])
async def harness(
    request: pytest.FixtureRequest, settings_factory: Callable[..., Settings]
) -> AsyncIterator[MailHarness]:
    settings = settings_factory()
    if request.param == "console":
        console = ConsoleMailer.from_context(AdapterContext("console://", settings, SETTING))
        await console.start()
        yield MailHarness(console, lambda: _from_outbox(console))
        await console.close()
        return
    with smtp_server() as server:
        mailer = smtp_mailer(settings, f"smtp://127.0.0.1:{server.port}?from=noreply@wealist.test")
        await mailer.start()
        yield MailHarness(mailer, lambda: _from_smtp(server.recorder))
        await mailer.close()


INVITATION = MailMessage(
    to=["ana@example.com", "Bruno Díaz <bruno@example.com>"],
    subject="Ana invited you to “Roadmap 2027”",
    text="Join the workspace: https://wealist.test/invite/abc123\n\nSee you there — the team",
    html="<p>Join the <a href='https://wealist.test/invite/abc123'>workspace</a> — the team</p>",
)


# -------------------------------------------------------------------------------------------- contract


async def test_message_arrives_with_subject_recipients_text_and_html(harness: MailHarness) -> None:
    await harness.mailer.send(INVITATION)
    [got] = harness.delivered()
    assert got.to == list(INVITATION.to)
    assert got.subject == INVITATION.subject
    assert got.text == INVITATION.text
    assert got.html == INVITATION.html


async def test_text_only_message_has_no_html(harness: MailHarness) -> None:
    await harness.mailer.send(MailMessage(to=["ana@example.com"], subject="Digest", text="3 new tasks"))
    [got] = harness.delivered()
    assert (got.text, got.html) == ("3 new tasks", None)


async def test_sender_and_reply_to_are_kept(harness: MailHarness) -> None:
    message = MailMessage(
        to=["ana@example.com"],
        subject="Hello",
        text="Hi",
        sender="Wealist Team <team@wealist.test>",
        reply_to="support@wealist.test",
    )
    await harness.mailer.send(message)
    [got] = harness.delivered()
    assert (got.sender, got.reply_to) == ("Wealist Team <team@wealist.test>", "support@wealist.test")


async def test_messages_arrive_in_order(harness: MailHarness) -> None:
    for n in range(3):
        await harness.mailer.send(MailMessage(to=["ana@example.com"], subject=f"Message {n}", text=str(n)))
    assert [got.subject for got in harness.delivered()] == ["Message 0", "Message 1", "Message 2"]


@pytest.mark.parametrize(
    "message",
    [
        MailMessage(to=[], subject="Nobody", text="x"),
        MailMessage(to="ana@example.com", subject="Not a list", text="x"),
        MailMessage(to=["ana@example.com"], subject="Hi\nBcc: everyone@example.com", text="x"),
        MailMessage(to=["ana@example.com\r\nBcc: everyone@example.com"], subject="Hi", text="x"),
    ],
    ids=["no-recipient", "string-recipient", "subject-injection", "recipient-injection"],
)
async def test_malformed_messages_are_refused_and_not_sent(
    harness: MailHarness, message: MailMessage
) -> None:
    with pytest.raises(ValueError):
        await harness.mailer.send(message)
    assert harness.delivered() == []


# ----------------------------------------------------------------------------------------------- console


async def test_console_mailer_logs_each_message(
    settings_factory: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    mailer = ConsoleMailer.from_context(AdapterContext("console://", settings_factory(), SETTING))
    with caplog.at_level(logging.INFO, logger="wealist.mail"):
        await mailer.send(INVITATION)
    [record] = [r for r in caplog.records if r.name == "wealist.mail"]
    logged = record.getMessage()
    assert "ana@example.com" in logged
    assert INVITATION.subject in logged
    assert "https://wealist.test/invite/abc123" in logged  # a developer follows the link from the log


async def test_console_outbox_keeps_only_the_latest_messages(
    settings_factory: Callable[..., Settings],
) -> None:
    mailer = ConsoleMailer.from_context(AdapterContext("console://?keep=2", settings_factory(), SETTING))
    for n in range(5):
        await mailer.send(MailMessage(to=["ana@example.com"], subject=f"Message {n}", text=str(n)))
    assert [m.subject for m in mailer.outbox] == ["Message 3", "Message 4"]


async def test_console_mailer_in_production_warns_that_mail_is_not_sent(
    settings_factory: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_factory(environment="production")
    mailer = ConsoleMailer.from_context(AdapterContext("console://", settings, SETTING))
    with caplog.at_level(logging.WARNING, logger="wealist.mail"):
        await mailer.start()
    assert any(SETTING in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_console_mailer_refuses_options_it_does_not_know(settings_factory: Callable[..., Settings]) -> None:
    with pytest.raises(AdapterError, match=SETTING):
        ConsoleMailer.from_context(AdapterContext("console://?kep=2", settings_factory(), SETTING))


# -------------------------------------------------------------------------------------- TLS certificates


@dataclass
class Certificates:
    cafile: Path
    server: ssl.SSLContext


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A throwaway certificate authority and a server certificate for 127.0.0.1 that it signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)

    def build(subject: str, key: Any, issuer: str, signer: Any, *, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = build("Wealist test CA", ca_key, "Wealist test CA", ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = build("127.0.0.1", server_key, "Wealist test CA", ca_key, ca=False)

    cafile, certfile, keyfile = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    cafile.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    certfile.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(certfile, keyfile)
    return Certificates(cafile, server)


# -------------------------------------------------------------------------------------------------- SMTP


async def test_smtp_envelope_uses_the_from_option_and_bare_addresses(
    settings_factory: Callable[..., Settings],
) -> None:
    with smtp_server() as server:
        mailer = smtp_mailer(
            settings_factory(), f"smtp://127.0.0.1:{server.port}?from=Wealist%20%3Cnoreply@wealist.test%3E"
        )
        await mailer.send(
            MailMessage(to=["Bruno <bruno@example.com>", "ana@example.com"], subject="S", text="T")
        )
    [envelope] = server.recorder.envelopes
    assert envelope.mail_from == "noreply@wealist.test"
    assert envelope.rcpt_tos == ["bruno@example.com", "ana@example.com"]
    [message] = server.recorder.messages()
    assert message["From"] == "Wealist <noreply@wealist.test>"
    assert message["Message-ID"].endswith("@wealist.test>")
    assert message["Date"]


async def test_smtp_refused_recipients(settings_factory: Callable[..., Settings]) -> None:
    """One unknown address does not stop the others' mail; nobody left to receive it is the caller's error."""
    with smtp_server() as server:
        mailer = smtp_mailer(settings_factory(), f"smtp://127.0.0.1:{server.port}")
        await mailer.send(MailMessage(to=["ana@example.com", "nobody@example.com"], subject="Some", text="T"))
        with pytest.raises(BadRequest) as caught:
            await mailer.send(MailMessage(to=["nobody@example.com"], subject="None", text="T"))
    assert caught.value.code == "MAIL_RECIPIENTS_REFUSED"
    assert [e.rcpt_tos for e in server.recorder.envelopes] == [["ana@example.com"]]


def _accept_only(login: bytes, password: bytes) -> Callable[..., AuthResult]:
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            login,
            password,
        )
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 235 or 535

    return authenticate


async def test_smtp_logs_in_with_the_urls_user_and_password(
    settings_factory: Callable[..., Settings], certificates: Certificates
) -> None:
    auth = {"authenticator": _accept_only(b"mailer@wealist.test", b"p@ss/w:rd"), "auth_required": True}
    with smtp_server(tls_context=certificates.server, **auth) as server:
        query = f"starttls=true&cafile={certificates.cafile}"
        url = f"smtp://mailer%40wealist.test:p%40ss%2Fw%3Ard@127.0.0.1:{server.port}?{query}"
        mailer = smtp_mailer(settings_factory(), url)
        await mailer.start()
        await mailer.send(MailMessage(to=["ana@example.com"], subject="Authenticated", text="T"))
    assert [str(m["Subject"]) for m in server.recorder.messages()] == ["Authenticated"]


async def test_smtp_wrong_password_fails_at_start_without_showing_it(
    settings_factory: Callable[..., Settings], certificates: Certificates
) -> None:
    auth = {"authenticator": _accept_only(b"mailer", b"right"), "auth_required": True}
    with smtp_server(tls_context=certificates.server, **auth) as server:
        url = f"smtp://mailer:wrong-secret@127.0.0.1:{server.port}?starttls=true&cafile={certificates.cafile}"
        mailer = smtp_mailer(settings_factory(), url)
        with pytest.raises(AdapterUnavailable) as caught:
            await mailer.start()
    message = str(caught.value)
    assert SETTING in message
    assert "user name and password" in message
    assert "wrong-secret" not in message
    assert "mailer:***@127.0.0.1" in message


async def test_smtp_unreachable_server_fails_at_start(settings_factory: Callable[..., Settings]) -> None:
    mailer = smtp_mailer(settings_factory(), f"smtp://user:hunter2@127.0.0.1:{free_port()}")
    with pytest.raises(AdapterUnavailable) as caught:
        await mailer.start()
    message = str(caught.value)
    assert SETTING in message
    assert "cannot be reached" in message
    assert "hunter2" not in message and "user:***@127.0.0.1" in message
    assert "console://" in message  # the fix for a developer without a mail server


async def test_smtp_send_to_a_server_that_went_away_is_service_unavailable(
    settings_factory: Callable[..., Settings],
) -> None:
    with smtp_server() as server:
        mailer = smtp_mailer(settings_factory(), f"smtp://127.0.0.1:{server.port}")
        await mailer.start()
    with pytest.raises(ServiceUnavailable) as caught:
        await mailer.send(MailMessage(to=["ana@example.com"], subject="Lost", text="T"))
    assert caught.value.code == "MAIL_UNAVAILABLE"
    assert "127.0.0.1" not in caught.value.detail  # API clients are not told where the mail server is


@pytest.mark.parametrize(
    "url",
    [
        "smtp://127.0.0.1:2525?starttls=maybe",
        "smtp://127.0.0.1:2525?tls=true",
        "smtps://127.0.0.1:2525?starttls=true",
        "smtp://127.0.0.1:2525?timeout=soon",
        "smtp://:2525",
    ],
)
def test_smtp_malformed_urls_are_configuration_errors(
    settings_factory: Callable[..., Settings], url: str
) -> None:
    with pytest.raises(AdapterError, match=SETTING):
        smtp_mailer(settings_factory(), url)


async def test_smtp_starttls_upgrades_before_sending(
    settings_factory: Callable[..., Settings], certificates: Certificates
) -> None:
    with smtp_server(tls_context=certificates.server, require_starttls=True) as server:
        url = f"smtp://127.0.0.1:{server.port}?starttls=true&cafile={certificates.cafile}"
        mailer = smtp_mailer(settings_factory(), url)
        await mailer.start()
        await mailer.send(MailMessage(to=["ana@example.com"], subject="Over STARTTLS", text="T"))
    assert [str(m["Subject"]) for m in server.recorder.messages()] == ["Over STARTTLS"]


async def test_smtp_refuses_a_server_certificate_it_cannot_verify(
    settings_factory: Callable[..., Settings], certificates: Certificates
) -> None:
    with smtp_server(tls_context=certificates.server, require_starttls=True) as server:
        mailer = smtp_mailer(settings_factory(), f"smtp://127.0.0.1:{server.port}?starttls=true")
        with pytest.raises(AdapterUnavailable, match=SETTING):
            await mailer.start()


async def test_smtps_speaks_tls_from_the_first_byte(
    settings_factory: Callable[..., Settings], certificates: Certificates
) -> None:
    with smtp_server(ssl_context=certificates.server) as server:
        mailer = smtp_mailer(
            settings_factory(), f"smtps://127.0.0.1:{server.port}?cafile={certificates.cafile}"
        )
        await mailer.start()
        await mailer.send(MailMessage(to=["ana@example.com"], subject="Over TLS", text="T"))
    assert [str(m["Subject"]) for m in server.recorder.messages()] == ["Over TLS"]
