"""The host-versus-bare benchmark still runs as the host changes: a short run, figures not judged (a loaded
machine makes them meaningless), but its own checks are: both servers start and give the same answer, no
request fails, and the host's access log was written for every request it served."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.processes import REPO_ROOT

pytestmark = pytest.mark.slow


def test_host_vs_bare_serves_every_request_and_logs_each_one() -> None:
    command = [
        sys.executable, str(REPO_ROOT / "bench" / "host_vs_bare.py"),
        "--rounds", "1", "--duration", "1", "--warmup", "0.5", "--loadgen", "python", "--no-save",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "host/bare:" in result.stdout
    logged = re.search(r"host access log: (\d+) lines for (\d+) requests; errors: 0", result.stdout)
    assert logged is not None, result.stdout
    lines, requests = map(int, logged.groups())
    assert requests > 0
    assert lines >= requests
