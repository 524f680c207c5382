"""Each misconfiguration stops ``wealist serve`` before it listens: one sentence on stderr, exit status 2.

The real command line runs in a subprocess, as an operator would run it. The sentence names the plugin or
setting at fault and says what to do; there is no traceback and nothing else on stderr.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.processes import REPO_ROOT, WEALIST, free_port, wealist_env

GREETER = "tests.plugins.greeter:GreeterPlugin"
CONSUMER = "tests.plugins.consumer:ConsumerPlugin"
EVERYTHING = "tests.plugins.everything:EverythingPlugin"
THIEF = "tests.plugins.misfits:PrefixThiefPlugin"
RIVAL = "tests.plugins.misfits:RivalAdapterPlugin"
STOWAWAY = "tests.plugins.stowaway:StowawayPlugin"


@dataclass(frozen=True)
class Case:
    env: dict[str, str]
    expected: tuple[str, ...]  # fragments the one sentence must contain


CASES: dict[str, Case] = {
    "duplicate route prefix": Case(
        {"WEALIST_PLUGIN_MODULES": f"{GREETER},{THIEF}"},
        ("'greeter'", "'thief'", "/api/greeter", "rename one of them"),
    ),
    "two adapters for one scheme": Case(
        {"WEALIST_PLUGIN_MODULES": f"{GREETER},{RIVAL}"},
        ("keyvalue", "'memory://'", "MemoryKeyValue", "RivalKeyValue", "plugin rival", "uninstall one"),
    ),
    "contract nobody provides": Case(
        {"WEALIST_PLUGIN_MODULES": CONSUMER},
        ("Plugin 'consumer'", "greeter.Greeter", "install the plugin", "WEALIST_PEERS__GREETER"),
    ),
    "contract provider not selected": Case(
        {"WEALIST_PLUGIN_MODULES": f"{GREETER},{CONSUMER}", "WEALIST_PLUGINS": "consumer"},
        (
            "Plugin 'consumer'",
            "greeter.Greeter",
            "add 'greeter' to WEALIST_PLUGINS",
            "WEALIST_PEERS__GREETER",
        ),
    ),
    "contract used but not in the manifest's needs": Case(
        {"WEALIST_PLUGIN_MODULES": f"{GREETER},{STOWAWAY}"},
        ("Plugin 'stowaway'", "greeter.Greeter", "'needs'", "add 'greeter.Greeter' to the manifest"),
    ),
    "unknown URL scheme": Case(
        {"WEALIST_PLUGIN_MODULES": EVERYTHING, "WEALIST_DATABASE_URL": "mysql://root@127.0.0.1/wealist"},
        ("Plugin 'everything'", "WEALIST_DATABASE_URL", "'mysql://'", "'postgresql+asyncpg://'"),
    ),
    "unknown URL scheme for one plugin": Case(
        {"WEALIST_PLUGIN_MODULES": EVERYTHING, "WEALIST_EVERYTHING__KEYVALUE_URL": "memcached://127.0.0.1"},
        ("Plugin 'everything'", "WEALIST_EVERYTHING__KEYVALUE_URL", "'memcached://'", "'memory://'"),
    ),
    "database cannot be reached": Case(
        {
            "WEALIST_PLUGIN_MODULES": EVERYTHING,
            "WEALIST_DATABASE_URL": "postgresql+asyncpg://postgres:hunter2@127.0.0.1:1/x",
        },
        ("WEALIST_DATABASE_URL", "postgresql+asyncpg://postgres:***@127.0.0.1:1/x", "cannot be reached"),
    ),
    "redis cannot be reached": Case(
        {"WEALIST_PLUGIN_MODULES": EVERYTHING, "WEALIST_KEYVALUE_URL": "redis://127.0.0.1:1/0"},
        ("WEALIST_KEYVALUE_URL", "redis://127.0.0.1:1/0", "cannot be reached", "start Redis"),
    ),
    "unknown plugin name": Case(
        {"WEALIST_PLUGIN_MODULES": GREETER, "WEALIST_PLUGINS": "greeter,greter"},
        ("WEALIST_PLUGINS", "'greter'", "not installed", "installed plugins: ", "greeter"),
    ),
    "plugin module that cannot be imported": Case(
        {"WEALIST_PLUGIN_MODULES": "tests.plugins.nosuch:Plugin"},
        ("WEALIST_PLUGIN_MODULES", "tests.plugins.nosuch:Plugin", "cannot be imported"),
    ),
    "invalid setting value": Case(
        {"WEALIST_PLUGIN_MODULES": GREETER, "WEALIST_MAX_BODY_BYTES": "lots"},
        ("WEALIST_MAX_BODY_BYTES", "is invalid", "fix or unset it"),
    ),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, subprocess.Popen[str]]]:
    """Every case's ``wealist serve``, started together: each spends most of its time importing."""
    root = tmp_path_factory.mktemp("startup")
    started: dict[str, subprocess.Popen[str]] = {}
    try:
        for index, (name, case) in enumerate(CASES.items()):
            started[name] = subprocess.Popen(
                [WEALIST, "serve", "--port", str(free_port())],
                env=wealist_env(case.env, data_dir=root / f"data{index}"),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=REPO_ROOT,
            )
        yield started
    finally:
        for process in started.values():
            if process.poll() is None:
                process.kill()
            process.communicate()


@pytest.mark.parametrize("name", list(CASES))
def test_misconfiguration_stops_start_up_with_one_sentence(
    name: str, runs: dict[str, subprocess.Popen[str]]
) -> None:
    try:
        stdout, stderr = runs[name].communicate(timeout=30)
    except subprocess.TimeoutExpired:
        runs[name].kill()
        pytest.fail(f"{name}: wealist serve did not stop at start-up: it runs despite the misconfiguration")

    assert runs[name].returncode == 2, stderr
    assert "Traceback" not in stderr
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    sentence = lines[0]
    assert sentence.startswith("wealist: "), sentence
    for fragment in CASES[name].expected:
        assert fragment in sentence, f"{fragment!r} is missing from: {sentence}"
    assert "hunter2" not in sentence  # passwords in URLs are masked
