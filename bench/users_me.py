"""An authenticated ``GET /api/users/me`` on the Wealist host, against bare Starlette doing the same work.

The host is Wealist as ``wealist serve`` builds it (every installed plugin; ``create_app_from_env``) on
PostgreSQL and Redis, configured as in production: JSON logs (access log included) to a file, a fresh
database created by this script and dropped at the end (``WEALIST_AUTO_MIGRATE=true``), the key-value store
on a Redis database the script claims (so the token verifier's revocation check reaches real Redis). A user
signs up through the API; its access token is sent with every request.

The floor (``_users_me_bare.py``) verifies the same token with PyJWT against the key published at the
host's JWKS, checks the same revocation keys in the same Redis and reads the same row with asyncpg,
answering the same JSON. Both run under identical uvicorn options (``_servers.py``); rounds alternate as
in ``host_vs_bare.py``, whose measuring and reporting this reuses.

    .venv/bin/python bench/users_me.py [--rounds 3] [--duration 6] [--concurrency 32] [--loadgen wrk]

Prints requests per second, p50 and p99 latency and server CPU per request of each, the ratio host/bare
(goal: at least 50%), and writes the run to ``bench/results/users_me-<time>.json``. Needs PostgreSQL on
127.0.0.1:5432 (user postgres, trust) and Redis on 127.0.0.1:6379; loopback only; about a minute.

PostgreSQL and Redis are not pinned: on a 2-core machine they share the CPUs with the server and the load
generator, so requests per second also measure them; CPU per request counts the server process alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _loadgen
import _servers
import _users_me_bare
from host_vs_bare import RESULTS_DIR, Round, _fmt, alternate, cpus, free_port, measured

NAMES = ("bare", "host")
PG = "postgres@127.0.0.1:5432"
REDIS = "127.0.0.1:6379"
REDIS_DATABASES = range(1, 12)  # 0 is everyone's default; the test suites use 12 to 15
CLAIM_KEY = "wealist-bench:users_me"  # marks the Redis database as taken while the run lasts
JWKS_PATH = "/api/auth/.well-known/jwks.json"
AUDIENCE = "wealist"  # the auth plugin's defaults: the bare floor checks the same values
LEEWAY = 30


# ----------------------------------------------------------------------------------- database and Redis


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (its name), dropped when the block ends."""
    import asyncpg

    name = f"wealist_bench_{secrets.token_hex(6)}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(f"postgresql://{PG}/postgres", timeout=5)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        # FORCE: a server killed mid-run may have left connections behind.
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def claimed_redis_database() -> Iterator[int]:
    """The number of an empty Redis database, claimed for this run and flushed when the block ends."""
    import redis

    for number in REDIS_DATABASES:
        client = redis.Redis.from_url(f"redis://{REDIS}/{number}", socket_connect_timeout=5)
        try:
            # Empty and claimed in one step, so two benchmarks started together do not share a database.
            if client.dbsize() == 0 and client.set(CLAIM_KEY, "1", nx=True, ex=3600):
                if client.dbsize() == 1:
                    break
                client.delete(CLAIM_KEY)
        except BaseException:
            client.close()
            raise
        client.close()
    else:
        raise RuntimeError(f"no empty Redis database among {list(REDIS_DATABASES)} on {REDIS}")
    try:
        yield number
    finally:
        client = redis.Redis.from_url(f"redis://{REDIS}/{number}")
        try:
            client.flushdb()  # everything in it was written by this run
        finally:
            client.close()


def ed25519_pem() -> bytes:
    """A new Ed25519 private key in PEM (what ``openssl genpkey -algorithm ed25519`` writes)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


# ---------------------------------------------------------------------------------------------- HTTP


def http(url: str, *, body: Mapping[str, Any] | None = None, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10.0) as response:  # loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def sign_up(base_url: str) -> str:
    """A new account's access token (one Argon2 hash on the host, before anything is measured)."""
    status, body = http(
        f"{base_url}/api/auth/signup",
        body={
            "email": f"bench-{secrets.token_hex(4)}@example.com",
            "password": secrets.token_urlsafe(18),
            "name": "Bench User",
        },
    )
    if status != 200 and status != 201:
        raise RuntimeError(f"sign-up answered {status}: {body.decode(errors='replace')}")
    token: str = json.loads(body)["accessToken"]
    return token


def same_answer(urls: Mapping[str, str], token: str) -> dict[str, Any]:
    """Both servers answer 200 with the same JSON; what they answered (the figures compare like with like)."""
    answers = {name: http(url, token=token) for name, url in urls.items()}
    for name, (status, body) in answers.items():
        if status != 200:
            raise RuntimeError(f"{name} answered {status}: {body.decode(errors='replace')}")
    documents = {name: json.loads(body) for name, (_, body) in answers.items()}
    if documents["bare"] != documents["host"]:
        raise RuntimeError(f"the two answers differ, they would not compare: {documents}")
    return {
        "document": documents["host"],
        "same_bytes": answers["bare"][1] == answers["host"][1],
        "bytes": {name: len(body) for name, (_, body) in answers.items()},
    }


