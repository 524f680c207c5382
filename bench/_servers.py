"""The applications the benchmarks serve, and how a benchmark starts them.

Each is served by ``python bench/_servers.py NAME --port PORT`` in a process of its own, under uvicorn with
the same options whatever the application (one worker, httptools, uvloop when installed, no uvicorn access
log), so that two figures differ only by the application. :func:`start` runs that command and waits until
the server answers.

- ``bare``: Starlette and one route answering ``GET /api/bench/hello`` with ``JSONResponse``: the floor.
- ``host``: the Wealist host (``create_app``) with a toy plugin answering the same route as an ``ApiRoute``
  with a response model and ``auth=False``, configured as in production: JSON logs (access log included) at
  INFO on stderr, which :func:`start` sends to a file, embedded defaults in a temporary data directory.
- ``wealist``: the whole Wealist host as ``wealist serve`` builds it (``create_app_from_env``: every installed
  plugin, configured from the ``WEALIST_*`` variables the benchmark passes to :func:`start`).
- ``users_me_bare``: Starlette answering ``GET /api/users/me`` by hand (see ``_users_me_bare.py``).
- ``sockets_host``, ``sockets_bare``: a broadcast to every open socket, on the real-time toolkit and on bare
  Starlette (see ``_socket_apps.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PATH = "/api/bench/hello"
BODY = b'{"message":"Hello, world!"}'


# ---------------------------------------------------------------------------------------- applications


def bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def hello(request: Request) -> JSONResponse:
        return JSONResponse({"message": "Hello, world!"})

    return Starlette(routes=[Route(PATH, hello, methods=["GET"])])


def host_app() -> Any:
    import _toy_plugin  # bench/ is sys.path[0] of this script; a module keeps its annotations resolvable

    from wealist_core import Settings
    from wealist_core.app import create_app
    from wealist_core.observability import configure_logging

    # Settings.load reads WEALIST_* as `wealist serve` does; start() sets the production ones. Autoloading
    # stays off so that the plugins installed in this environment (and their start-up) are not measured: only
    # the toy plugin is loaded, and the request path does not depend on what else is installed.
    settings = Settings.load(autoload=False)
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings, plugins=[_toy_plugin.BenchPlugin])


def wealist_app() -> Any:
    from wealist_core.app import create_app_from_env

    return create_app_from_env()


def users_me_bare_app() -> Any:
    import _users_me_bare

    return _users_me_bare.app()


APPS: dict[str, Callable[[], Any]] = {
    "bare": bare_app,
    "host": host_app,
    "host-quiet": host_app,  # the same application, started with WEALIST_ACCESS_LOG=false
    "wealist": wealist_app,
    "users_me_bare": users_me_bare_app,
    "sockets_host": lambda: importlib.import_module("_socket_apps").host_app(),  # see _socket_apps.py
    "sockets_bare": lambda: importlib.import_module("_socket_apps").bare_app(),
}


def uvicorn_options() -> dict[str, Any]:
    """The same for every application: only the application may differ between two figures."""
    return {
        "host": "127.0.0.1",
        "workers": None,  # one process
        "http": "httptools",
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "access_log": False,  # the host writes its own; uvicorn's would be measured twice
        "log_config": None,
        "lifespan": "on",
    }


def serve(name: str, port: int, cpu: int | None) -> None:
    import uvicorn

    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    uvicorn.run(APPS[name](), port=port, **uvicorn_options())


# -------------------------------------------------------------------------------------------- starting


@dataclass
class Server:
    """A server started by :func:`start`."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    path: str = PATH  # what start() polled until it answered
    headers: Mapping[str, str] | None = None  # sent with that poll

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}{self.path}"

    def cpu_seconds(self) -> float | None:
        """User and system CPU time the server has used so far (Linux), or None where /proc is missing.

        CPU per request does not depend on how fast the load generator is, unlike requests per second."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        # After the command name: state is field 3, utime and stime are fields 14 and 15 (proc(5)).
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_lines(self) -> int:
        with self.log_path.open("rb") as log:
            return sum(1 for _ in log)


def _get(url: str, headers: Mapping[str, str] | None = None) -> bytes:
    request = urllib.request.Request(url, headers=dict(headers or {}))
    with urllib.request.urlopen(request, timeout=1.0) as response:  # loopback only
        body: bytes = response.read()
        return body


@contextlib.contextmanager
def start(
    name: str,
    port: int,
    *,
    data_dir: Path,
    log_dir: Path,
    cpu: int | None,
    env: Mapping[str, str] | None = None,
    path: str = PATH,
    expect: bytes | None = BODY,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Iterator[Server]:
    """Serve ``name`` on ``port`` until the block ends; fails with the server's output if it cannot start.

    ``env`` is added to the production settings below (and may override them). The server is ready when
    ``GET path`` (with ``headers``) answers 200 with ``expect``, or with anything when ``expect`` is None.
    """
    extra = dict(env or {})
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEALIST_")}
    env.update(
        PYTHONUNBUFFERED="1",
        WEALIST_ENVIRONMENT="production",
        WEALIST_DATA_DIR=str(data_dir),
        WEALIST_SERVICE_TOKEN="bench-service-token",
        WEALIST_SECRET_KEY="bench-secret-key",
        WEALIST_LOG_FORMAT="json",
        WEALIST_LOG_LEVEL="INFO",
    )
    env.update(extra)
    log_path = log_dir / f"{name}.log"
    command = [sys.executable, __file__, name, "--port", str(port)]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(name, port, process, log_path, path, headers)
    try:
        _wait_ready(server, expect, timeout=timeout)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(server: Server, expect: bytes | None, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        code = server.process.poll()
        if code is not None:
            raise RuntimeError(f"{server.name} exited with {code} at start:\n{server.log_path.read_text()}")
        try:
            body = _get(server.url, server.headers)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            body = None
        if body is not None:
            if expect is not None and body != expect:
                raise RuntimeError(
                    f"{server.name} answered {body!r}, not {expect!r}: the two would not compare"
                )
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name} did not answer in {timeout} s:\n{server.log_path.read_text()}")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("app", choices=sorted(APPS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpu", type=int, help="pin the server to this CPU")
    args = parser.parse_args()
    serve(args.app, args.port, args.cpu)


if __name__ == "__main__":
    main()
