"""`python -m bot serve`: gunicorn in front of the same app, as deployed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from bot.sandbox.slack_api import FakeSlack
from bot.sandbox.slack_requests import SlackRequestSender
from tests.slack.conftest import BOT_TOKEN, SIGNING_SECRET, TEAM_ID, free_port

ROOT = Path(__file__).parents[2]


def test_serve_migrates_and_answers_slack_under_gunicorn(tmp_path: Path) -> None:
    port = free_port()
    with FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID) as fake:
        fake.add_user("UADMIN", "ada")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url,
            "STRIPE_API_KEY": "sk_test_unused",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_unused",
            "STRIPE_WEBHOOK_SECRET": "whsec_unused",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--workers", "1", "--threads", "4"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    health = requests.get(f"{base}/healthz", timeout=1)
                    break
                except requests.ConnectionError:
                    assert server.poll() is None, (
                        server.stderr.read().decode() if server.stderr else ""
                    )
                    assert time.monotonic() < deadline, "gunicorn did not start within 30 s"
                    time.sleep(0.1)
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
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            finally:
                if server.stderr:
                    server.stderr.close()
        assert server.returncode == 0
