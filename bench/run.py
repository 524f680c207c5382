"""Run every benchmark scenario in bench/ (``make bench``) and print their figures.

A scenario is a script ``bench/<name>.py`` (not starting with ``_``) that starts what it needs, prints its
figures and exits 0; each runs in a process of its own, one after the other, so none loads the machine while
another measures. ``run.py NAME ...`` runs only those.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
TIMEOUT_S = 300  # a scenario stuck for longer is broken, not slow


def scenarios() -> dict[str, Path]:
    return {
        path.stem: path
        for path in sorted(BENCH_DIR.glob("*.py"))
        if not path.name.startswith("_") and path.name != Path(__file__).name
    }


def main(argv: Sequence[str] | None = None) -> int:
    found = scenarios()
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"scenarios to run (default: all of {sorted(found)})"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(found))
    if unknown:
        parser.error(f"no scenario named {', '.join(unknown)}; known: {', '.join(sorted(found))}")

    outcomes: list[tuple[str, int, float]] = []
    for name in args.names or list(found):
        print(f"=== {name}", flush=True)
        started = time.monotonic()
        try:
            code = subprocess.run([sys.executable, str(found[name])], timeout=TIMEOUT_S).returncode
        except subprocess.TimeoutExpired:
            print(f"{name}: still running after {TIMEOUT_S} s, stopped", file=sys.stderr)
            code = -1
        outcomes.append((name, code, time.monotonic() - started))
        print(flush=True)

    print("=== summary")
    for name, code, seconds in outcomes:
        print(f"  {name:<24} {'ok' if code == 0 else f'FAILED ({code})':<12} {seconds:6.1f} s")
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
