"""The project's Coturn configuration starts Debian's ``turnserver``, which answers STUN and accepts the TURN
credentials the video plugin mints (TURN REST convention) and refuses expired or forged ones; the LiveKit
configuration points at the same Coturn with the same secret."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import shutil
import socket
import struct
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from wealist_plugins.video.ice import turn_credential

from tests.support.processes import REPO_ROOT, free_port

CONF = REPO_ROOT / "deployments" / "coturn" / "turnserver.conf"
LIVEKIT = REPO_ROOT / "deployments" / "livekit" / "livekit.yaml"
MAGIC = 0x2112A442
BINDING, BINDING_OK = 0x0001, 0x0101
ALLOCATE, ALLOCATE_OK, ALLOCATE_ERROR = 0x0003, 0x0103, 0x0113
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE, REALM, NONCE = 0x0006, 0x0008, 0x0009, 0x0014, 0x0015
REQUESTED_TRANSPORT, XOR_RELAYED_ADDRESS, XOR_MAPPED_ADDRESS = 0x0019, 0x0016, 0x0020


def _turnserver() -> str:
    found = shutil.which("turnserver") or (
        "/usr/bin/turnserver" if os.access("/usr/bin/turnserver", os.X_OK) else ""
    )
    if found:
        return found
    message = "turnserver is missing; `make test` installs it (apt-get install coturn)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


# ------------------------------------------------------------------------------------------- STUN messages


def _attr(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def _message(kind: int, attrs: bytes, txid: bytes, *, key: bytes | None = None) -> bytes:
    if key is None:
        return struct.pack("!HHI", kind, len(attrs), MAGIC) + txid + attrs
    # MESSAGE-INTEGRITY covers the header (its length counting the integrity attribute) and what precedes it.
    header = struct.pack("!HHI", kind, len(attrs) + 24, MAGIC) + txid
    mac = hmac.new(key, header + attrs, hashlib.sha1).digest()
    return header + attrs + _attr(MESSAGE_INTEGRITY, mac)


def _parse(data: bytes) -> tuple[int, bytes, dict[int, bytes]]:
    kind, length, cookie = struct.unpack("!HHI", data[:8])
    assert cookie == MAGIC
    attrs, at = {}, 20
    while at < 20 + length:
        a_kind, a_len = struct.unpack("!HH", data[at : at + 4])
        attrs[a_kind] = data[at + 4 : at + 4 + a_len]
        at += 4 + a_len + (-a_len % 4)
    return kind, data[8:20], attrs


def _xor_address(value: bytes) -> tuple[str, int]:
    port = struct.unpack("!H", value[2:4])[0] ^ (MAGIC >> 16)
    addr = struct.unpack("!I", value[4:8])[0] ^ MAGIC
    return socket.inet_ntoa(struct.pack("!I", addr)), port


def _ask(sock: socket.socket, port: int, message: bytes) -> tuple[int, dict[int, bytes]]:
    sock.sendto(message, ("127.0.0.1", port))
    data, _ = sock.recvfrom(2048)
    kind, txid, attrs = _parse(data)
    assert txid == message[8:20]
    return kind, attrs


# ------------------------------------------------------------------------------------------- the server


@dataclass
class Coturn:
    port: int
    secret: str
    realm: str
    output: Path


def _render(tmp: Path, port: int, tls_port: int, secret: str) -> Path:
    """The project's file with this test's ports, secret and certificate; its other lines as they are."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(tmp / "privkey.pem"), "-out", str(tmp / "fullchain.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    relay = free_port()
    replacements = {
        "listening-port": str(port),
        "tls-listening-port": str(tls_port),
        "static-auth-secret": secret,
        "cert": str(tmp / "fullchain.pem"),
        "pkey": str(tmp / "privkey.pem"),
        "min-port": str(relay),
        "max-port": str(relay + 20),
    }
    lines = []
    for line in CONF.read_text().splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={replacements[name]}" if name in replacements and "=" in line else line)
    # Only what a machine without root-owned folders needs: where to listen, its pid and database files.
    lines += [
        "listening-ip=127.0.0.1",
        "relay-ip=127.0.0.1",
        f"pidfile={tmp / 'turn.pid'}",
        f"userdb={tmp / 'turndb'}",
    ]
    rendered = tmp / "turnserver.conf"
    rendered.write_text("\n".join(lines) + "\n")
    return rendered


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Coturn]:
    binary = _turnserver()
    port, tls_port, secret = free_port(), free_port(), secrets.token_urlsafe(24)
    conf = _render(tmp_path, port, tls_port, secret)
    output = tmp_path / "turnserver.log"
    with output.open("wb") as log:
        process = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    realm = re.search(r"^realm=(.+)$", CONF.read_text(), re.M)
    assert realm is not None
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.2)
            for _ in range(100):  # until it answers, or it died
                assert process.poll() is None, output.read_text()
                try:
                    _ask(sock, port, _message(BINDING, b"", os.urandom(12)))
                    break
                except (TimeoutError, ConnectionRefusedError):
                    continue
            else:
                pytest.fail(f"turnserver never answered:\n{output.read_text()}")
        yield Coturn(port, secret, realm.group(1), output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _allocate(coturn: Coturn, username: str, password: str) -> tuple[int, dict[int, bytes]]:
    transport = _attr(REQUESTED_TRANSPORT, bytes([17, 0, 0, 0]))  # UDP
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        kind, attrs = _ask(sock, coturn.port, _message(ALLOCATE, transport, os.urandom(12)))
        assert kind == ALLOCATE_ERROR and attrs[ERROR_CODE][2:4] == bytes([4, 1])  # 401: credentials, please
        realm, nonce = attrs[REALM], attrs[NONCE]
        assert realm.decode() == coturn.realm
        key = hashlib.md5(f"{username}:{realm.decode()}:{password}".encode()).digest()
        body = transport + _attr(USERNAME, username.encode()) + _attr(REALM, realm) + _attr(NONCE, nonce)
        return _ask(sock, coturn.port, _message(ALLOCATE, body, os.urandom(12), key=key))


# ------------------------------------------------------------------------------------------- the tests


@pytest.mark.slow
def test_coturn_starts_with_the_project_file_and_answers_stun(coturn: Coturn) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.bind(("127.0.0.1", 0))
        kind, attrs = _ask(sock, coturn.port, _message(BINDING, b"", os.urandom(12)))
        assert kind == BINDING_OK
        assert _xor_address(attrs[XOR_MAPPED_ADDRESS]) == sock.getsockname()  # where it saw us come from
    log = coturn.output.read_text()
    assert "CONFIG ERROR" not in log and "Bad configuration" not in log, log

    # The credentials a join answer carries open a relay; expired or forged ones do not.
    user = uuid.uuid4()
    username, password = turn_credential(coturn.secret, user, datetime.now(UTC) + timedelta(hours=1))
    kind, attrs = _allocate(coturn, username, password)
    assert kind == ALLOCATE_OK, attrs.get(ERROR_CODE)
    assert _xor_address(attrs[XOR_RELAYED_ADDRESS])[0] == "127.0.0.1"

    expired, expired_password = turn_credential(coturn.secret, user, datetime.now(UTC) - timedelta(minutes=1))
    forged = turn_credential("not-the-secret", user, datetime.now(UTC) + timedelta(hours=1))
    for name, secret_word in [(expired, expired_password), forged]:
        kind, attrs = _allocate(coturn, name, secret_word)
        assert kind == ALLOCATE_ERROR and attrs[ERROR_CODE][2:4] == bytes([4, 1])


def test_livekit_relays_through_the_same_coturn_and_posts_to_the_video_webhook() -> None:
    livekit = yaml.safe_load(LIVEKIT.read_text())
    conf = dict(
        line.split("=", 1)
        for line in CONF.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert "use-auth-secret" in CONF.read_text().splitlines()
    assert (conf["listening-port"], conf["tls-listening-port"]) == ("3478", "5349")
    turn = {(s["port"], s["protocol"]) for s in livekit["rtc"]["turn_servers"]}
    assert turn == {(5349, "tls"), (3478, "udp")}
    assert {s["secret"] for s in livekit["rtc"]["turn_servers"]} == {conf["static-auth-secret"]}
    assert all(s["host"] == conf["realm"] for s in livekit["rtc"]["turn_servers"])
    assert livekit["turn"]["enabled"] is False  # Coturn serves TURN, not LiveKit's embedded one
    [hook] = livekit["webhook"]["urls"]
    assert hook.endswith("/api/video/webhooks/livekit") and livekit["webhook"]["api_key"] in livekit["keys"]
    assert all(len(secret) >= 32 for secret in livekit["keys"].values())
    # LiveKit's UDP range and Coturn's relay range do not overlap.
    lk = range(livekit["rtc"]["port_range_start"], livekit["rtc"]["port_range_end"] + 1)
    assert int(conf["max-port"]) < lk.start or int(conf["min-port"]) > lk.stop
