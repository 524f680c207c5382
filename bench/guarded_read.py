"""A guarded read in the split shape, with the contract cache off and on.

Three processes, as ``wealist serve`` builds them, on PostgreSQL and Redis (a fresh database and a claimed
Redis database, as in ``users_me.py``): the user and auth plugins in one (the provider of
``user.Directory``), and the consumer plugin of ``_guarded_plugin.py`` in two others, identical but for
``WEALIST_CONTRACT_CACHE_SECONDS`` (``0``: "off"; ``5``: "on"). A user signs up and creates a workspace;
every request is ``GET /api/guarded/<workspace>`` with the user's access token: the consumer verifies the
token, and its ``MemberOf`` guard asks ``Directory.membership``, over HTTP when the answer is not cached.

    .venv/bin/python bench/guarded_read.py [--rounds 3] [--duration 6] [--concurrency 32] [--loadgen wrk]

The Wealist processes share one CPU, the load generator has the other; rounds alternate between the two
consumers as in ``host_vs_bare.py``. Printed per consumer: requests per second, p50 and p99 latency, and
CPU per request in the consumer and in the provider (whose share is what the cache saves). The run is
written to ``bench/results/guarded_read-<time>.json``. Loopback only; about a minute.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _loadgen
import _servers
from host_vs_bare import RESULTS_DIR, _fmt, _median, cpus, free_port, versions
from users_me import PG, REDIS, claimed_redis_database, ed25519_pem, fresh_database, http, sign_up

NAMES = ("off", "on")
CACHE_SECONDS = {"off": "0", "on": "5"}


@dataclass(frozen=True)
class Round:
    """One load run against one consumer, and the CPU time it cost the consumer and the provider."""

    load: _loadgen.LoadResult
    consumer_cpu_s: float | None
    provider_cpu_s: float | None

    def per_request(self, seconds: float | None) -> float | None:
        return None if seconds is None or not self.load.requests else seconds / self.load.requests * 1e6

    def as_dict(self) -> dict[str, Any]:
        consumer, provider = self.per_request(self.consumer_cpu_s), self.per_request(self.provider_cpu_s)
        return {
            **self.load.as_dict(),
            "consumer_cpu_us_per_request": None if consumer is None else round(consumer, 2),
            "provider_cpu_us_per_request": None if provider is None else round(provider, 2),
        }


def summarise(rounds: Sequence[Round]) -> dict[str, float | None]:
    consumer = [r.per_request(r.consumer_cpu_s) for r in rounds]
    provider = [r.per_request(r.provider_cpu_s) for r in rounds]
    total = [None if c is None or p is None else c + p for c, p in zip(consumer, provider, strict=True)]
    return {
        "rps": _median([r.load.rps for r in rounds], 1),
        "rps_min": round(min(r.load.rps for r in rounds), 1),
        "rps_max": round(max(r.load.rps for r in rounds), 1),
        "p50_ms": _median([r.load.p50_ms for r in rounds], 3),
        "p99_ms": _median([r.load.p99_ms for r in rounds], 3),
        "consumer_cpu_us_per_request": _median(consumer, 1),
        "provider_cpu_us_per_request": _median(provider, 1),
        "total_cpu_us_per_request": _median(total, 1),
    }


def cpu_delta(server: _servers.Server, before: float | None) -> float | None:
    after = server.cpu_seconds()
    return None if before is None or after is None else after - before


def run(args: argparse.Namespace) -> dict[str, Any]:
    tool = _loadgen.available() if args.loadgen == "auto" else args.loadgen
    server_cpu, load_cpu = cpus()
    rounds: dict[str, list[Round]] = {name: [] for name in NAMES}
    started = time.monotonic()
    print(
        f"guarded_read: {tool}, {args.concurrency} connections, {args.rounds} rounds of {args.duration} s; "
        f"Wealist processes on CPU {server_cpu}, load generator on CPU {load_cpu}",
        flush=True,
    )
    with (
        tempfile.TemporaryDirectory(prefix="wealist-bench-") as tmp,
        fresh_database() as database,
        claimed_redis_database() as redis_db,
    ):
        work = Path(tmp)
        (work / "data").mkdir()
        user_port = free_port()
        user_url = f"http://127.0.0.1:{user_port}"
        signing_key = work / "auth-signing-key.pem"
        signing_key.write_bytes(ed25519_pem())
        redis = f"redis://{REDIS}/{redis_db}"
        shared = {
            "WEALIST_DATABASE_URL": f"postgresql+asyncpg://{PG}/{database}",
            "WEALIST_KEYVALUE_URL": redis,
            "WEALIST_PUBSUB_URL": redis,
            "WEALIST_EVENTBUS_URL": redis,
            "WEALIST_PUBLIC_URL": user_url,  # the auth plugin's issuer, the same in every process
            "WEALIST_PEERS__USER": user_url,
            "WEALIST_PEERS__AUTH": user_url,
        }
        provider_env = {
            **shared,
            "WEALIST_PLUGINS": "user,auth",
            "WEALIST_AUTO_MIGRATE": "true",
            "WEALIST_AUTH__SIGNING_KEY": str(signing_key),
        }
        with _servers.start(
            "wealist",
            user_port,
            data_dir=work / "data",
            log_dir=work,
            cpu=server_cpu,
            env=provider_env,
            path="/api/auth/.well-known/jwks.json",
            expect=None,
            timeout=60.0,
        ) as provider:
            token = sign_up(provider.base_url)
            auth = {"Authorization": f"Bearer {token}"}
            status, body = http(f"{user_url}/api/workspaces", body={"name": "Bench"}, token=token)
            if status != 201:
                raise RuntimeError(f"creating the workspace answered {status}: {body!r}")
            path = f"/api/guarded/{json.loads(body)['workspaceId']}"
            consumers: dict[str, _servers.Server] = {}
            with contextlib.ExitStack() as stack:
                for name in NAMES:
                    (work / name).mkdir()  # both run the "wealist" application: one log folder each
                    env = {
                        **shared,
                        "WEALIST_PLUGINS": "guarded",
                        "WEALIST_PLUGIN_MODULES": "_guarded_plugin:GuardedPlugin",
                        "WEALIST_CONTRACT_CACHE_SECONDS": CACHE_SECONDS[name],
                    }
                    consumers[name] = stack.enter_context(
                        _servers.start(
                            "wealist",
                            free_port(),
                            data_dir=work / "data",
                            log_dir=work / name,
                            cpu=server_cpu,
                            env=env,
                            path=path,
                            expect=None,
                            headers=auth,
                        )
                    )
                answers = {name: http(f"{c.base_url}{path}", token=token) for name, c in consumers.items()}
                for name, (status, body) in answers.items():
                    if status != 200:
                        raise RuntimeError(f"the {name} consumer answered {status}: {body!r}")
                answer = json.loads(answers["on"][1])

                def load(name: str, duration: float) -> Round:
                    consumer_before, provider_before = consumers[name].cpu_seconds(), provider.cpu_seconds()
                    result = _loadgen.run_load(
                        f"{consumers[name].base_url}{path}",
                        concurrency=args.concurrency,
                        duration=duration,
                        tool=tool,
                        cpu=load_cpu,
                        workdir=work,
                        headers=auth,
                    )
                    return Round(
                        result,
                        cpu_delta(consumers[name], consumer_before),
                        cpu_delta(provider, provider_before),
                    )

                warmup = {name: load(name, args.warmup) for name in NAMES}
                for i in range(args.rounds):
                    for name in NAMES if i % 2 == 0 else NAMES[::-1]:
                        result = load(name, args.duration)
                        rounds[name].append(result)
                        print(f"  round {i + 1} cache {name:<3}  {_line(result)}", flush=True)

    summary = {name: summarise(results) for name, results in rounds.items()}
    every = [*rounds.values(), list(warmup.values())]
    off, on = summary["off"], summary["on"]
    return {
        "scenario": "guarded_read",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 1),
        "config": {
            "path": "/api/guarded/{workspaceId}",
            "loadgen": tool,
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "server_cpu": server_cpu,
            "loadgen_cpu": load_cpu,
            "cache_seconds": CACHE_SECONDS,
            "uvicorn": {k: v for k, v in _servers.uvicorn_options().items() if k != "log_config"},
        },
        "machine": {"platform": sys.platform, **versions()},
        "answer": answer,
        "rounds": {name: [r.as_dict() for r in results] for name, results in rounds.items()},
        "warmup": {name: r.as_dict() for name, r in warmup.items()},
        "summary": summary,
        "ratio_on_over_off": {
            "rps": _ratio(on["rps"], off["rps"]),
            "total_cpu": _ratio(on["total_cpu_us_per_request"], off["total_cpu_us_per_request"]),
        },
        "errors": sum(r.load.errors for results in every for r in results),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _line(r: Round) -> str:
    consumer, provider = r.per_request(r.consumer_cpu_s), r.per_request(r.provider_cpu_s)
    return (
        f"{r.load.rps:9.1f} req/s   p50 {r.load.p50_ms:7.3f} ms   p99 {r.load.p99_ms:7.3f} ms   "
        f"CPU/req consumer {_fmt(consumer, '6.1f')} us + provider {_fmt(provider, '6.1f')} us   "
        f"errors {r.load.errors}"
    )


def report(result: Mapping[str, Any]) -> None:
    print()
    header = f"{'cache':<6}{'req/s':>10}{'(min-max)':>16}{'p50 ms':>9}{'p99 ms':>9}"
    print(f"{header}{'consumer us':>13}{'provider us':>13}{'total us':>10}")
    for name in NAMES:
        s = result["summary"][name]
        spread = f"({s['rps_min']:.0f}-{s['rps_max']:.0f})"
        print(
            f"{name:<6}{s['rps']:>10.1f}{spread:>16}"
            f"{_fmt(s['p50_ms'], '.3f'):>9}{_fmt(s['p99_ms'], '.3f'):>9}"
            f"{_fmt(s['consumer_cpu_us_per_request'], '.1f'):>13}"
            f"{_fmt(s['provider_cpu_us_per_request'], '.1f'):>13}"
            f"{_fmt(s['total_cpu_us_per_request'], '.1f'):>10}"
        )
    ratio = result["ratio_on_over_off"]
    print(
        f"cache on/off: x{_fmt(ratio['rps'], '.2f')} requests per second, "
        f"x{_fmt(ratio['total_cpu'], '.2f')} CPU per request (consumer and provider); "
        f"errors: {result['errors']}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--duration", type=float, default=6.0, help="seconds per round (whole seconds for wrk)"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per consumer")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)

    result = run(args)
    report(result)
    if not args.no_save:
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = RESULTS_DIR / f"guarded_read-{stamp}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written: {path}")
    if result["errors"]:
        print(
            "guarded_read: some requests failed; the figures above do not measure the route", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
