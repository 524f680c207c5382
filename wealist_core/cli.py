"""The ``wealist`` command line: serve, plugins, migrate, config, gateway, and what plugins add.

A configuration mistake prints one sentence and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from wealist_core import __version__
from wealist_core.errors import ConfigurationError
from wealist_core.settings import Settings

if TYPE_CHECKING:
    from wealist_core.scheduler import JobScheduler

__all__ = ["main"]

T = TypeVar("T")

EXIT_CONFIG = 2


def _settings(args: argparse.Namespace) -> Settings:
    values: dict[str, Any] = {}
    if getattr(args, "plugins", None):
        values["plugins"] = args.plugins
    return Settings.load(**values)


# -------------------------------------------------------------------------------------------------- serve


async def _preflight(settings: Settings) -> None:
    """Build the app and run its start-up once, so a missing server is reported before uvicorn starts."""
    from wealist_core.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        pass


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from wealist_core.app import create_app
    from wealist_core.observability import configure_logging

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(_preflight(settings))
    trusted_proxies = (
        tuple(p.strip() for p in args.forwarded_allow_ips.split(",") if p.strip())
        if args.forwarded_allow_ips is not None
        else settings.trusted_proxies
    )
    common: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "access_log": False,  # the host writes its own JSON access log
        "log_config": None,
        # Forwarding headers only from the proxies named (the flag, else WEALIST_TRUSTED_PROXIES; none by
        # default): anyone else's X-Forwarded-For would choose the address the rate limits count.
        "proxy_headers": bool(trusted_proxies),
        "forwarded_allow_ips": ",".join(trusted_proxies) or None,
        "lifespan": "on",
        # SIGTERM: stop accepting, finish what is under way within the grace period, then exit.
        "timeout_graceful_shutdown": (
            args.shutdown_grace if args.shutdown_grace is not None else settings.shutdown_grace_seconds
        ),
    }
    if args.workers > 1:
        if args.plugins:
            os.environ["WEALIST_PLUGINS"] = args.plugins
        uvicorn.run("wealist_core.app:create_app_from_env", factory=True, workers=args.workers, **common)
    else:
        from wealist_core.realtime._server import serve

        serve(create_app(settings), **common)  # uvicorn, closing sockets with 1001 (not 1012) at the stop
    return 0


# ------------------------------------------------------------------------------------------------ plugins


def cmd_plugins(args: argparse.Namespace) -> int:
    from wealist_core.plugins import PluginHost

    settings = Settings.load()
    host = PluginHost(settings.model_copy(update={"plugins": ()}), check=False)
    selected = set(settings.plugins or host.installed)
    rows = []
    for name, loaded in sorted(host.installed.items()):
        m = loaded.manifest
        where = "this process" if name in selected else settings.peers.get(name, "not running here")
        rows.append(
            {
                "name": name,
                "version": m.version,
                "source": loaded.source,
                "description": m.description,
                "prefixes": list(m.prefixes),
                "ports": list(m.ports),
                "provides": list(m.provides),
                "needs": list(m.needs),
                "publishes": list(m.publishes),
                "consumes": list(m.consumes),
                "runs": where,
            }
        )
    adapters = [
        {"name": spec.name, "port": spec.port, "schemes": list(spec.schemes), "source": source}
        for spec, source in sorted(host.adapters.specs(), key=lambda item: (item[0].port, item[0].name))
    ]
    if args.json:
        print(json.dumps({"plugins": rows, "adapters": adapters}, indent=2))
        return 0
    print("Plugins:")
    for row in rows:
        print(f"  {row['name']} {row['version']}  ({row['source']})  runs: {row['runs']}")
        if row["description"]:
            print(f"      {row['description']}")
        for key in ("prefixes", "ports", "provides", "needs", "publishes", "consumes"):
            if row[key]:
                print(f"      {key}: {', '.join(row[key])}")
    print("Adapters:")
    for adapter in adapters:
        schemes = ", ".join(f"{s}://" for s in adapter["schemes"])
        print(f"  {adapter['port']:<10} {adapter['name']:<18} {schemes}  ({adapter['source']})")
    return 0


# ------------------------------------------------------------------------------------------------ migrate


async def _migrate(settings: Settings) -> list[str]:
    from wealist_core._keys import ensure_secrets
    from wealist_core.app import registrations
    from wealist_core.container import Container
    from wealist_core.migrations import upgrade
    from wealist_core.plugins import PluginHost

    settings = ensure_secrets(settings)
    host = PluginHost(settings)
    container = Container(settings, host.adapters, host.manifests())
    done: list[str] = []
    await container.start()
    try:
        for reg in registrations(host):
            await upgrade(container.database(reg.plugin), reg)
            done.append(reg.plugin)
    finally:
        await container.close()
    return done


def cmd_migrate(args: argparse.Namespace) -> int:
    if args.make:
        return _make(args)
    done = asyncio.run(_migrate(_settings(args)))
    print(f"Migrated: {', '.join(done)}" if done else "No plugin of this process has tables.")
    return 0


def _make(args: argparse.Namespace) -> int:
    from wealist_core._make_revision import make_revision

    if not args.message:
        raise ConfigurationError(
            'Say what the revision does: wealist migrate --make PLUGIN -m "add due dates".'
        )
    path, changes = asyncio.run(
        make_revision(
            Settings.load(), args.make, args.message, empty=args.empty, database_url=args.database_url or ""
        )
    )
    if path is None:
        print(f"No changes: the models of '{args.make}' match its migrations; no revision written.")
        return 0
    print(f"Wrote {path}")
    for change in changes:
        print(f"  {change}")
    return 0


# ------------------------------------------------------------------------------------------- config, gateway


def cmd_config(args: argparse.Namespace) -> int:
    print(json.dumps(_settings(args).describe(), indent=2, sort_keys=True))
    return 0


def cmd_gateway_nginx(args: argparse.Namespace) -> int:
    from wealist_core.gateway import default_fallbacks, nginx_config
    from wealist_core.plugins import PluginHost

    settings = Settings.load()
    host = PluginHost(settings.model_copy(update={"plugins": ()}), check=False)
    manifests = [loaded.manifest for loaded in host.installed.values()]
    for warning in default_fallbacks(manifests, peers=settings.peers, default_upstream=args.default_upstream):
        print(f"wealist: warning: {warning}", file=sys.stderr)
    text = nginx_config(
        manifests,
        peers=settings.peers,
        default_upstream=args.default_upstream,
        listen=args.listen,
        static_root=args.static_root,
        standalone=args.standalone,
    )
    sys.stdout.write(text)
    return 0


# --------------------------------------------------------------------------------------------------- jobs


async def _with_jobs(settings: Settings, work: Callable[[JobScheduler], Awaitable[T]]) -> T:
    """Start this process's application without its scheduler's loops and do ``work`` with the scheduler:
    a job run from here runs exactly as under ``serve`` (adapters open, events relayed)."""
    from wealist_core.app import create_app

    app = create_app(settings)
    scheduler: JobScheduler = app.state.wealist.jobs
    scheduler.autostart = False  # one job by hand, not the schedule
    async with app.router.lifespan_context(app):
        return await work(scheduler)


def _when(moment: dt.datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}Z" if moment is not None else "never"


def cmd_jobs_list(args: argparse.Namespace) -> int:
    from wealist_core.observability import configure_logging

    settings = _settings(args)
    configure_logging("WARNING", settings.log_format)  # the listing on stdout, problems on stderr
    statuses = asyncio.run(_with_jobs(settings, lambda scheduler: scheduler.status()))
    if args.json:
        print(json.dumps({"jobs": [status.to_dict() for status in statuses]}, indent=2))
        return 0
    if not statuses:
        print("No plugin of this process has jobs.")
        return 0
    rows = [("NAME", "SCHEDULE", "LAST RUN", "NEXT RUN")]
    for status in statuses:
        last = _when(status.last_run) + (f" ({status.last_outcome})" if status.last_outcome else "")
        upcoming = "running now" if status.running else _when(status.next_run)
        rows.append((status.job, status.schedule, last, upcoming))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3])
    return 0


def cmd_jobs_run(args: argparse.Namespace) -> int:
    from wealist_core.observability import configure_logging

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    run = asyncio.run(_with_jobs(settings, lambda scheduler: scheduler.run_now(args.name)))
    if run.outcome == "busy":
        print(f"{run.job} is running in another process now; nothing was run.", file=sys.stderr)
        return 1
    if run.outcome != "success":
        print(f"{run.job}: {run.outcome}: {run.error}", file=sys.stderr)
        return 1
    print(f"{run.job}: success in {run.duration:.2f} s")
    return 0


# ------------------------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wealist", description="Wealist: team collaboration, one host.")
    parser.add_argument("--version", action="version", version=f"wealist {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the plugins of this process over HTTP")
    serve.add_argument(
        "--plugins", help="comma-separated plugins to run (default: WEALIST_PLUGINS, else all)"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--forwarded-allow-ips", default=None, help="proxies trusted for X-Forwarded-* (comma-separated)"
    )
    serve.add_argument(
        "--shutdown-grace",
        type=float,
        metavar="SECONDS",
        help="after SIGTERM, how long requests under way may run on (default: "
        "WEALIST_SHUTDOWN_GRACE_SECONDS, else 10)",
    )
    serve.set_defaults(func=cmd_serve)

    plugins = sub.add_parser("plugins", help="list installed plugins and adapters")
    plugins.add_argument("--json", action="store_true")
    plugins.set_defaults(func=cmd_plugins)

    migrate = sub.add_parser("migrate", help="apply every plugin's database migrations, or --make one")
    migrate.add_argument("--plugins")
    migrate.add_argument("--make", metavar="PLUGIN", help="write PLUGIN's next revision from its models")
    migrate.add_argument("-m", "--message", help="what the revision does (with --make)")
    migrate.add_argument(
        "--empty", action="store_true", help="with --make: a blank revision (data migrations)"
    )
    migrate.add_argument(
        "--database-url",
        help="with --make: compare on this database, upgraded first (default: scratch SQLite)",
    )
    migrate.set_defaults(func=cmd_migrate)

    config = sub.add_parser("config", help="print the effective configuration, secrets masked")
    config.add_argument("--plugins")
    config.set_defaults(func=cmd_config)

    gateway = sub.add_parser("gateway", help="generate gateway configuration")
    gateway_sub = gateway.add_subparsers(dest="gateway", required=True)
    nginx = gateway_sub.add_parser("nginx", help="an NGINX configuration routing each plugin's prefixes")
    nginx.add_argument("--listen", default="8080")
    nginx.add_argument("--default-upstream", default="http://127.0.0.1:8000")
    nginx.add_argument("--static-root", help="serve the built frontend from this folder")
    nginx.add_argument("--standalone", metavar="DIR", help="a complete nginx.conf keeping its files in DIR")
    nginx.set_defaults(func=cmd_gateway_nginx)

    jobs = sub.add_parser("jobs", help="list or run the periodic jobs of this process's plugins")
    jobs_sub = jobs.add_subparsers(dest="jobs", required=True)
    jobs_list = jobs_sub.add_parser("list", help="each job's schedule, last run and next run")
    jobs_list.add_argument("--plugins")
    jobs_list.add_argument("--json", action="store_true")
    jobs_list.set_defaults(func=cmd_jobs_list)
    jobs_run = jobs_sub.add_parser("run", help="run one job now, unless another process is running it")
    jobs_run.add_argument("name", help="the job's name, e.g. user.purge_invitations")
    jobs_run.add_argument("--plugins")
    jobs_run.set_defaults(func=cmd_jobs_run)
    return parser


def _plugin_commands(sub: Any) -> None:
    from wealist_core.plugins import PluginHost

    settings = Settings.load()
    host = PluginHost(settings.model_copy(update={"plugins": ()}), check=False)
    host.pm.hook.wealist_register_commands(cli=sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        sub = next(a for a in parser._subparsers._group_actions if isinstance(a, argparse._SubParsersAction))  # type: ignore[union-attr]
        _plugin_commands(sub)
        args = parser.parse_args(argv)
        result = args.func(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or 0)
    except ConfigurationError as exc:
        print(f"wealist: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
