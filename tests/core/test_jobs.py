"""Periodic jobs: once per period across processes, catch-up after downtime, failures, metrics, the CLI.

Time is the scheduler's ``clock``, set by each test, so nothing here sleeps through a period. Two
applications sharing one Redis stand for two processes (or replicas); on ``memory://`` one process is the
only one there is.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import re
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import wealist_adapters.memory
import wealist_adapters.redis
import wealist_adapters.sqlite
from starlette.applications import Starlette

from tests.plugins.everything import EverythingPlugin
from tests.support.processes import run_wealist, wealist_env
from wealist_core import ConfigurationError, Job, JobContext, PluginError, PluginManifest, Settings, hookimpl
from wealist_core.app import create_app
from wealist_core.observability import JsonFormatter
from wealist_core.scheduler import JobScheduler

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
MINUTE = dt.timedelta(minutes=1)


class Clock:
    """The scheduler's time, moved by the test."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


class JobsToy:
    """A plugin with the jobs a test gives it, and no port of its own."""

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest("toy")

    @hookimpl
    def wealist_register_jobs(self) -> list[Job]:
        return self.jobs


class Recorder:
    """A job function that records each run's context."""

    def __init__(self) -> None:
        self.runs: list[JobContext] = []

    async def __call__(self, ctx: JobContext) -> None:
        self.runs.append(ctx)


@pytest.fixture(params=["memory", "redis"])
def keyvalue_url(request: pytest.FixtureRequest) -> str:
    return "memory://" if request.param == "memory" else str(request.getfixturevalue("redis_url"))


def make_app(settings_factory: Callable[..., Settings], url: str, jobs: list[Job], clock: Clock) -> Starlette:
    settings = settings_factory(keyvalue_url=url)
    app = create_app(
        settings, plugins=[JobsToy(jobs)], adapters=[wealist_adapters.memory, wealist_adapters.redis]
    )
    scheduler(app).clock = clock
    return app


def scheduler(app: Starlette) -> JobScheduler:
    jobs = app.state.wealist.jobs
    assert isinstance(jobs, JobScheduler)
    return jobs


