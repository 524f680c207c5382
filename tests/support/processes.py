"""Real processes for the process-mode tests: ``wealist serve`` (and NGINX) on free loopback ports.

A test starts a server with :func:`start_wealist`, which waits until ``/health/live`` answers while checking
that the process is still alive (a process that died at start-up fails the test at once with its output,
instead of the test hanging until a timeout), and stops it with :meth:`ServerProcess.stop`.

:func:`serving` runs an application built in the test with uvicorn on the test's own event loop: real
sockets (so WebSocket clients work) while the test still reaches into the application's objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

__all__ = [
    "NGINX",
    "REPO_ROOT",
    "WEALIST",
    "ServerProcess",
    "free_port",
    "require_nginx",
    "run_wealist",
    "serving",
    "start_process",
    "start_wealist",
    "wealist_env",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The console script of the virtualenv running the tests.
WEALIST = str(Path(sys.executable).with_name("wealist"))

NGINX = "/usr/sbin/nginx"

# The ephemeral range starts at 32768 here: a port below it cannot collide with an outgoing connection.
_PORTS = (20000, 32767)


def free_port() -> int:
    """A loopback TCP port below 32768 that nothing listens on right now."""
    for _ in range(200):
        port = random.randint(*_PORTS)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32768 on 127.0.0.1")


def require_nginx() -> str:
    """The NGINX binary; without it, skip on a developer's machine and fail under ``CI=true``."""
    if os.access(NGINX, os.X_OK):
        return NGINX
    message = f"{NGINX} is missing; `make test` installs it (apt-get install nginx-light)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


BUILTIN_ADAPTERS = ",".join(
    f"wealist_adapters.{name}" for name in ("memory", "sqlite", "postgres", "redis", "local_files", "smtp")
)


def wealist_env(values: Mapping[str, str] | None = None, *, data_dir: Path | None = None) -> dict[str, str]:
    """The environment of a ``wealist`` subprocess: this one without any ``WEALIST_*`` variable (hermetic:
    no plugin autoloaded, the built-in adapters named), the repository on ``PYTHONPATH`` (so
    ``tests.plugins`` imports), plain-text logs, and ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEALIST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["WEALIST_LOG_FORMAT"] = "text"
    env["WEALIST_ENVIRONMENT"] = "test"
    # Exactly the plugins a test names: no installed plugin is autoloaded, the built-in adapters are.
    env["WEALIST_AUTOLOAD"] = "false"
    env["WEALIST_ADAPTER_MODULES"] = BUILTIN_ADAPTERS
    if data_dir is not None:
        env["WEALIST_DATA_DIR"] = str(data_dir)
    env.update(values or {})
    return env


def run_wealist(
    args: Sequence[str], env: Mapping[str, str], *, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run the ``wealist`` command line to completion, capturing its output as text."""
    return subprocess.run(
        [WEALIST, *args], env=dict(env), capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT
    )


@dataclass
class ServerProcess:
    """A server started by a test; ``stop()`` ends it (and is safe to call twice)."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        """What the process wrote to stdout and stderr so far."""
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def wait_until(self, url: str, *, timeout: float, accept: Sequence[int] = (200,)) -> None:
        """Poll ``url`` until it answers one of ``accept``; fail with the output if the process exits."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        with httpx.Client(timeout=1.0) as client:
            while True:
                code = self.process.poll()
                if code is not None:
                    self.stop()
                    raise RuntimeError(f"{self.name} exited with status {code} at start:\n{self.output()}")
                try:
                    response = client.get(url)
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                else:
                    if response.status_code in accept:
                        return
                    last = f"status {response.status_code}"
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"{self.name} did not answer {url} in {timeout} s ({last}):\n{self.output()}"
                    )
                time.sleep(0.05)


def start_process(
    name: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    port: int,
    log_dir: Path,
    ready_path: str,
    timeout: float = 30.0,
) -> ServerProcess:
    """Start ``command`` (which listens on ``port``) and wait until ``ready_path`` answers 200."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:  # the child writes through its own copy of the descriptor
        process = subprocess.Popen(
            list(command), env=dict(env), stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT
        )
    server = ServerProcess(name, process, port, log_path)
    server.wait_until(f"{server.url}{ready_path}", timeout=timeout)
    return server


def start_wealist(
    name: str,
    env: Mapping[str, str],
    *,
    log_dir: Path,
    port: int | None = None,
    args: Sequence[str] = (),
    timeout: float = 30.0,
) -> ServerProcess:
    """``wealist serve --port <free port>`` with ``env``, once ``/health/live`` answers."""
    port = port or free_port()
    command = [WEALIST, "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    return start_process(
        name, command, env=env, port=port, log_dir=log_dir, ready_path="/health/live", timeout=timeout
    )


class _QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers: the test runner keeps Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(app: object, *, port: int | None = None, start_within: float = 10.0) -> AsyncIterator[str]:
    """Serve ``app`` on ``127.0.0.1:<port>`` from the running loop, lifespan included; yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="on", log_config=None, access_log=False
    )
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve(), name=f"uvicorn-{port}")
    try:
        async with asyncio.timeout(start_within):
            while not server.started:
                if task.done():
                    try:
                        task.result()
                    except SystemExit:  # uvicorn's answer to a failed lifespan start-up (logged above)
                        pass
                    raise RuntimeError("the application failed to start; see the log above")
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
