"""Load generators: ``wrk`` when it is installed, else a keep-alive HTTP/1.1 client of our own.

Either runs in a process of its own, pinned to a CPU the server does not use (on a 2-core machine the client
must not steal the server's core), holds ``concurrency`` keep-alive connections, each sending its next request
when the previous answer has arrived, for ``duration`` seconds, and reports requests per second and the 50th
and 99th percentile latencies. ``python bench/_loadgen.py URL ...`` is the fallback client itself.

The fallback is slower than wrk (Python parses every answer): near its own ceiling it measures itself, so a
result says which generator produced it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["LoadResult", "available", "run_load"]


@dataclass(frozen=True)
class LoadResult:
    """One run of a load generator against one URL."""

    tool: str
    requests: int
    errors: int  # socket errors and answers other than 200
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, float | int | str]:
        return {**asdict(self), "rps": round(self.rps, 1)}


def available() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def _pin(cpu: int | None) -> Callable[[], None] | None:
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def run_load(
    url: str,
    *,
    concurrency: int,
    duration: float,
    tool: str,
    cpu: int | None,
    workdir: Path,
    headers: Mapping[str, str] | None = None,
) -> LoadResult:
    """Load ``url`` for ``duration`` seconds with ``tool`` (``wrk`` or ``python``), sending ``headers``
    (e.g. ``Authorization``) with every request."""
    headers = dict(headers or {})
    if tool == "wrk":
        return _wrk(
            url, concurrency=concurrency, duration=duration, cpu=cpu, workdir=workdir, headers=headers
        )
    command = [sys.executable, __file__, url, "--concurrency", str(concurrency), "--duration", str(duration)]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    out = _check_output(command, cpu=cpu, timeout=duration + 30)
    return LoadResult(**json.loads(out))


def _check_output(command: list[str], *, cpu: int | None, timeout: float) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, preexec_fn=_pin(cpu))
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} exited with {result.returncode}: {result.stderr or result.stdout}")
    return result.stdout


# ---------------------------------------------------------------------------------------------------- wrk

# wrk's own report is rounded for reading; this prints the exact figures, in microseconds, as one JSON line.
_WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _wrk(
    url: str, *, concurrency: int, duration: float, cpu: int | None, workdir: Path, headers: dict[str, str]
) -> LoadResult:
    script = workdir / "report.lua"
    script.write_text(_WRK_REPORT)
    seconds = max(1, round(duration))
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    out = _check_output(command, cpu=cpu, timeout=seconds + 30)
    report = json.loads(out.strip().splitlines()[-1])
    return LoadResult(
        tool="wrk",
        requests=report["requests"],
        errors=report["errors"],
        seconds=report["duration_us"] / 1e6,
        p50_ms=report["p50_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
    )


# ------------------------------------------------------------------------------------ the Python fallback


async def _connection(
    host: str, port: int, request: bytes, deadline: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    clock = time.perf_counter
    try:
        while clock() < deadline:
            started = clock()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            await reader.readexactly(length)
            latencies.append(clock() - started)
            if head[9:12] != b"200":
                errors[0] += 1
    finally:
        writer.close()
        await writer.wait_closed()


async def _load(url: str, concurrency: int, duration: float, headers: Sequence[str] = ()) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    extra = "".join(f"{line}\r\n" for line in headers)
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: wealist-bench\r\n{extra}\r\n".encode()
    )
    latencies: list[float] = []
    errors = [0]
    started = time.perf_counter()
    deadline = started + duration
    outcomes = await asyncio.gather(
        *(_connection(host, port, request, deadline, latencies, errors) for _ in range(concurrency)),
        return_exceptions=True,
    )
    seconds = time.perf_counter() - started
    errors[0] += sum(1 for outcome in outcomes if isinstance(outcome, BaseException))
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else 0.0

    return LoadResult("python", len(latencies), errors[0], seconds, percentile(50), percentile(99))


def main() -> None:
    parser = argparse.ArgumentParser(description="A keep-alive HTTP/1.1 load generator (wrk's fallback).")
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument(
        "--header", action="append", default=[], metavar="'NAME: VALUE'", help="sent with every request"
    )
    args = parser.parse_args()
    run: Callable[..., LoadResult] = asyncio.run
    if importlib.util.find_spec("uvloop"):
        import uvloop

        run = uvloop.run
    result = run(_load(args.url, args.concurrency, args.duration, args.header))
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
