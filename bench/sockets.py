"""A broadcast to 1,000 open sockets on the real-time toolkit, against bare Starlette sending the same frame.

The host is the Wealist host with a plugin on ``wealist_core.realtime``: every socket authenticates its first
frame and follows one topic; a broadcast is published to the topic through the hub (``memory://`` pub/sub,
one process) and reaches each socket through its bounded queue. The floor is Starlette alone, keeping its
sockets in a set and sending the frame to each in turn (see ``_socket_apps.py``). Both run under the same
uvicorn options, pinned to one CPU; the clients run in one process pinned to the other CPU and hold all
the sockets of both servers open at once, while rounds alternate between the two (see ``_socket_clients.py``).

    .venv/bin/python bench/sockets.py [--sockets 1000] [--rounds 3] [--broadcasts 100] [--window 8]

Prints deliveries per second (broadcasts ``--window`` at a time), p50 and p99 delivery latency (from the
client's broadcast request to the frame's arrival at a socket, one broadcast at a time, so p99 is about the
time the whole fan-out takes; and p99 with the window in flight) and server CPU per delivery of each, and
the host/bare ratios; writes the run to ``bench/results/sockets-<time>.json``. Loopback only;
about 40 seconds with the defaults. Needs two open files per socket and server (it raises its own limit
as far as the hard limit allows).

As in ``host_vs_bare.py``, deliveries per second measure the pair of server and clients (one Python process
reading 1,000 sockets can be the limit); CPU per delivery counts the server alone, whatever the clients did.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _servers
from _socket_clients import raise_file_limit
from host_vs_bare import RESULTS_DIR, _fmt, cpus, free_port, versions

NAMES = ("bare", "host")
APPS = {"bare": "sockets_bare", "host": "sockets_host"}
BENCH_DIR = Path(__file__).resolve().parent


def summarise(rounds: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """Medians over the rounds: throughput and CPU from the rounds with broadcasts in flight, latency from
    those one at a time (and, for reference, under load)."""
    loaded = [r for r in rounds if r["kind"] == "throughput"]
    single = [r for r in rounds if r["kind"] == "latency"]

    def median(of: Sequence[dict[str, Any]], key: str) -> float:
        return round(statistics.median(r[key] for r in of), 3)

    cpu = [r["server_cpu_s"] / r["deliveries"] * 1e6 for r in loaded if r["server_cpu_s"] and r["deliveries"]]
    return {
        "deliveries_per_s": median(loaded, "deliveries_per_s"),
        "p50_ms": median(single, "p50_ms"),
        "p99_ms": median(single, "p99_ms"),
        "p99_loaded_ms": median(loaded, "p99_ms"),
        "cpu_us_per_delivery": round(statistics.median(cpu), 2) if cpu else None,
        "lost": sum(r["lost"] for r in rounds),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    server_cpu, client_cpu = cpus()
    started = time.monotonic()
    # The servers inherit the limit: each holds one descriptor per socket, the clients one per socket each.
    raise_file_limit(2 * args.sockets + 200)
    print(
        f"sockets: {args.sockets} sockets per server, {args.rounds} rounds of {args.broadcasts} broadcasts "
        f"({args.window} in flight); servers on CPU {server_cpu}, clients on CPU {client_cpu}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="wealist-bench-") as tmp:
        work = Path(tmp)
        (work / "data").mkdir()
        common: dict[str, Any] = {
            "data_dir": work / "data",
            "log_dir": work,
            "cpu": server_cpu,
            "path": "/health/live",
            "expect": None,
        }
        with (
            _servers.start(APPS["bare"], free_port(), **common) as bare,
            _servers.start(APPS["host"], free_port(), **common) as host,
        ):
            servers = {"bare": bare, "host": host}
            command = [sys.executable, str(BENCH_DIR / "_socket_clients.py")]
            for name, server in servers.items():
                ws = server.base_url.replace("http://", "ws://") + "/ws/bench"
                command += [
                    "--server",
                    name,
                    ws,
                    server.base_url + "/api/bench/broadcast",
                    str(server.process.pid),
                ]
            command += ["--auth", "host", "--sockets", str(args.sockets), "--rounds", str(args.rounds)]
            command += [
                "--broadcasts",
                str(args.broadcasts),
                "--window",
                str(args.window),
                "--pad",
                str(args.pad),
            ]
            pin = None if client_cpu is None else (lambda: os.sched_setaffinity(0, {client_cpu}))
            done = subprocess.run(
                command, stdout=subprocess.PIPE, text=True, timeout=args.timeout, preexec_fn=pin, check=False
            )
            if done.returncode != 0:
                logs = "\n".join(f"--- {s.name}\n{s.log_path.read_text()[-3000:]}" for s in servers.values())
                raise RuntimeError(f"the clients exited with {done.returncode}\n{logs}")
            measured = json.loads(done.stdout)

    by_server = {name: [r for r in measured["rounds"] if r["server"] == name] for name in NAMES}
    summary = {name: summarise(rounds) for name, rounds in by_server.items()}

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    bare_s, host_s = summary["bare"], summary["host"]
    return {
        "scenario": "sockets",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 1),
        "config": {
            "sockets": args.sockets,
            "rounds": args.rounds,
            "broadcasts": args.broadcasts,
            "window": args.window,
            "latency_broadcasts": args.latency_broadcasts,
            "pad_bytes": args.pad,
            "server_cpu": server_cpu,
            "client_cpu": client_cpu,
            "uvicorn": {k: v for k, v in _servers.uvicorn_options().items() if k != "log_config"},
            "open_seconds": measured["open_seconds"],
        },
        "machine": {"cpus": os.cpu_count(), **versions()},
        "rounds": by_server,
        "summary": summary,
        "ratio_host_over_bare": {
            "deliveries_per_s": ratio(host_s["deliveries_per_s"], bare_s["deliveries_per_s"]),
            "p99": ratio(host_s["p99_ms"], bare_s["p99_ms"]),
            "capacity": ratio(bare_s["cpu_us_per_delivery"], host_s["cpu_us_per_delivery"]),
        },
        "lost": bare_s["lost"] + host_s["lost"],
    }


def report(result: dict[str, Any]) -> None:
    print()
    heads = ("deliveries/s", 14), ("p50 ms", 9), ("p99 ms", 9), ("p99 loaded", 12), ("CPU us/delivery", 17)
    print(" " * 6 + "".join(f"{head:>{width}}" for head, width in heads) + f"{'lost':>6}")
    for name in NAMES:
        s = result["summary"][name]
        print(
            f"{name:<6}{s['deliveries_per_s']:>14.0f}{s['p50_ms']:>9.2f}{s['p99_ms']:>9.2f}"
            f"{s['p99_loaded_ms']:>12.2f}{_fmt(s['cpu_us_per_delivery'], '.2f'):>17}{s['lost']:>6}"
        )
    window = result["config"]["window"]
    print(f"(latency: one broadcast at a time; p99 loaded: with {window} in flight, as for deliveries/s)")
    ratio = result["ratio_host_over_bare"]
    print(
        f"host/bare: {_fmt(ratio['deliveries_per_s'], '.1%')} of the deliveries per second, "
        f"{_fmt(ratio['capacity'], '.1%')} of the capacity (by server CPU per delivery); "
        f"p99 latency x{_fmt(ratio['p99'], '.2f')}"
    )
    print(f"sockets per server: {result['config']['sockets']}; frames lost: {result['lost']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sockets", type=int, default=1000, help="sockets per server")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--broadcasts", type=int, default=100, help="broadcasts per round")
    parser.add_argument("--window", type=int, default=8, help="broadcasts in flight at once")
    parser.add_argument(
        "--latency-broadcasts", type=int, default=30, help="broadcasts one at a time per round"
    )
    parser.add_argument("--pad", type=int, default=200, help="bytes of padding in each frame")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds the whole run may take")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)

    result = run(args)
    report(result)
    if not args.no_save:
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = RESULTS_DIR / f"sockets-{stamp}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written: {path}")
    if result["lost"]:
        print(
            "sockets: some frames never arrived; the figures above do not measure the broadcast",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
