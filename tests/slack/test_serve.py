"""`python -m bot serve`: gunicorn in front of the same app, as deployed."""

from __future__ import annotations

import time
from pathlib import Path

import requests

from bot.sandbox.slack_api import FakeSlack
from bot.sandbox.slack_requests import SlackRequestSender
from tests.served import serve_env, served
from tests.slack.conftest import BOT_TOKEN, SIGNING_SECRET, TEAM_ID, free_port


def test_serve_migrates_and_answers_slack_under_gunicorn(tmp_path: Path) -> None:
    port = free_port()
    with FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID) as fake:
        fake.add_user("UADMIN", "ada")
        env = serve_env(
            port=port,
            database=tmp_path / "served.db",
            slack_api_url=fake.api_url,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
        )
        with served(env, workers=1, threads=4) as base:
            health = requests.get(f"{base}/healthz", timeout=5)
            assert health.status_code == 200
            assert health.json() == {"status": "ok", "database": "ok"}

            with SlackRequestSender(f"{base}/slack/events", SIGNING_SECRET, fake=fake) as sender:
                assert sender.slash_command("UADMIN", "help").status_code == 200
                answer = fake.wait_for("response_url", timeout=10)
                assert "Admin Portal commands" in str(answer.params)
                assert (
                    sender.slash_command(
                        "UADMIN", "help", timestamp=int(time.time()) - 600
                    ).status_code
                    == 401
                )