@contextlib.asynccontextmanager
async def started(*apps: Starlette) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
        yield


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Wait at most 10 s for ``condition``: a question to the store or scheduler, which nothing signals."""
    async with asyncio.timeout(10):
        while not await condition():  # noqa: ASYNC110 - polled: what it asks about sets no event
            await asyncio.sleep(0.01)


async def idle(app: Starlette) -> bool:
    """No job of ``app`` holds its lease: whatever ran has recorded its outcome."""
    return not any(status.running for status in await scheduler(app).status())


async def metrics_text(app: Starlette) -> str:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return (await client.get("/metrics")).text


# ------------------------------------------------------------------------------------------- declaring


def test_cron_expressions_are_read_in_utc() -> None:
    weekdays = Job("digest", Recorder(), cron="0 8 * * mon-fri")
    friday_evening = dt.datetime(2026, 3, 6, 18, 0, tzinfo=dt.UTC)
    assert weekdays.next_after(friday_evening) == dt.datetime(2026, 3, 9, 8, 0, tzinfo=dt.UTC)
    in_seoul = dt.datetime(2026, 3, 9, 16, 59, tzinfo=dt.timezone(dt.timedelta(hours=9)))  # 07:59 UTC
    assert weekdays.next_after(in_seoul) == dt.datetime(2026, 3, 9, 8, 0, tzinfo=dt.UTC)
    assert Job("tidy", Recorder(), cron="@hourly").next_after(START) == START + 60 * MINUTE
    assert Job("tidy", Recorder(), every=90).next_after(START) == START + dt.timedelta(seconds=90)
    assert weekdays.schedule == "cron 0 8 * * mon-fri"


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"cron": "61 * * * *"}, "not a cron expression"),
        ({"cron": "0 0 * * * *"}, "five fields"),
        ({"cron": "every day"}, "not a cron expression"),
        ({"every": 60, "cron": "@daily"}, "exactly one of every= and cron="),
        ({}, "exactly one of every= and cron="),
        ({"every": 0.5}, "at least one second"),
        ({"every": 60, "timeout": 0}, "timeout= must be positive"),
    ],
)
def test_a_bad_schedule_is_refused_with_a_sentence(values: dict[str, Any], says: str) -> None:
    with pytest.raises(PluginError, match=says):
        Job("digest", Recorder(), **values)


def test_job_names_are_scoped_to_their_plugin(settings_factory: Callable[..., Settings]) -> None:
    with pytest.raises(PluginError, match="not valid"):
        Job("Send-Digest", Recorder(), every=60)
    app = make_app(settings_factory, "memory://", [Job("tidy", Recorder(), every=60)], Clock())
    assert [job.name for job in scheduler(app).jobs] == ["toy.tidy"]
    with pytest.raises(
        PluginError, match=re.escape("named after another plugin; name it 'tidy' or 'toy.tidy'")
    ):
        make_app(settings_factory, "memory://", [Job("board.tidy", Recorder(), every=60)], Clock())
    with pytest.raises(PluginError, match=re.escape("registers the job 'toy.tidy' twice")):
        twice = [Job("tidy", Recorder(), every=60), Job("toy.tidy", Recorder(), every=60)]
        make_app(settings_factory, "memory://", twice, Clock())


# ----------------------------------------------------------------------------------- once per period


async def test_an_interval_job_runs_once_per_period_across_processes(
    settings_factory: Callable[..., Settings], keyvalue_url: str
) -> None:
    record, clock = Recorder(), Clock()
    job = Job("tidy", record, every=dt.timedelta(minutes=1))
    first = make_app(settings_factory, keyvalue_url, [job], clock)
    # Two processes sharing Redis; on memory:// two passes of the one process, at the same moment.
    second = make_app(settings_factory, keyvalue_url, [job], clock) if keyvalue_url != "memory://" else first

    async def both_look() -> None:
        await asyncio.gather(*(scheduler(app).run_due() for app in (first, second, first, second)))

    async with started(*{first, second}):
        await both_look()
        assert record.runs == []  # a job seen for the first time waits one period
        clock.advance(59 * dt.timedelta(seconds=1))
        await both_look()
        assert record.runs == []
        clock.advance(dt.timedelta(seconds=1))
        await both_look()
        assert [ctx.now for ctx in record.runs] == [START + MINUTE]
        clock.advance(30 * dt.timedelta(seconds=1))
        await both_look()
        assert len(record.runs) == 1
        clock.advance(30 * dt.timedelta(seconds=1))
        await both_look()

    assert [ctx.now for ctx in record.runs] == [START + MINUTE, START + 2 * MINUTE]
    assert record.runs[1].last_success == START + MINUTE
    assert record.runs[0].job == "toy.tidy" and record.runs[0].plugin == "toy"


async def test_the_scheduler_runs_a_due_job_by_itself(settings_factory: Callable[..., Settings]) -> None:
    ran = asyncio.Event()

    async def tidy(ctx: JobContext) -> None:
        ran.set()

    clock = Clock()
    app = make_app(settings_factory, "memory://", [Job("tidy", tidy, every=60)], clock)
    async with started(app):
        store = app.state.wealist.container.keyvalue("toy")
        await until(lambda: store.exists("jobs:tidy:state"))  # the loop has seen the job
        clock.advance(MINUTE)
        scheduler(app).poke()  # instead of waiting for the loop's sleep to end
        async with asyncio.timeout(10):
            await ran.wait()


async def test_downtime_is_caught_up_once_at_start(
    settings_factory: Callable[..., Settings], redis_url: str
) -> None:
    record, clock = Recorder(), Clock()
    job = Job("tidy", record, every=dt.timedelta(hours=1))
    before = make_app(settings_factory, redis_url, [job], clock)
    async with started(before):
        await scheduler(before).run_due()  # anchors the job at START
        clock.advance(dt.timedelta(hours=1))
        await scheduler(before).run_due()
    assert len(record.runs) == 1

    clock.advance(dt.timedelta(hours=10, minutes=30))  # every process down for ten periods and a half
    after = make_app(settings_factory, redis_url, [job], clock)
    async with started(after):
        await until(lambda: _ran_and_idle(after, record, 2))  # the loop catches up at start
        caught_up = clock.now
        await scheduler(after).run_due()
        clock.advance(dt.timedelta(minutes=59))
        await scheduler(after).run_due()
        assert len(record.runs) == 2  # once, not ten times; the next period starts from the catch-up
        clock.advance(MINUTE)
        await scheduler(after).run_due()

    assert [ctx.now for ctx in record.runs] == [
        START + dt.timedelta(hours=1),
        caught_up,
        caught_up + 60 * MINUTE,
    ]


async def _ran_and_idle(app: Starlette, record: Recorder, runs: int) -> bool:
    return len(record.runs) >= runs and await idle(app)


async def test_a_cron_job_missed_while_down_runs_once_at_start(
    settings_factory: Callable[..., Settings], redis_url: str
) -> None:
    record, clock = Recorder(), Clock(START - 2 * MINUTE)  # 08:58 on Monday
    job = Job("digest", record, cron="0 9 * * *")
    before = make_app(settings_factory, redis_url, [job], clock)
    async with started(before):
        await scheduler(before).run_due()  # seen at 08:58, due at 09:00
    clock.advance(dt.timedelta(days=3))  # down from before 09:00 on Monday until 08:58 on Thursday
    after = make_app(settings_factory, redis_url, [job], clock)
    async with started(after):
        await until(lambda: _ran_and_idle(after, record, 1))
        await scheduler(after).run_due()
        clock.advance(2 * MINUTE)  # Thursday 09:00
        await scheduler(after).run_due()
    assert [ctx.now.strftime("%a %H:%M") for ctx in record.runs] == ["Thu 08:58", "Thu 09:00"]


# ------------------------------------------------------------------------------------------- outcomes


@pytest.fixture
def json_log_lines() -> Iterator[list[dict[str, Any]]]:
    """The JSON log lines of the ``wealist.jobs`` loggers, formatted as they are written."""
    lines: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(JsonFormatter().format(record)))

    handler = Collect(level=logging.INFO)
    logger = logging.getLogger("wealist.jobs")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


async def test_a_failing_job_is_logged_and_counted_and_runs_again_next_period(
    settings_factory: Callable[..., Settings], json_log_lines: list[dict[str, Any]]
) -> None:
    attempts = 0

    async def flaky(ctx: JobContext) -> None:
        nonlocal attempts
        attempts += 1
        ctx.log.info("flaky begins", extra={"attempt": attempts})
        if attempts == 1:
            raise RuntimeError("the mail server said no")

    steady, clock = Recorder(), Clock()
    jobs = [Job("flaky", flaky, every=60), Job("steady", steady, every=60)]
    app = make_app(settings_factory, "memory://", jobs, clock)
    async with started(app):
        await scheduler(app).run_due()
        clock.advance(MINUTE)
        runs = {run.job: run for run in await scheduler(app).run_due()}
        assert runs["toy.flaky"].outcome == "failure"
        assert runs["toy.flaky"].error == "RuntimeError: the mail server said no"
        assert runs["toy.steady"].outcome == "success"  # the other job ran all the same
        clock.advance(MINUTE)
        runs = {run.job: run for run in await scheduler(app).run_due()}
        assert runs["toy.flaky"].outcome == "success"
        text = await metrics_text(app)
        (status,) = [s for s in await scheduler(app).status() if s.job == "toy.flaky"]

    assert 'wealist_job_runs_total{job="toy.flaky",outcome="failure",plugin="toy"} 1.0' in text
    assert 'wealist_job_runs_total{job="toy.flaky",outcome="success",plugin="toy"} 1.0' in text
    assert 'wealist_job_runs_total{job="toy.steady",outcome="success",plugin="toy"} 2.0' in text
    assert 'wealist_job_duration_seconds_count{job="toy.flaky",plugin="toy"} 2.0' in text
    gauge = 'wealist_job_last_success_timestamp_seconds{job="toy.flaky",plugin="toy"} '
    (value,) = [line.removeprefix(gauge) for line in text.splitlines() if line.startswith(gauge)]
    assert float(value) == (START + 2 * MINUTE).timestamp()
    assert (status.last_outcome, status.last_success) == ("success", START + 2 * MINUTE)

    failed = [line for line in json_log_lines if line["msg"] == "job toy.flaky failed"]
    assert len(failed) == 1
    assert failed[0]["level"] == "error" and failed[0]["plugin"] == "toy" and failed[0]["job"] == "toy.flaky"
    assert "RuntimeError: the mail server said no" in failed[0]["exc"]
    own = [line for line in json_log_lines if line["msg"] == "flaky begins"]
    assert [(line["plugin"], line["job"], line["attempt"]) for line in own] == [
        ("toy", "toy.flaky", 1),
        ("toy", "toy.flaky", 2),
    ]
    assert any(line["msg"] == "job toy.steady succeeded" and "durationMs" in line for line in json_log_lines)


async def test_a_job_running_past_its_timeout_is_cancelled_and_counted(
    settings_factory: Callable[..., Settings],
) -> None:
    cancelled = False

    async def stuck(ctx: JobContext) -> None:
        nonlocal cancelled
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled = True
            raise

    clock = Clock()
    app = make_app(settings_factory, "memory://", [Job("stuck", stuck, every=60, timeout=0.05)], clock)
    async with started(app):
        run = await scheduler(app).run_now("stuck")
        text = await metrics_text(app)
    assert (run.outcome, cancelled) == ("timeout", True)
    assert 'wealist_job_runs_total{job="toy.stuck",outcome="timeout",plugin="toy"} 1.0' in text


async def test_stopping_cancels_a_running_job_and_frees_its_lease(
    settings_factory: Callable[..., Settings], redis_url: str
) -> None:
    began, cancelled = asyncio.Event(), asyncio.Event()

    async def long(ctx: JobContext) -> None:
        began.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    clock = Clock()
    app = make_app(settings_factory, redis_url, [Job("long", long, every=60)], clock)
    redis = aioredis.from_url(redis_url)
    try:
        async with started(app):
            await until(lambda: redis.exists("toy:jobs:long:state"))  # anchored by the loop, in toy's keys
            clock.advance(MINUTE)
            scheduler(app).poke()
            async with asyncio.timeout(10):
                await began.wait()
            assert await redis.exists("toy:jobs:long:lease")
        assert cancelled.is_set()
        assert not await redis.exists("toy:jobs:long:lease")
    finally:
        await redis.aclose()


async def test_the_everything_toy_registers_its_job(settings_factory: Callable[..., Settings]) -> None:
    adapters = [wealist_adapters.memory, wealist_adapters.sqlite]
    app = create_app(settings_factory(), plugins=[EverythingPlugin], adapters=adapters)
    toy = app.state.wealist.host.active["everything"].obj
    async with started(app):
        run = await scheduler(app).run_now("everything.tick")
    assert (run.outcome, toy.ticks) == ("success", 1)


async def test_running_an_unknown_job_names_the_known_ones(settings_factory: Callable[..., Settings]) -> None:
    app = make_app(settings_factory, "memory://", [Job("tidy", Recorder(), every=60)], Clock())
    async with started(app):
        with pytest.raises(
            ConfigurationError, match=re.escape("No job named 'nope' in this process; its jobs: toy.tidy")
        ):
            await scheduler(app).run_now("nope")


# ------------------------------------------------------------------------------------- command line

CLI_TOY = """
from pathlib import Path

