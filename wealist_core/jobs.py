"""Periodic jobs: what a plugin declares with ``wealist_register_jobs``.

A :class:`Job` is a name, a coroutine function and a schedule: an interval (``every=timedelta(hours=1)`` or
seconds) or a cron expression in UTC (``cron="0 8 * * mon-fri"``). The host's scheduler
(:mod:`wealist_core.scheduler`) runs each job once per period across every process and replica, catches up
once after downtime, and logs and counts every run. The job function receives a :class:`JobContext`.

Cron expressions are parsed by croniter rather than by hand: ranges, steps, names of days and months,
``@daily`` aliases and the day-of-month/day-of-week rules are easy to get subtly wrong.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from croniter import croniter

from wealist_core.errors import PluginError

if TYPE_CHECKING:
    from wealist_core.container import Container
    from wealist_core.settings import PluginSettings

__all__ = ["Job", "JobContext", "JobFunction", "JobLogger"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_ALIASES = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})


class JobLogger(logging.LoggerAdapter[logging.Logger]):
    """A logger whose records carry the job's name (``"job": "user.purge_invitations"``) beside their own
    extras; the plugin's name comes from the host's log context."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


@dataclass(frozen=True)
class JobContext:
    """What a job function receives for one run.

    - ``plugin``, ``job``: the plugin's name and the job's full name (``user.purge_invitations``);
    - ``container``: the ports and contracts, as in ``wealist_configure``
      (``ctx.container.database(ctx.plugin)``);
    - ``settings``: the plugin's settings (``ctx.settings.option("digest_hour")``);
    - ``log``: a logger whose lines carry the plugin and the job;
    - ``now``: when this run started, by the scheduler's clock: use it for cut-offs, so that a test can
      choose the time;
    - ``last_success``: when the last successful run started (in any process), None before the first.
    """

    plugin: str
    job: str
    container: Container
    settings: PluginSettings
    log: JobLogger
    now: dt.datetime
    last_success: dt.datetime | None = None


JobFunction = Callable[[JobContext], Awaitable[None]]


@dataclass(frozen=True)
class Job:
    """A periodic job of a plugin.

    ``name`` is short (``purge_invitations``; the host prefixes the plugin's name) or already carries the
    plugin's name (``user.purge_invitations``). Give exactly one of ``every`` (a ``timedelta`` or seconds,
    at least one second) and ``cron`` (five fields, minute hour day month weekday, in UTC; or an alias such
    as ``@daily``). A run that lasts longer than ``timeout`` is cancelled and counted as a timeout; the
    lease that keeps other processes from running the job meanwhile lasts a little longer than that.
    Runs happen at least once per period and, after a crash in the middle of a run, possibly twice: make
    the function idempotent (purges by a cut-off time are).
    """

    name: str
    func: JobFunction
    every: dt.timedelta | float | None = None
    cron: str | None = None
    timeout: dt.timedelta | float = dt.timedelta(minutes=10)
    description: str = ""

    def __post_init__(self) -> None:
        plugin, _, short = self.name.rpartition(".")
        if not _NAME.match(short) or (plugin and not _NAME.match(plugin)):
            raise PluginError(
                f"The job name {self.name!r} is not valid: use lower-case letters, digits and '_' "
                "(optionally after '<plugin>.')."
            )
        if (self.every is None) == (self.cron is None):
            raise PluginError(f"Job {self.name!r}: give exactly one of every= and cron=.")
        if self.every is not None:
            if _seconds(self.every) < 1:
                raise PluginError(f"Job {self.name!r}: every= must be at least one second.")
        if self.cron is not None:
            expression = self.cron.strip()
            shaped = expression in _ALIASES or len(expression.split()) == 5
            if not shaped or not croniter.is_valid(expression):
                raise PluginError(
                    f"Job {self.name!r}: {self.cron!r} is not a cron expression of five fields "
                    "(minute hour day month weekday) or an alias such as @daily."
                )
            object.__setattr__(self, "cron", expression)
        if _seconds(self.timeout) <= 0:
            raise PluginError(f"Job {self.name!r}: timeout= must be positive.")

    @property
    def interval(self) -> dt.timedelta | None:
        """The period of an interval job; None for a cron job."""
        return None if self.every is None else dt.timedelta(seconds=_seconds(self.every))

    @property
    def timeout_seconds(self) -> float:
        return _seconds(self.timeout)

    @property
    def schedule(self) -> str:
        """``every 1:00:00`` or ``cron 0 8 * * *``, as ``wealist jobs list`` shows it."""
        interval = self.interval
        return f"every {interval}" if interval is not None else f"cron {self.cron}"

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        """The first time the job is due after ``moment`` (an aware datetime), in UTC."""
        moment = moment.astimezone(dt.UTC)
        interval = self.interval
        if interval is not None:
            return moment + interval
        following: dt.datetime = croniter(self.cron, moment).get_next(dt.datetime)
        return following.astimezone(dt.UTC)

    def scoped(self, plugin: str) -> Job:
        """This job named ``<plugin>.<name>``; a name carrying another plugin's prefix is refused."""
        owner, _, short = self.name.rpartition(".")
        if owner and owner != plugin:
            raise PluginError(
                f"Plugin '{plugin}' registers the job {self.name!r}, named after another plugin; "
                f"name it {short!r} or '{plugin}.{short}'."
            )
        if owner:
            return self
        return Job(f"{plugin}.{self.name}", self.func, self.every, self.cron, self.timeout, self.description)

    @property
    def short_name(self) -> str:
        return self.name.rpartition(".")[2]


def _seconds(value: dt.timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
