"""The client side of the socket benchmark: many sockets on each server, broadcasts asked for over HTTP, every
delivery timed. Run by ``sockets.py`` in a process of its own, pinned to the CPU the servers do not use.

    python bench/_socket_clients.py --server NAME WS_URL HTTP_URL PID [--server ...] --sockets 1000
        [--rounds 3] [--broadcasts 100] [--window 8] [--latency-broadcasts 30] [--pad 200] [--auth NAME ...]

Each server gets ``--sockets`` sockets, all open at once (AUTH sent, READY awaited). A broadcast is a
``POST`` whose body the server sends to every socket as a ``TICK`` frame; it is done when every socket has
it. A round, on one server, sends ``--broadcasts`` broadcasts at most ``--window`` at a time (throughput),
then ``--latency-broadcasts`` one at a time (latency). Rounds alternate between the servers (a, b, b, a, ...).
A delivery's latency runs from the moment the client sends the ``POST`` to the moment a socket has the
frame, so one at a time its p99 is about the time the whole fan-out takes.

Prints one JSON document: every round with deliveries, seconds, deliveries per second, p50 and p99 latency,
frames lost and the server's CPU time over the round (``/proc``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import importlib.util
import json
import os
import resource
import sys
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

OPEN_AT_ONCE = 50  # handshakes in flight while the sockets open
BROADCAST_TIMEOUT = 30.0  # seconds a broadcast may take to reach every socket before it counts as lost


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Swarm:
    """The sockets on one server, and what they received."""

    name: str
    ws_url: str
    http_url: str
    pid: int
    auth: bool
    sockets: list[ClientConnection] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    counts: collections.Counter[int] = field(default_factory=collections.Counter)
    complete: dict[int, asyncio.Future[None]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)

    async def open(self, count: int) -> None:
        gate = asyncio.Semaphore(OPEN_AT_ONCE)

        async def one() -> ClientConnection:
            async with gate:
                # No permessage-deflate: zlib on every frame for every socket would be what is measured.
                ws = await connect(self.ws_url, compression=None, open_timeout=30, max_queue=None)
                token = f"test:{uuid.uuid4()}" if self.auth else "bare"
                await ws.send(json.dumps({"type": "AUTH", "token": token}))
                ready = json.loads(await ws.recv())
                if ready.get("type") != "READY":
                    raise RuntimeError(f"{self.name} answered AUTH with {ready}")
                return ws

        self.sockets = list(await asyncio.gather(*(one() for _ in range(count))))
        self.readers = [asyncio.create_task(self._read(ws)) for ws in self.sockets]

    async def _read(self, ws: ClientConnection) -> None:
        clock, loads, latencies, counts = time.perf_counter, json.loads, self.latencies, self.counts
        expected = len(self.sockets)
        async for message in ws:
            arrived = clock()
            frame = loads(message)
            seq = frame["seq"]
            latencies.append(arrived - frame["sentAt"])
            counts[seq] += 1
            if counts[seq] == expected:
                done = self.complete.get(seq)
                if done is not None and not done.done():
                    done.set_result(None)

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


async def run_round(
    swarm: Swarm, http: httpx.AsyncClient, first_seq: int, broadcasts: int, window: int, pad: str
) -> dict[str, Any]:
    swarm.latencies.clear()
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(window)
    lost = 0

    async def broadcast(seq: int) -> None:
        nonlocal lost
        done = swarm.complete[seq] = loop.create_future()
        body = json.dumps({"seq": seq, "sentAt": time.perf_counter(), "pad": pad}, separators=(",", ":"))
        answer = await http.post(swarm.http_url, content=body, headers={"content-type": "application/json"})
        if answer.status_code >= 300:
            raise RuntimeError(
                f"{swarm.name} answered the broadcast with {answer.status_code}: {answer.text}"
            )
        try:
            await asyncio.wait_for(done, BROADCAST_TIMEOUT)
        except TimeoutError:
            lost += len(swarm.sockets) - swarm.counts[seq]
        finally:
            gate.release()
            del swarm.complete[seq]

    cpu_before = cpu_seconds(swarm.pid)
    started = time.perf_counter()
    tasks = []
    for seq in range(first_seq, first_seq + broadcasts):
        await gate.acquire()
        tasks.append(asyncio.create_task(broadcast(seq)))
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - started
    cpu_after = cpu_seconds(swarm.pid)
    latencies = sorted(swarm.latencies)

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else 0.0

    deliveries = len(latencies)
    return {
        "server": swarm.name,
        "sockets": len(swarm.sockets),
        "broadcasts": broadcasts,
        "deliveries": deliveries,
        "lost": lost,
        "seconds": round(seconds, 3),
        "deliveries_per_s": round(deliveries / seconds, 1) if seconds else 0.0,
        "p50_ms": round(percentile(50), 3),
        "p99_ms": round(percentile(99), 3),
        "server_cpu_s": None if cpu_before is None or cpu_after is None else round(cpu_after - cpu_before, 3),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    swarms = [
        Swarm(name, ws_url, http_url, int(pid), auth=name in args.auth)
        for name, ws_url, http_url, pid in args.server
    ]
    opened = time.perf_counter()
    for swarm in swarms:
        await swarm.open(args.sockets)
    open_seconds = time.perf_counter() - opened
    pad = "x" * args.pad
    rounds: list[dict[str, Any]] = []
    seq = 0
    async with httpx.AsyncClient(timeout=BROADCAST_TIMEOUT) as http:
        for swarm in swarms:  # warm-up, not counted
            await run_round(swarm, http, seq, max(1, args.broadcasts // 5), args.window, pad)
            seq += args.broadcasts
        for number in range(args.rounds):
            for swarm in swarms if number % 2 == 0 else swarms[::-1]:
                # Throughput with broadcasts in flight, then latency with one at a time (so that a frame's
                # latency is the fan-out's, not the time it queued behind the broadcasts before it).
                for kind, count, window in (
                    ("throughput", args.broadcasts, args.window),
                    ("latency", args.latency_broadcasts, 1),
                ):
                    result = await run_round(swarm, http, seq, count, window, pad)
                    seq += count
                    result.update(round=number + 1, kind=kind, window=window)
                    rounds.append(result)
                    print(json.dumps(result), file=sys.stderr, flush=True)  # progress; stdout is the result
    for swarm in swarms:
        await swarm.close()
    return {"open_seconds": round(open_seconds, 2), "rounds": rounds}


def raise_file_limit(needed: int) -> int:
    """The soft limit on open files, raised towards ``needed`` as far as the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--server", nargs=4, action="append", required=True, metavar=("NAME", "WS", "HTTP", "PID")
    )
    parser.add_argument("--auth", nargs="*", default=[], help="servers whose sockets send a test token")
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--broadcasts", type=int, default=100)
    parser.add_argument("--window", type=int, default=8, help="broadcasts in flight at once")
    parser.add_argument(
        "--latency-broadcasts", type=int, default=30, help="broadcasts one at a time per round"
    )
    parser.add_argument("--pad", type=int, default=200, help="bytes of padding in each frame")
    args = parser.parse_args()
    limit = raise_file_limit(args.sockets * len(args.server) + 100)
    if limit < args.sockets * len(args.server) + 100:
        parser.error(f"{args.sockets} sockets per server need more open files than the limit ({limit})")
    run: Callable[[Coroutine[Any, Any, dict[str, Any]]], dict[str, Any]] = asyncio.run
    if importlib.util.find_spec("uvloop"):
        import uvloop

        run = uvloop.run
    print(json.dumps(run(main_async(args))))


if __name__ == "__main__":
    main()