from wealist_core import Job, PluginManifest, hookimpl


class StampPlugin:
    @hookimpl
    def wealist_plugin_manifest(self):
        return PluginManifest("stamper")

    @hookimpl
    def wealist_register_jobs(self):
        return [
            Job("stamp", self.stamp, every=3600, description="writes a line"),
            Job("broken", self.broken, cron="0 3 * * *"),
        ]

    async def stamp(self, ctx):
        with Path(ctx.settings.option("marker")).open("a") as marker:
            marker.write(ctx.now.isoformat() + "\\n")

    async def broken(self, ctx):
        raise RuntimeError("out of cheese")
"""


@pytest.fixture
def cli_env(tmp_path: Path, redis_url: str) -> dict[str, str]:
    (tmp_path / "stamp_plugin.py").write_text(textwrap.dedent(CLI_TOY))
    env = wealist_env(
        {
            "WEALIST_PLUGIN_MODULES": "stamp_plugin:StampPlugin",
            "WEALIST_KEYVALUE_URL": redis_url,
            "WEALIST_STAMPER__MARKER": str(tmp_path / "marker.txt"),
        },
        data_dir=tmp_path / "data",
    )
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    return env


def listing(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    done = run_wealist(["jobs", "list", "--json"], env)
    assert done.returncode == 0, done.stderr
    return {job["name"]: job for job in json.loads(done.stdout)["jobs"]}


@pytest.mark.slow
async def test_jobs_list_and_run_from_the_command_line(
    cli_env: dict[str, str], tmp_path: Path, redis_url: str
) -> None:
    table = run_wealist(["jobs", "list"], cli_env)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["NAME", "SCHEDULE", "LAST", "RUN", "NEXT", "RUN"]
    assert rows[0].split()[:4] == ["stamper.stamp", "every", "1:00:00", "never"]
    assert rows[1].split()[:5] == ["stamper.broken", "cron", "0", "3", "*"]

    ran = run_wealist(["jobs", "run", "stamper.stamp"], cli_env)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("stamper.stamp: success in ")
    assert len((tmp_path / "marker.txt").read_text().splitlines()) == 1

    # Another process (a second run here) sees what the first did, through the shared store.
    stamp = listing(cli_env)["stamper.stamp"]
    assert stamp["lastOutcome"] == "success" and stamp["running"] is False
    last = dt.datetime.fromisoformat(stamp["lastRun"])
    assert dt.datetime.fromisoformat(stamp["nextRun"]) == last + dt.timedelta(hours=1)

    redis = aioredis.from_url(redis_url)
    try:
        await redis.set("stamper:jobs:stamp:lease", "held-by-another-process", px=60_000)
        busy = run_wealist(["jobs", "run", "stamp"], cli_env)
        assert busy.returncode == 1
        assert "stamper.stamp is running in another process now; nothing was run." in busy.stderr
        assert len((tmp_path / "marker.txt").read_text().splitlines()) == 1
        assert listing(cli_env)["stamper.stamp"]["running"] is True
    finally:
        await redis.aclose()


@pytest.mark.slow
def test_a_failing_or_unknown_job_from_the_command_line_exits_non_zero(cli_env: dict[str, str]) -> None:
    broken = run_wealist(["jobs", "run", "stamper.broken"], cli_env)
    assert broken.returncode == 1
    assert "stamper.broken: failure: RuntimeError: out of cheese" in broken.stderr
    assert listing(cli_env)["stamper.broken"]["lastOutcome"] == "failure"

    unknown = run_wealist(["jobs", "run", "nope"], cli_env)
    assert unknown.returncode == 2
    assert "No job named 'nope' in this process; its jobs: stamper.stamp, stamper.broken." in unknown.stderr
