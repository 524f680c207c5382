"""Chat fan-out: N authenticated sockets in one chat on one process, against bare Starlette broadcasting the
same payload, in the same run.

The host is the whole chat plugin on the embedded defaults (``_chat_apps.py``): every message is sent as a
user does, ``POST /api/chats/{chatId}/messages``, so its latency includes authentication, the membership
check, the per-chat sequence, the row and its outbox event in SQLite, the commit, the publish to the room
and each socket's bounded queue. The floor is Starlette sending the same ``MESSAGE_RECEIVED`` text (the
host's own frame, captured first) to each of its sockets from a route. Both servers are pinned to one CPU;
this script (the sender and every socket of the clients) runs on the other.

For each size (``--clients 100 1000``) and server:

1. N sockets authenticate (AUTH, then SUBSCRIBE on the host) and the presence frames of their arrival settle;
2. **paced**: messages for ``--seconds`` at ``--deliveries`` per second in total (10,000 by default, i.e. 100
   messages a second to 100 sockets, 10 a second to 1,000), each stamped with its send time; the latency of
   a delivery is its arrival at a socket minus that time (send to receipt, persistence included);
3. **flood**: ``--flood`` messages with ``--window`` requests in flight; deliveries per second from the first
   send to the last arrival.

Prints p50/p99 latency, deliveries lost (a message some socket never received), flood deliveries per
second and the host/bare ratio; writes ``bench/results/chat-<time>.json``. Goals: p99 <= 20 ms at 100
clients and <= 100 ms at 1,000, none lost, flood >= 50% of bare.

    .venv/bin/python bench/chat.py [--clients 100 1000] [--seconds 5] [--flood 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from _chat_apps import user_id
from _socket_clients import raise_file_limit
from host_vs_bare import RESULTS_DIR, cpus, free_port, versions
from websockets.asyncio.client import ClientConnection, connect

BENCH_DIR = Path(__file__).resolve().parent
TOKEN = "test:{}"


@dataclass
class Server:
    name: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def serve(app: str, work: Path, cpu: int | None, env: dict[str, str]) -> Iterator[Server]:
    port = free_port()
    data = work / f"data-{app}-{port}"
    data.mkdir()
    full = {k: v for k, v in os.environ.items() if not k.startswith("WEALIST_")}
    full.update(
        PYTHONUNBUFFERED="1",
        WEALIST_ENVIRONMENT="production",
        WEALIST_DATA_DIR=str(data),
        WEALIST_SERVICE_TOKEN="bench-service-token",
        WEALIST_SECRET_KEY="bench-secret-key",
        WEALIST_LOG_FORMAT="json",
        WEALIST_LOG_LEVEL="WARNING",
        **env,
    )
    log = work / f"{app}-{port}.log"
    command = [sys.executable, str(BENCH_DIR / "_chat_apps.py"), app, "--port", str(port)]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=full, stdout=out, stderr=subprocess.STDOUT)
    server = Server(app, f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{app} exited at start:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(server.base + "/health/live", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{app} did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.05)
        yield server
    finally:
        if os.environ.get("BENCH_CHAT_PROFILE") and app == "host":
            process.send_signal(signal.SIGUSR1)
            time.sleep(3)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Clients:
    """The sockets of one server and what each received: message number -> latency in seconds."""

    sockets: list[ClientConnection] = field(default_factory=list)
    got: list[dict[int, float]] = field(default_factory=list)
    other_frames: int = 0
    closed: list[int | None] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    sample: str | None = None  # one MESSAGE_RECEIVED text, for the bare server

    async def read(self, ws: ClientConnection, got: dict[int, float]) -> None:
        try:
            async for text in ws:
                now = time.time()
                frame = json.loads(text)
                if frame.get("type") == "MESSAGE_RECEIVED":
                    stamp = json.loads(frame["message"]["content"])
                    got[stamp["i"]] = now - stamp["t"]
                    if self.sample is None:
                        self.sample = text
                else:
                    self.other_frames += 1
        except Exception:
            pass
        self.closed.append(ws.close_code)

    def delivered(self, numbers: range) -> int:
        return sum(1 for got in self.got for i in numbers if i in got)


async def open_clients(url: str, count: int, subscribe: bool) -> Clients:
    clients = Clients()

    async def one(index: int) -> None:
        ws = await connect(url, compression=None, open_timeout=60, max_size=2**22, ping_interval=None)
        await ws.send(json.dumps({"type": "AUTH", "token": TOKEN.format(user_id(index))}))
        while json.loads(await ws.recv())["type"] != "READY":
            pass
        if subscribe:
            await ws.send(json.dumps({"type": "SUBSCRIBE"}))
            while json.loads(await ws.recv())["type"] != "SUBSCRIBED":
                pass
        got: dict[int, float] = {}
        clients.sockets.append(ws)
        clients.got.append(got)
        clients.tasks.append(asyncio.create_task(clients.read(ws, got)))

    for start in range(1, count + 1, 50):
        await asyncio.gather(*(one(i) for i in range(start, min(start + 50, count + 1))))
    # Let the presence frames of everyone's arrival settle before measuring.
    last = -1
    while last != clients.other_frames:
        last = clients.other_frames
        await asyncio.sleep(1.0)
    return clients


async def close_clients(clients: Clients) -> None:
    for ws in clients.sockets:
        with contextlib.suppress(Exception):
            await ws.close()
    for task in clients.tasks:
        task.cancel()


async def until_delivered(clients: Clients, numbers: range, expected: int, within: float) -> float:
    """Wait for every delivery of ``numbers`` (or ``within`` seconds of silence); the time of the last."""
    deadline = time.monotonic() + within
    seen = -1
    while time.monotonic() < deadline:
        done = clients.delivered(numbers)
        if done >= expected:
            break
        if done != seen:
            seen, deadline = done, time.monotonic() + within
        await asyncio.sleep(0.02)
    return time.time()


async def paced(send: Callable[[int], Awaitable[None]], numbers: range, rate: float) -> None:
    start = time.perf_counter()
    tasks = []
    for k, i in enumerate(numbers):
        delay = start + k / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(i)))
    await asyncio.gather(*tasks)


async def flooded(send: Callable[[int], Awaitable[None]], numbers: range, window: int) -> None:
    gate = asyncio.Semaphore(window)

    async def one(i: int) -> None:
        async with gate:
            await send(i)

    await asyncio.gather(*(one(i) for i in numbers))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def measure(
    name: str,
    server: Server,
    clients: Clients,
    send: Callable[[int], Awaitable[None]],
    n: int,
    args: argparse.Namespace,
    base: int,
) -> dict[str, Any]:
    rate = args.deliveries / n
    count = max(1, int(rate * args.seconds))
    numbers = range(base, base + count)
    cpu0 = server.cpu_seconds()
    await paced(send, numbers, rate)
    await until_delivered(clients, numbers, n * count, within=5.0)
    latencies = [got[i] for got in clients.got for i in numbers if i in got]
    paced_cpu = server.cpu_seconds() - cpu0
    lost = n * count - len(latencies)

    flood = range(base + count, base + count + args.flood)
    cpu1 = server.cpu_seconds()
    t0 = time.time()
    await flooded(send, flood, args.window)
    t1 = await until_delivered(clients, flood, n * args.flood, within=5.0)
    flood_delivered = clients.delivered(flood)
    flood_cpu = server.cpu_seconds() - cpu1
    return {
        "server": name,
        "clients": n,
        "messages": count,
        "rate_messages_per_s": round(rate, 2),
        "p50_ms": round(pct(latencies, 0.50), 2),
        "p99_ms": round(pct(latencies, 0.99), 2),
        "max_ms": round(pct(latencies, 1.0), 2),
        "lost": lost + (n * args.flood - flood_delivered),
        "paced_cpu_us_per_delivery": round(paced_cpu / max(1, len(latencies)) * 1e6, 2),
        "flood_messages": args.flood,
        "flood_deliveries_per_s": round(flood_delivered / max(1e-9, t1 - t0)),
        "flood_cpu_us_per_delivery": round(flood_cpu / max(1, flood_delivered) * 1e6, 2),
        "closed_sockets": [code for code in clients.closed],
    }


async def one_size(
    n: int, work: Path, server_cpu: int | None, args: argparse.Namespace
) -> list[dict[str, Any]]:
    info = work / f"info-{n}.json"
    env = {
        "BENCH_CHAT_USERS": str(n),
        "BENCH_CHAT_INFO": str(info),
        "WEALIST_CHAT__MAX_PARTICIPANTS": str(n + 10),
    }
    results = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    with serve("host", work, server_cpu, env) as host, serve("bare", work, server_cpu, {}) as bare:
        async with httpx.AsyncClient(base_url=host.base, timeout=60, limits=limits) as http:
            sender = {"Authorization": "Bearer " + TOKEN.format(user_id(0))}
            workspace = json.loads(info.read_text())["workspaceId"]
            members = [str(user_id(i)) for i in range(1, n + 1)]
            answer = await http.post(
                "/api/chats",
                json={
                    "workspaceId": workspace,
                    "type": "GROUP",
                    "name": "Everyone",
                    "participantIds": members,
                },
                headers=sender,
            )
            answer.raise_for_status()
            chat_id = answer.json()["chatId"]

            async def send_host(i: int) -> None:
                content = json.dumps({"i": i, "t": time.time()})
                posted = await http.post(
                    f"/api/chats/{chat_id}/messages", json={"content": content}, headers=sender
                )
                posted.raise_for_status()

            clients = await open_clients(host.base.replace("http", "ws") + "/ws/chat", n, subscribe=True)
            await send_host(0)  # warm up, and the frame the bare server will send
            await until_delivered(clients, range(0, 1), n, within=5.0)
            results.append(await measure("host", host, clients, send_host, n, args, base=1))
            sample = clients.sample
            await close_clients(clients)
        assert sample is not None
        template = json.loads(sample)
        async with httpx.AsyncClient(base_url=bare.base, timeout=60, limits=limits) as http:

            async def send_bare(i: int) -> None:
                frame = copy.deepcopy(template)
                frame["seq"] = frame["message"]["seq"] = i
                frame["message"]["content"] = json.dumps({"i": i, "t": time.time()})
                posted = await http.post("/api/bench/send", content=json.dumps(frame, separators=(",", ":")))
                posted.raise_for_status()

            clients = await open_clients(bare.base.replace("http", "ws") + "/ws/chat", n, subscribe=False)
            results.append(await measure("bare", bare, clients, send_bare, n, args, base=1))
            await close_clients(clients)
    return results


def report(rows: list[dict[str, Any]]) -> None:
    print()
    print(
        f"{'server':<7}{'clients':>8}{'msg/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'lost':>6}"
        f"{'flood deliv/s':>15}{'CPU us/deliv':>14}"
    )
    for r in rows:
        print(
            f"{r['server']:<7}{r['clients']:>8}{r['rate_messages_per_s']:>8.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
            f"{r['max_ms']:>9.2f}{r['lost']:>6}{r['flood_deliveries_per_s']:>15}{r['flood_cpu_us_per_delivery']:>14.2f}"
        )
    for n in sorted({r["clients"] for r in rows}):
        host = next(r for r in rows if r["clients"] == n and r["server"] == "host")
        bare = next(r for r in rows if r["clients"] == n and r["server"] == "bare")
        goal = 20 if n <= 100 else 100
        ratio = host["flood_deliveries_per_s"] / max(1, bare["flood_deliveries_per_s"])
        p99_ok = "met" if host["p99_ms"] <= goal else "NOT met"
        flood_ok = "met" if ratio >= 0.5 else "NOT met"
        print(
            f"{n} clients: host p99 {host['p99_ms']:.1f} ms (goal <= {goal}: {p99_ok}), lost {host['lost']}, "
            f"flood {ratio:.0%} of bare (goal >= 50%: {flood_ok})"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--deliveries", type=float, default=10_000, help="deliveries per second, paced")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of paced sending")
    parser.add_argument("--flood", type=int, default=200, help="messages of the flood")
    parser.add_argument("--window", type=int, default=16, help="flood requests in flight")
    parser.add_argument(
        "--database-url", default="", help="the host's database (an empty PostgreSQL one); SQLite by default"
    )
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    server_cpu, client_cpu = cpus()
    if client_cpu is not None:
        os.sched_setaffinity(0, {client_cpu})
    raise_file_limit(2 * max(args.clients) + 500)
    print(
        f"chat fan-out: clients {args.clients}, {args.deliveries:.0f} deliveries/s for {args.seconds} s, "
        f"flood {args.flood} ({args.window} in flight); servers on CPU {server_cpu}, clients on {client_cpu}",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="wealist-bench-chat-") as tmp:
        for n in args.clients:
            rows += asyncio.run(one_size(n, Path(tmp), server_cpu, args))
    report(rows)
    if not args.no_save:
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / f"chat-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}.json"
        path.write_text(
            json.dumps({"when": datetime.now(UTC).isoformat(), "machine": versions(), "rows": rows}, indent=2)
        )
        print(f"written: {path}")
    return 1 if any(r["lost"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
