"""`python -m bot serve` as a subprocess for a test: gunicorn, as deployed, stopped afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).parents[1]
START_SECONDS = 30


def serve_env(*, port: int, database: Path, slack_api_url: str, **more: str) -> dict[str, str]:
    """What `serve` needs to start (Stripe keys it never uses here), and `more`."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": f"sqlite:///{database}",
        "SLACK_API_URL": slack_api_url,
        "STRIPE_API_KEY": "sk_test_unused",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_unused",
        "STRIPE_WEBHOOK_SECRET": "whsec_unused",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        **more,
    }


@contextmanager
def served(env: dict[str, str], *, workers: int = 1, threads: int = 4) -> Iterator[str]:
    """Start `serve` with `env`, wait until `/healthz` answers, yield its base URL; on leaving,
    SIGTERM it and check it stopped cleanly (exit status 0 within 15 s)."""
    command = [sys.executable, "-m", "bot", "serve"]
    command += ["--workers", str(workers), "--threads", str(threads)]
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        _wait_until_healthy(server, base)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        finally:
            if server.stderr:
                server.stderr.close()
    assert server.returncode == 0


def _wait_until_healthy(server: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            health = requests.get(f"{base}/healthz", timeout=1)
        except requests.ConnectionError:
            if server.poll() is not None:
                output = server.stderr.read().decode() if server.stderr else ""
                raise AssertionError(f"serve exited: {output}") from None
            assert time.monotonic() < deadline, f"gunicorn did not start in {START_SECONDS} s"
            time.sleep(0.1)
            continue
        assert health.status_code == 200, health.text
        return
