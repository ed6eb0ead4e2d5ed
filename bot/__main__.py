"""The command line: `python -m bot <command>`. Parses arguments, builds settings, starts."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.app import create_app
from bot.deps import Deps, build_deps
from bot.installations import new_token_key
from bot.logs import configure_logging
from bot.scheduler import JOBS_BY_ID, JobRunner, Worker
from bot.server import BackgroundServer, serve_with_gunicorn
from bot.settings import Mode, Settings, SettingsError, load_settings
from bot.web import create_web_app
from store.db import make_engine
from store.migrate import current_revision, upgrade_to_head

log = logging.getLogger("bot")


def _migrate(_args: argparse.Namespace) -> int:
    settings = load_settings(Mode.MIGRATE)
    configure_logging(settings.LOG_LEVEL)
    engine = make_engine(settings.DATABASE_URL)
    try:
        upgrade_to_head(engine)
        with engine.connect() as connection:
            revision = current_revision(connection)
    finally:
        engine.dispose()
    print(f"Database {engine.url.render_as_string(hide_password=True)} is at revision {revision}.")
    return 0


def _prepare(mode: Mode, args: argparse.Namespace) -> tuple[Settings, Deps]:
    settings = load_settings(mode)
    configure_logging(settings.LOG_LEVEL)
    deps = build_deps(settings)
    if not args.no_migrate:
        upgrade_to_head(deps.engine)
    deps.engine.dispose()  # no pooled connection may be inherited by forked workers
    return settings, deps


def _serve(args: argparse.Namespace) -> int:
    settings, deps = _prepare(Mode.SERVE, args)
    log.info("serving Slack on http://%s:%s/slack/events", settings.HOST, settings.PORT)
    serve_with_gunicorn(
        settings, deps, workers=args.workers, threads=args.threads, access_log=args.access_log
    )
    return 0


def _socket(args: argparse.Namespace) -> int:
    settings, deps = _prepare(Mode.SOCKET, args)
    app_token = settings.SLACK_APP_TOKEN.get_secret_value() if settings.SLACK_APP_TOKEN else ""
    bolt = create_app(settings, deps)
    web = BackgroundServer(create_web_app(settings, deps, bolt), settings.HOST, settings.PORT)
    web.start()  # the secure pages and /healthz still need HTTP
    log.info("Socket Mode; secure pages on %s", web.url)
    try:
        SocketModeHandler(bolt, app_token).start()  # type: ignore[no-untyped-call]
    finally:
        web.stop()
    return 0


def _worker(args: argparse.Namespace) -> int:
    """The scheduler: every job of `bot.scheduler.JOBS`, or one job now with `--run JOB`."""
    _settings, deps = _prepare(Mode.WORKER, args)
    if args.run:
        result = JobRunner(deps).run(args.run)
        print(f"{result.job_id} ({result.slot}): {result.outcome}")
        return 1 if result.outcome.startswith("failed") else 0
    worker = Worker.create(deps, blocking=True)

    def _terminate(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _terminate)
    try:
        worker.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("worker stopping")
    finally:
        worker.stop()
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    """Every flow on this machine: localstripe, the app and a Slack-like page (bot/sandbox)."""
    from bot.sandbox.runner import (  # noqa: PLC0415 - only the sandbox needs its modules
        SandboxOptions,
        SandboxStartError,
        run_sandbox,
    )

    settings = load_settings(Mode.SANDBOX)
    try:
        options = SandboxOptions.resolve(
            port=args.port,
            app_port=args.app_port,
            database=args.database,
            migrate=not args.no_migrate,
        )
    except SandboxStartError as exc:
        print(f"The sandbox could not start: {exc}", file=sys.stderr)
        return 2
    return run_sandbox(options, log_level=settings.LOG_LEVEL)


def _run(args: argparse.Namespace) -> int:
    """`make run`: real Slack when tokens are set, else the sandbox."""
    settings = load_settings(Mode.MIGRATE)
    if settings.SLACK_APP_TOKEN is not None:
        return _socket(args)
    if settings.SLACK_BOT_TOKEN is not None or settings.distributed:
        return _serve(args)
    return _sandbox(args)


def _token_key(_args: argparse.Namespace) -> int:
    """A new key for SLACK_TOKEN_KEY, printed once; nothing is stored."""
    print(new_token_key())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Admin Portal for Slack")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    migrate = commands.add_parser("migrate", help="upgrade DATABASE_URL to the latest migration")
    migrate.set_defaults(func=_migrate)
    token_key = commands.add_parser(
        "token-key", help="print a new SLACK_TOKEN_KEY (seals Slack tokens of OAuth installs)"
    )
    token_key.set_defaults(func=_token_key)
    for name, func, text in (
        (
            "run",
            _run,
            "real Slack when tokens are set (Socket Mode with SLACK_APP_TOKEN), else the sandbox",
        ),
        ("serve", _serve, "serve Slack's request URL and the secure pages under gunicorn"),
        ("socket", _socket, "Socket Mode for development (needs SLACK_APP_TOKEN)"),
        ("sandbox", _sandbox, "every flow locally: a Slack-like page, the app and localstripe"),
        ("worker", _worker, "the scheduler: autopay, reminders, digests, reconcile, top-ups"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument(
            "--no-migrate", action="store_true", help="don't upgrade the database first"
        )
        sub.set_defaults(func=func)
        if name in ("serve", "run"):  # `run` serves like `serve` when tokens are set
            sub.add_argument("--workers", type=int, default=2)
            sub.add_argument("--threads", type=int, default=8)
            # Each request's duration to a file, for benchmarks/slack_load.py; not for operators.
            sub.add_argument("--access-log", default=None, help=argparse.SUPPRESS)
        if name in ("run", "sandbox"):
            _add_sandbox_arguments(sub)
        if name == "worker":
            sub.add_argument(
                "--run",
                metavar="JOB",
                choices=sorted(JOBS_BY_ID),
                default=None,
                help="run one job now (under its lease) and exit: " + ", ".join(sorted(JOBS_BY_ID)),
            )
    return parser


def _add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("sandbox (when no Slack tokens are set)")
    group.add_argument(
        "--port",
        type=int,
        default=None,
        help="the sandbox page and its Slack Web API (default: PORT, else 3000; 0: any free)",
    )
    group.add_argument(
        "--app-port",
        type=int,
        default=None,
        help="the app and its secure pages (default: SANDBOX_APP_PORT, else the page's + 1)",
    )
    group.add_argument(
        "--database",
        default=None,
        help="a SQLite file or database URL (default: DATABASE_URL, else var/sandbox.db)",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
