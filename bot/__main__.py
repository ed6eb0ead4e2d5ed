"""The command line: `python -m bot <command>`. Parses arguments, builds settings, starts."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.settings import Mode, SettingsError, load_settings
from store.db import make_engine
from store.migrate import current_revision, upgrade_to_head

log = logging.getLogger("bot")


def _migrate(_args: argparse.Namespace) -> int:
    settings = load_settings(Mode.MIGRATE)
    engine = make_engine(settings.DATABASE_URL)
    try:
        upgrade_to_head(engine)
        with engine.connect() as connection:
            revision = current_revision(connection)
    finally:
        engine.dispose()
    print(f"Database {engine.url.render_as_string(hide_password=True)} is at revision {revision}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Admin Portal for Slack")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    migrate = commands.add_parser("migrate", help="upgrade DATABASE_URL to the latest migration")
    migrate.set_defaults(func=_migrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
