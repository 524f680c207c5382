"""The socket benchmark still runs as the toolkit changes: a tiny run, figures not judged, but its own checks
are: both servers start, every socket authenticates and receives every broadcast, and none is lost."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.processes import REPO_ROOT

pytestmark = pytest.mark.slow


def test_sockets_bench_delivers_every_broadcast_to_every_socket() -> None:
    command = [
        sys.executable, str(REPO_ROOT / "bench" / "sockets.py"),
        "--sockets", "20", "--rounds", "1", "--broadcasts", "5", "--latency-broadcasts", "2", "--no-save",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "host/bare:" in result.stdout
    assert re.search(r"sockets per server: 20; frames lost: 0$", result.stdout, re.MULTILINE), result.stdout
    rows = {
        line.split()[0]: line.split()
        for line in result.stdout.splitlines()
        if line.startswith(("bare ", "host "))
    }
    assert set(rows) == {"bare", "host"}
    assert all(float(row[1]) > 0 for row in rows.values())  # deliveries per second
