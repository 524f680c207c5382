"""What the Wealist host costs on its cheapest route, against bare Starlette serving the same answer.

Both servers run at once under identical uvicorn options, pinned to one CPU, while the load generator runs
pinned to the other (see ``_servers.py`` and ``_loadgen.py``). After a warm-up, runs alternate between the
two, in alternating order (bare, host, host, bare, ...), so that drift of the machine (another process,
frequency scaling) falls on both alike. The figure of each server is the median of its rounds.

    .venv/bin/python bench/host_vs_bare.py [--rounds 3] [--duration 6] [--concurrency 32] [--loadgen wrk]

Prints requests per second, p50 and p99 latency of each and the ratio host/bare, and writes the whole run
to ``bench/results/host_vs_bare-<time>.json``. Loopback only; about 45 seconds with the defaults.

Requests per second measure the pair of server and load generator: when the bare server is faster than the
generator, or a neighbour takes the generator's CPU, bare's figure drops and the ratio flatters the host.
So each round also reads the server's CPU time (``/proc``): CPU per request, and how busy the server was.
``capacity`` (bare's CPU per request over the host's) is the ratio that holds whatever the generator did.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import random
import socket
import statistics
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

RESULTS_DIR = Path(__file__).resolve().parent / "results"
NAMES = ("bare", "host", "quiet")


def free_port() -> int:
    """A loopback port below 32768 (the ephemeral range starts there) that nothing listens on."""
    for _ in range(200):
        port = random.randint(20000, 32767)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32768 on 127.0.0.1")


def cpus() -> tuple[int | None, int | None]:
    """(server CPU, load generator CPU): two different ones when there are two, else no pinning."""
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        return None, None
    return usable[-1], usable[0]


@dataclass(frozen=True)
class Round:
    """One run of the load generator against one server, and the CPU time the server spent on it."""

    load: _loadgen.LoadResult
    server_cpu_s: float | None

    @property
    def cpu_us_per_request(self) -> float | None:
        if self.server_cpu_s is None or not self.load.requests:
            return None
        return self.server_cpu_s / self.load.requests * 1e6

    @property
    def server_busy(self) -> float | None:
        # Near 1.0 the server's CPU is the limit; well below, the load generator (or a neighbour) is.
        return None if self.server_cpu_s is None else self.server_cpu_s / self.load.seconds

    def as_dict(self) -> dict[str, Any]:
        cpu = self.cpu_us_per_request
        busy = self.server_busy
        return {
            **self.load.as_dict(),
            "server_cpu_s": self.server_cpu_s,
            "cpu_us_per_request": None if cpu is None else round(cpu, 2),
            "server_busy": None if busy is None else round(busy, 3),
        }


def _median(values: Sequence[float | None], digits: int) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), digits) if known else None


def summarise(rounds: Sequence[Round]) -> dict[str, float | None]:
    rps = [r.load.rps for r in rounds]
    return {
        "rps": round(statistics.median(rps), 1),
        "rps_min": round(min(rps), 1),
        "rps_max": round(max(rps), 1),
        "p50_ms": _median([r.load.p50_ms for r in rounds], 3),
        "p99_ms": _median([r.load.p99_ms for r in rounds], 3),
        "cpu_us_per_request": _median([r.cpu_us_per_request for r in rounds], 2),
        "server_busy": _median([r.server_busy for r in rounds], 3),
    }


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("starlette", "uvicorn", "httptools", "uvloop", "pydantic", "prometheus-client", "wealist"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "absent"
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    tool = _loadgen.available() if args.loadgen == "auto" else args.loadgen
    server_cpu, load_cpu = cpus()
    rounds: dict[str, list[Round]] = {name: [] for name in NAMES}
    started = time.monotonic()
    print(
        f"host_vs_bare: {tool}, {args.concurrency} connections, {args.rounds} rounds of {args.duration} s; "
        f"server on CPU {server_cpu}, load generator on CPU {load_cpu}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="wealist-bench-") as tmp:
        work = Path(tmp)
        (work / "data").mkdir()
        with (
            _servers.start("bare", free_port(), data_dir=work / "data", log_dir=work, cpu=server_cpu) as bare,
            _servers.start("host", free_port(), data_dir=work / "data", log_dir=work, cpu=server_cpu) as host,
            _servers.start(
                "host-quiet",
                free_port(),
                data_dir=work / "data",
                log_dir=work,
                cpu=server_cpu,
                env={"WEALIST_ACCESS_LOG": "false"},  # where the gateway keeps the access log instead
            ) as quiet,
        ):
            servers = {"bare": bare, "host": host, "quiet": quiet}

            warmup = alternate(
                servers,
                {name: server.url for name, server in servers.items()},
                rounds,
                args=args,
                tool=tool,
                load_cpu=load_cpu,
                workdir=work,
            )
            host_requests = sum(r.load.requests for r in rounds["host"]) + warmup["host"].load.requests
            # The access log is part of what is measured: check that it was really written.
            access_lines = host.log_lines()

    result = measured(
        "host_vs_bare",
        _servers.PATH,
        args,
        tool=tool,
        cpus=(server_cpu, load_cpu),
        started=started,
        rounds=rounds,
        warmup=warmup,
    )
    result["ratio_quiet_host_over_bare"] = ratios(result["summary"]["bare"], result["summary"]["quiet"])
    result["host_access_log"] = {"lines": access_lines, "requests": host_requests}
    return result


def measured(
    scenario: str,
    path: str,
    args: argparse.Namespace,
    *,
    tool: str,
    cpus: tuple[int | None, int | None],
    started: float,
    rounds: Mapping[str, Sequence[Round]],
    warmup: Mapping[str, Round],
) -> dict[str, Any]:
    """The result document every scenario writes: configuration, machine, rounds, summary, host/bare."""
    summary = {name: summarise(results) for name, results in rounds.items()}
    every = [*rounds.values(), list(warmup.values())]
    return {
        "scenario": scenario,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 1),
        "config": {
            "path": path,
            "loadgen": tool,
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "server_cpu": cpus[0],
            "loadgen_cpu": cpus[1],
            "uvicorn": {k: v for k, v in _servers.uvicorn_options().items() if k != "log_config"},
        },
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), **versions()},
        "rounds": {name: [r.as_dict() for r in results] for name, results in rounds.items()},
        "summary": summary,
        "ratio_host_over_bare": ratios(summary["bare"], summary["host"]),
        "errors": sum(r.load.errors for results in every for r in results),
    }


def alternate(
    servers: Mapping[str, _servers.Server],
    urls: Mapping[str, str],
    rounds: dict[str, list[Round]],
    *,
    args: argparse.Namespace,
    tool: str,
    load_cpu: int | None,
    workdir: Path,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Round]:
    """Warm every server up, then load them in turn for ``args.rounds`` rounds, alternating the order so
    that neither always runs on a warmer machine; each round goes into ``rounds``. Returns the warm-ups."""

    def load(name: str, duration: float) -> Round:
        server = servers[name]
        cpu_before = server.cpu_seconds()
        result = _loadgen.run_load(
            urls[name],
            concurrency=args.concurrency,
            duration=duration,
            tool=tool,
            cpu=load_cpu,
            workdir=workdir,
            headers=headers,
        )
        cpu_after = server.cpu_seconds()
        used = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
        return Round(result, used)

    names = list(servers)
    warmup = {name: load(name, args.warmup) for name in names}
    for i in range(args.rounds):
        for name in names if i % 2 == 0 else names[::-1]:
            result = load(name, args.duration)
            rounds[name].append(result)
            print(f"  round {i + 1} {name:<5}  {_line(result)}", flush=True)
    return warmup


def _line(r: Round) -> str:
    cpu = r.cpu_us_per_request
    busy = r.server_busy
    return (
        f"{r.load.rps:9.1f} req/s   p50 {r.load.p50_ms:7.3f} ms   p99 {r.load.p99_ms:7.3f} ms   "
        + (
            f"{cpu:6.1f} us CPU/req   server busy {busy:4.0%}   "
            if cpu is not None and busy is not None
            else ""
        )
        + f"errors {r.load.errors}"
    )


def ratios(bare: dict[str, float | None], host: dict[str, float | None]) -> dict[str, float | None]:
    """Host over bare. ``capacity`` is bare's CPU per request over the host's: the share of bare's
    requests per second the host would serve with its CPU saturated, whatever the load generator managed."""

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    return {
        "rps": ratio(host["rps"], bare["rps"]),
        "p50": ratio(host["p50_ms"], bare["p50_ms"]),
        "p99": ratio(host["p99_ms"], bare["p99_ms"]),
        "capacity": ratio(bare["cpu_us_per_request"], host["cpu_us_per_request"]),
    }


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def report(result: dict[str, Any]) -> None:
    print()
    print(f"{'':6}{'req/s':>10}{'(min-max)':>16}{'p50 ms':>9}{'p99 ms':>9}{'CPU us/req':>12}{'busy':>7}")
    for name in NAMES:
        s = result["summary"][name]
        spread = f"({s['rps_min']:.0f}-{s['rps_max']:.0f})"
        latency = f"{_fmt(s['p50_ms'], '.3f'):>9}{_fmt(s['p99_ms'], '.3f'):>9}"
        cpu = f"{_fmt(s['cpu_us_per_request'], '.1f'):>12}{_fmt(s['server_busy'], '.0%'):>7}"
        print(f"{name:<6}{s['rps']:>10.1f}{spread:>16}{latency}{cpu}")
    for label, key in (("host/bare", "ratio_host_over_bare"), ("quiet/bare", "ratio_quiet_host_over_bare")):
        ratio = result[key]
        print(
            f"{label}: {_fmt(ratio['rps'], '.1%')} of the requests per second, "
            f"{_fmt(ratio['capacity'], '.1%')} of the capacity (by server CPU per request); "
            f"latency x{_fmt(ratio['p50'], '.2f')} at p50, x{_fmt(ratio['p99'], '.2f')} at p99"
        )
    print("(host: JSON access log on, the default; quiet: WEALIST_ACCESS_LOG=false)")
    log = result["host_access_log"]
    print(f"host access log: {log['lines']} lines for {log['requests']} requests; errors: {result['errors']}")


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
    args = parser.parse_args(argv)

    result = run(args)
    report(result)
    if not args.no_save:
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = RESULTS_DIR / f"host_vs_bare-{stamp}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written: {path}")
    if result["errors"]:
        print(
            "host_vs_bare: some requests failed; the figures above do not measure the route", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
