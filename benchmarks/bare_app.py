"""The baseline for benchmarks/slack_load.py: a Bolt app that does nothing but acknowledge.

The same server stack as `python -m bot serve` (gunicorn's gthread workers through
`bot.server.run_gunicorn`, Flask, Bolt's `SlackRequestHandler`, signature checks, a WebClient
on `SLACK_API_URL` for Bolt's own authorization), and no work of its own: `/portal`, the
"Number of credits" dispatch, "Next" and `app_home_opened` are acknowledged and nothing else
happens, so the load benchmark can send it the very same requests as the app.

Run: `python benchmarks/bare_app.py --port N [--workers 2] [--threads 8] [--access-log PATH]`
with `SLACK_SIGNING_SECRET`, `SLACK_BOT_TOKEN` and `SLACK_API_URL` in the environment.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from flask import Flask, Response, jsonify, request
from slack_bolt import Ack, App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient

from bot.server import run_gunicorn
from bot.ui.ids import PORTAL_COMMAND, Act


def create_bare_app(*, signing_secret: str, token: str, api_url: str) -> Flask:
    bolt = App(
        signing_secret=signing_secret,
        client=WebClient(token=token, base_url=api_url, timeout=10),
        token_verification_enabled=False,
        process_before_response=False,
    )

    def ack_only(ack: Ack) -> None:
        ack()

    def nothing(**_: Any) -> None:
        return

    bolt.command(PORTAL_COMMAND)(ack_only)
    bolt.action(Act.CREDITS_INPUT)(ack_only)
    bolt.action(Act.INVOICES_PAGE)(ack_only)
    bolt.event("app_home_opened")(nothing)  # events are acknowledged by Bolt itself

    web = Flask("bare")
    slack = SlackRequestHandler(bolt)

    @web.post("/slack/events")
    def slack_events() -> Response:
        return slack.handle(request)

    @web.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    return web


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--access-log", default=None)
    args = parser.parse_args()
    web = create_bare_app(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        token=os.environ["SLACK_BOT_TOKEN"],
        api_url=os.environ["SLACK_API_URL"],
    )
    run_gunicorn(
        web,
        bind=f"{args.host}:{args.port}",
        workers=args.workers,
        threads=args.threads,
        log_level=os.environ.get("LOG_LEVEL", "INFO"),
        access_log=args.access_log,
    )


if __name__ == "__main__":
    main()
