"""The host's scheduler: each plugin's jobs, run once per period across every process and replica.

Coordination goes through the plugin's key space in the KeyValue port (``container.keyvalue_of(plugin)``: its
own keyvalue URL when its manifest lists the port, else ``WEALIST_<PLUGIN>__KEYVALUE_URL`` or
``WEALIST_KEYVALUE_URL``). Two keys per job:

- ``<plugin>:jobs:<name>:lease``: taken with ``set(..., only_if_absent=True, ttl=...)`` (Redis ``SET NX PX``)
  before a run, released after it; it expires on its own if the process holding it dies. Whoever does not
  get it skips the run.
- ``<plugin>:jobs:<name>:state``: JSON with the start of the last run (or the time the job was first seen),
  its outcome and the last success. The next run is due one period after that time, whichever process
  ran it, so a job runs once per period; after downtime the overdue run happens once, at start, and the
  next one is a full period after it (never one run per missed period).

A job seen for the first time waits one period (a cron job: until its next time). A failed run is retried
at the next period, like a successful one. Each run is logged (logger ``wealist.jobs``, with ``plugin`` and
``job``) and counted in ``/metrics``. Time comes from ``clock`` so that tests choose it; ``poke()`` makes the
loops look again at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wealist_core.errors import ConfigurationError, PluginError
from wealist_core.jobs import Job, JobContext, JobLogger
from wealist_core.observability import Metrics, plugin_var
from wealist_core.ports import KeyValue

if TYPE_CHECKING:
    from wealist_core.container import Container
    from wealist_core.plugins import PluginHost

__all__ = ["JobRun", "JobScheduler", "JobStatus"]

log = logging.getLogger("wealist.jobs")

#: How much longer than a job's timeout its lease lasts: room to record the outcome after the run.
LEASE_MARGIN = 30.0
#: Bounds of a loop's sleep: it looks again at least this often (clock jumps, runs started from the command
#: line elsewhere) and never spins faster than the minimum.
MAX_SLEEP = 300.0
MIN_SLEEP = 1.0
#: How long stopping waits for the loops to end by themselves before cancelling them.
STOP_GRACE = 5.0
#: After a failure of the store itself, wait this long, doubling up to MAX_SLEEP.
RETRY_SLEEP = 5.0
_ERROR_LENGTH = 500


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class JobRun:
    """What one attempt did: ``success``, ``failure``, ``timeout``, or ``busy`` (another process holds the
    lease, so nothing ran here)."""

    job: str
    outcome: str
    started_at: dt.datetime
    duration: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class JobStatus:
    """A job as ``wealist jobs list`` shows it: the shared state, whichever process ran it."""

    job: str
    plugin: str
    schedule: str
    last_run: dt.datetime | None
    last_outcome: str | None
    last_success: dt.datetime | None
    next_run: dt.datetime
    running: bool  # a process holds the lease now

    def to_dict(self) -> dict[str, Any]:
        def iso(moment: dt.datetime | None) -> str | None:
            return moment.isoformat() if moment is not None else None

        return {
            "name": self.job,
            "plugin": self.plugin,
            "schedule": self.schedule,
            "lastRun": iso(self.last_run),
            "lastOutcome": self.last_outcome,
            "lastSuccess": iso(self.last_success),
            "nextRun": iso(self.next_run),
            "running": self.running,
        }


@dataclass
class _State:
    """The stored JSON of a job: times are Unix seconds."""

    since: float  # start of the last run, or when the job was first seen; the next run is a period later
    last_run: float | None = None
    last_success: float | None = None
    outcome: str | None = None
    duration: float | None = None
    error: str | None = None

    @classmethod
    def parse(cls, raw: str | None) -> _State | None:
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return cls(
                since=float(data["since"]),
                last_run=_float(data.get("lastRun")),
                last_success=_float(data.get("lastSuccess")),
                outcome=data.get("outcome"),
                duration=_float(data.get("duration")),
                error=data.get("error"),
            )
        except (ValueError, KeyError, TypeError):  # unreadable: treated as never seen, re-anchored
            return None

    def dump(self) -> str:
        return json.dumps(
            {
                "since": self.since,
                "lastRun": self.last_run,
                "lastSuccess": self.last_success,
                "outcome": self.outcome,
                "duration": self.duration,
                "error": self.error,
            }
        )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _moment(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC)


@dataclass
class _Entry:
    plugin: str
    job: Job
    store: KeyValue

    @property
    def lease_key(self) -> str:
        return f"jobs:{self.job.short_name}:lease"

    @property
    def state_key(self) -> str:
        return f"jobs:{self.job.short_name}:state"


class JobScheduler:
    """Runs the jobs of this process's plugins: one background loop per job while :meth:`running`.

    ``autostart`` False keeps :meth:`running` from starting the loops (the command line runs one job by
    hand). ``clock`` returns the current time as an aware datetime.
    """

    def __init__(
        self,
        entries: Sequence[_Entry],
        container: Container,
        metrics: Metrics,
        *,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self._entries = {entry.job.name: entry for entry in entries}
        self._container = container
        self._metrics = metrics
        self.clock = clock
        self.autostart = True
        self._wake: dict[str, asyncio.Event] = {}
        self._stopping = False
        self._executing: set[str] = set()  # jobs whose function runs now in this process

    @classmethod
    def collect(cls, host: PluginHost, container: Container, metrics: Metrics) -> JobScheduler:
        """The jobs of every active plugin, each bound to its plugin's key space. Call before the adapters
        start: a plugin whose manifest has no keyvalue port gets one bound here."""
        entries: list[_Entry] = []
        names: set[str] = set()
        for plugin, jobs in host.per_plugin("wealist_register_jobs").items():
            if not jobs:
                continue
            store = container.keyvalue_of(plugin)
            for job in jobs:
                if not isinstance(job, Job):
                    raise PluginError(f"Plugin '{plugin}' registered {job!r} as a job; return Job objects.")
                job = job.scoped(plugin)
                if job.name in names:
                    raise PluginError(f"Plugin '{plugin}' registers the job {job.name!r} twice.")
                names.add(job.name)
                entries.append(_Entry(plugin, job, store))
        return cls(entries, container, metrics)

    @property
    def jobs(self) -> list[Job]:
        return [entry.job for entry in self._entries.values()]

    # ------------------------------------------------------------------------------------------- running

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Start one loop per job; on exit stop them: a run in progress is cancelled (its lease freed), a
        loop asleep or asking the store ends by itself."""
        if not self.autostart or not self._entries:
            yield
            return
        self._stopping = False
        self._wake = {name: asyncio.Event() for name in self._entries}
        tasks = {
            name: asyncio.create_task(self._loop(entry), name=f"wealist-job-{name}")
            for name, entry in self._entries.items()
        }
        log.info("jobs scheduled", extra={"jobs": list(self._entries)})
        try:
            yield
        finally:
            # Loops are told to stop rather than cancelled: a cancellation landing inside a client
            # library's call can leave its connection half used (redis-py does), to be closed by nobody.
            self._stopping = True
            self.poke()
            for name in self._executing:
                tasks[name].cancel()
            _done, late = await asyncio.wait(tasks.values(), timeout=STOP_GRACE)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            self._wake = {}

    def poke(self) -> None:
        """Make every loop look at its job again now instead of at the end of its sleep."""
        for event in self._wake.values():
            event.set()

    async def _loop(self, entry: _Entry) -> None:
        wake = self._wake[entry.job.name]
        failures = 0
        while not self._stopping:
            try:
                run = await self._attempt(entry, force=False)
                delay = await self._delay(entry, run)
                failures = 0
            except Exception:  # the store is unreachable: the loop must outlive it
                failures += 1
                delay = min(MAX_SLEEP, RETRY_SLEEP * 2 ** (failures - 1))
                log.warning(
                    "job %s: the key-value store failed; trying again in %.0f s",
                    entry.job.name,
                    delay,
                    exc_info=True,
                    extra={"job": entry.job.name},
                )
            _stop_if_cancelled()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=delay)
            wake.clear()

    async def _delay(self, entry: _Entry, run: JobRun | None) -> float:
        """Seconds until the loop should look again."""
        if run is not None and run.outcome == "busy":
            left = await entry.store.ttl(entry.lease_key)
            return _clamp(left if left is not None else MIN_SLEEP)
        state = _State.parse(await entry.store.get(entry.state_key))
        if state is None:
            return MIN_SLEEP
        due = entry.job.next_after(_moment(state.since) or self.clock())
        return _clamp((due - self.clock()).total_seconds())

    # ------------------------------------------------------------------------------------------- one run

    async def run_due(self) -> list[JobRun]:
        """One pass: every job that is due runs (concurrently); the runs that happened here."""
        runs = await asyncio.gather(*(self._attempt(e, force=False) for e in self._entries.values()))
        return [run for run in runs if run is not None]

    async def run_now(self, name: str) -> JobRun:
        """Run the job ``name`` (full or short name) now, once, whether due or not, unless another process
        holds its lease (outcome ``busy``)."""
        run = await self._attempt(self._entry(name), force=True)
        assert run is not None  # forced: it ran, or the lease was busy
        return run

    def _entry(self, name: str) -> _Entry:
        entry = self._entries.get(name)
        if entry is None:
            matches = [e for e in self._entries.values() if e.job.short_name == name]
            if len(matches) == 1:
                return matches[0]
            known = ", ".join(self._entries) or "none"
            raise ConfigurationError(f"No job named {name!r} in this process; its jobs: {known}.")
        return entry

    async def _attempt(self, entry: _Entry, *, force: bool) -> JobRun | None:
        now = self.clock()
        state = await self._read(entry, now)
        if not force and not self._due(entry, state, now):
            return None
        token = uuid.uuid4().hex
        ttl = entry.job.timeout_seconds + LEASE_MARGIN
        if not await entry.store.set(entry.lease_key, token, ttl=ttl, only_if_absent=True):
            return JobRun(entry.job.name, "busy", now)
        try:
            # Another process may have run the job between the read above and taking the lease.
            state = await self._read(entry, now)
            if not force and not self._due(entry, state, now):
                return None
            if self._stopping:
                return None
            _stop_if_cancelled()
            run = await self._execute(entry, now, _moment(state.last_success))
            await self._record(entry, state, run)
            return run
        finally:
            await self._release(entry, token)

    async def _read(self, entry: _Entry, now: dt.datetime) -> _State:
        """The job's state; a job seen for the first time is anchored now (the first process to see it
        wins), so its first run comes one period later."""
        state = _State.parse(await entry.store.get(entry.state_key))
        if state is None:
            anchor = _State(since=now.timestamp())
            if not await entry.store.set(entry.state_key, anchor.dump(), only_if_absent=True):
                state = _State.parse(await entry.store.get(entry.state_key))
            if state is None:
                await entry.store.set(entry.state_key, anchor.dump())  # unreadable: replaced
                state = anchor
        if state.last_success is not None:
            # Every process reports the shared truth, not only the one that ran the job.
            self._gauge(entry).set(state.last_success)
        return state

    def _due(self, entry: _Entry, state: _State, now: dt.datetime) -> bool:
        since = _moment(state.since)
        assert since is not None
        return entry.job.next_after(since) <= now

    async def _execute(self, entry: _Entry, now: dt.datetime, last_success: dt.datetime | None) -> JobRun:
        name = entry.job.name
        context = JobContext(
            plugin=entry.plugin,
            job=name,
            container=self._container,
            settings=self._container.settings.for_plugin(entry.plugin),
            log=JobLogger(logging.getLogger(f"wealist.jobs.{entry.plugin}"), {"job": name}),
            now=now,
            last_success=last_success,
        )
        plugin_token = plugin_var.set(entry.plugin)  # the job's own log lines carry its plugin
        try:
            started = time.perf_counter()
            outcome, error = "success", None
            failure: BaseException | None = None
            timeout = asyncio.timeout(entry.job.timeout_seconds)
            try:
                self._executing.add(name)
                async with timeout:
                    await entry.job.func(context)
            except TimeoutError as exc:
                if timeout.expired():
                    outcome, error = "timeout", f"cancelled after {entry.job.timeout_seconds:g} s"
                else:  # the job's own TimeoutError is a failure like any other
                    outcome, error, failure = "failure", f"TimeoutError: {exc}", exc
            except Exception as exc:
                outcome, error, failure = "failure", f"{type(exc).__name__}: {exc}"[:_ERROR_LENGTH], exc
            duration = time.perf_counter() - started
            fields = {"job": name, "outcome": outcome, "durationMs": round(duration * 1000, 2)}
            if outcome == "success":
                log.info("job %s succeeded", name, extra=fields)
            elif outcome == "timeout":
                log.error("job %s timed out: %s", name, error, extra=fields)
            else:
                log.error("job %s failed", name, exc_info=failure, extra=fields)
        finally:
            self._executing.discard(name)
            plugin_var.reset(plugin_token)
        metrics = self._metrics
        metrics.job_runs.labels(entry.plugin, name, outcome).inc()
        metrics.job_duration.labels(entry.plugin, name).observe(duration)
        if outcome == "success":
            self._gauge(entry).set(now.timestamp())
        return JobRun(name, outcome, now, duration, error)

    async def _record(self, entry: _Entry, state: _State, run: JobRun) -> None:
        started = run.started_at.timestamp()
        state.since = state.last_run = started
        state.outcome, state.duration, state.error = run.outcome, round(run.duration, 3), run.error
        if run.outcome == "success":
            state.last_success = started
        await entry.store.set(entry.state_key, state.dump())

    async def _release(self, entry: _Entry, token: str) -> None:
        # The port has no compare-and-delete; the lease outlives the job's timeout, so it is still ours.
        try:
            if await entry.store.get(entry.lease_key) == token:
                await entry.store.delete(entry.lease_key)
        except Exception:  # it expires on its own
            log.warning("job %s: releasing its lease failed", entry.job.name, exc_info=True)

    def _gauge(self, entry: _Entry) -> Any:
        return self._metrics.job_last_success.labels(entry.plugin, entry.job.name)

    # -------------------------------------------------------------------------------------------- status

    async def status(self) -> list[JobStatus]:
        """Every job with its last run and next run, from the shared state."""
        now = self.clock()
        out: list[JobStatus] = []
        for name, entry in self._entries.items():
            state = _State.parse(await entry.store.get(entry.state_key))
            since = _moment(state.since) if state is not None else now
            assert since is not None
            out.append(
                JobStatus(
                    job=name,
                    plugin=entry.plugin,
                    schedule=entry.job.schedule,
                    last_run=_moment(state.last_run) if state else None,
                    last_outcome=state.outcome if state else None,
                    last_success=_moment(state.last_success) if state else None,
                    next_run=entry.job.next_after(since),
                    running=await entry.store.exists(entry.lease_key),
                )
            )
        return out


def _stop_if_cancelled() -> None:
    """Raise ``CancelledError`` when this task was asked to stop. A client library may swallow a
    cancellation that lands inside its call (seen with redis-py): without this, a stopping scheduler would
    start a run or sleep on until its next wake-up."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _clamp(seconds: float) -> float:
    return max(MIN_SLEEP, min(MAX_SLEEP, seconds))