# -------------------------------------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> dict[str, Any]:
    tool = _loadgen.available() if args.loadgen == "auto" else args.loadgen
    server_cpu, load_cpu = cpus()
    rounds: dict[str, list[Round]] = {name: [] for name in NAMES}
    started = time.monotonic()
    print(
        f"users_me: {tool}, {args.concurrency} connections, {args.rounds} rounds of {args.duration} s; "
        f"server on CPU {server_cpu}, load generator on CPU {load_cpu}",
        flush=True,
    )
    with (
        tempfile.TemporaryDirectory(prefix="wealist-bench-") as tmp,
        fresh_database() as database,
        claimed_redis_database() as redis_db,
    ):
        work = Path(tmp)
        (work / "data").mkdir()
        host_port, bare_port = free_port(), free_port()
        host_url = f"http://127.0.0.1:{host_port}"
        issuer = host_url  # the auth plugin's default issuer is the public URL
        signing_key = work / "auth-signing-key.pem"
        signing_key.write_bytes(ed25519_pem())
        host_env = {
            "WEALIST_DATABASE_URL": f"postgresql+asyncpg://{PG}/{database}",
            "WEALIST_KEYVALUE_URL": f"redis://{REDIS}/{redis_db}",
            "WEALIST_AUTO_MIGRATE": "true",
            "WEALIST_PUBLIC_URL": host_url,
            # Production refuses to invent a signing key: give it one, as an operator would.
            "WEALIST_AUTH__SIGNING_KEY": str(signing_key),
        }
        with _servers.start(
            "wealist",
            host_port,
            data_dir=work / "data",
            log_dir=work,
            cpu=server_cpu,
            env=host_env,
            path=JWKS_PATH,
            expect=None,
            timeout=60.0,  # migrations run at start
        ) as host:
            token = sign_up(host.base_url)
            auth = {"Authorization": f"Bearer {token}"}
            bare_env = {
                "BENCH_DATABASE_DSN": f"postgresql://{PG}/{database}",
                "BENCH_REDIS_URL": f"redis://{REDIS}/{redis_db}",
                "BENCH_JWKS_URL": f"{host_url}{JWKS_PATH}",
                "BENCH_ISSUER": issuer,
                "BENCH_AUDIENCE": AUDIENCE,
                "BENCH_LEEWAY": str(LEEWAY),
            }
            with _servers.start(
                "users_me_bare",
                bare_port,
                data_dir=work / "data",
                log_dir=work,
                cpu=server_cpu,
                env=bare_env,
                path=_users_me_bare.PATH,
                expect=None,
                headers=auth,
            ) as bare:
                servers = {"bare": bare, "host": host}
                urls = {name: f"{server.base_url}{_users_me_bare.PATH}" for name, server in servers.items()}
                answer = same_answer(urls, token)
                lines_before = host.log_lines()

                warmup = alternate(
                    servers, urls, rounds, args=args, tool=tool, load_cpu=load_cpu, workdir=work, headers=auth
                )
                host_requests = sum(r.load.requests for r in rounds["host"]) + warmup["host"].load.requests
                # The access log is part of what is measured: check that it was really written.
                access_lines = host.log_lines() - lines_before
                if args.keep_log:
                    args.keep_log.write_bytes(host.log_path.read_bytes())

    result = measured(
        "users_me",
        _users_me_bare.PATH,
        args,
        tool=tool,
        cpus=(server_cpu, load_cpu),
        started=started,
        rounds=rounds,
        warmup=warmup,
    )
    hidden = ("WEALIST_PUBLIC_URL", "WEALIST_AUTH__SIGNING_KEY")
    result["config"]["host_env"] = {k: v for k, v in host_env.items() if k not in hidden}
    result["answer"] = answer
    result["goal"] = {"rps_ratio_at_least": 0.5}
    result["host_access_log"] = {"lines": access_lines, "requests": host_requests}
    return result


def report(result: dict[str, Any]) -> None:
    print()
    print(f"{'':6}{'req/s':>10}{'(min-max)':>16}{'p50 ms':>9}{'p99 ms':>9}{'CPU us/req':>12}{'busy':>7}")
    for name in NAMES:
        s = result["summary"][name]
        spread = f"({s['rps_min']:.0f}-{s['rps_max']:.0f})"
        latency = f"{_fmt(s['p50_ms'], '.3f'):>9}{_fmt(s['p99_ms'], '.3f'):>9}"
        cpu = f"{_fmt(s['cpu_us_per_request'], '.1f'):>12}{_fmt(s['server_busy'], '.0%'):>7}"
        print(f"{name:<6}{s['rps']:>10.1f}{spread:>16}{latency}{cpu}")
    ratio = result["ratio_host_over_bare"]
    goal = result["goal"]["rps_ratio_at_least"]
    verdict = "meets" if (ratio["rps"] or 0) >= goal else "misses"
    print(
        f"host/bare: {_fmt(ratio['rps'], '.1%')} of the requests per second ({verdict} the {goal:.0%} goal), "
        f"{_fmt(ratio['capacity'], '.1%')} of the capacity (by server CPU per request); "
        f"latency x{_fmt(ratio['p50'], '.2f')} at p50, x{_fmt(ratio['p99'], '.2f')} at p99"
    )
    log = result["host_access_log"]
    same = "byte for byte" if result["answer"]["same_bytes"] else "as JSON (not byte for byte)"
    print(
        f"answers equal {same}; host access log: {log['lines']} lines for {log['requests']} requests; "
        f"errors: {result['errors']}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--duration", type=float, default=6.0, help="seconds per round (whole seconds for wrk)"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per server")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    parser.add_argument("--keep-log", type=Path, help="copy the host's log there before it is deleted")
    args = parser.parse_args(argv)

    result = run(args)
    report(result)
    if not args.no_save:
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = RESULTS_DIR / f"users_me-{stamp}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written: {path}")
    if result["errors"]:
        print("users_me: some requests failed; the figures above do not measure the route", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
