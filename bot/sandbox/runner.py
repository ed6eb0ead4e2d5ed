"""`python -m bot sandbox` (and `make run` with no Slack tokens): every flow on a laptop.

One command starts, with nothing to configure:
- localstripe on 127.0.0.1, in its own process (`bot.sandbox.stripe_server`), stopped with
  the sandbox;
- the app itself, unchanged (`bot.server.build_web`), on an embedded SQLite file brought to
  the latest migration, with the demo account made on first start (`bot.sandbox.demo`);
- the sandbox Slack (`bot.sandbox.workspace`): the Slack Web API the app talks to through
  `SLACK_API_URL`, and the page that behaves like a Slack workspace, on http://127.0.0.1:3000.

Everything listens on 127.0.0.1 only: the sandbox has no sign-in, so it is never exposed.
Settings are made here, in code: a random signing secret and webhook secret per run, the
sandbox's own tokens and keys, and the ports and database from the command line or the
environment (`--port`/`PORT`, `--app-port`/`SANDBOX_APP_PORT`, `--database`/`DATABASE_URL`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

import requests
from sqlalchemy import make_url
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from bot.deps import Deps, build_deps
from bot.logs import configure_logging
from bot.sandbox import demo
from bot.sandbox.slack_api import FakeSlack
from bot.sandbox.workspace import SandboxWorkspace, create_workspace_app
from bot.server import build_web
from bot.settings import Settings
from store.db import transaction
from store.migrate import upgrade_to_head

log = logging.getLogger("bot.sandbox")

DEFAULT_PORT = 3000
DEFAULT_DATABASE_URL = "sqlite:///var/sandbox.db"
BOT_TOKEN = "xoxb-sandbox"  # noqa: S105 - the sandbox's own fake token
BOT_USER_ID = "U0PORTALBOT"
STRIPE_SECRET_KEY = "sk_test_sandbox"  # noqa: S105 - localstripe takes any test key
STRIPE_PUBLISHABLE_KEY = "pk_test_sandbox"
TEST_CARD = "4242 4242 4242 4242"
_STRIPE_START_SECONDS = 30.0


class SandboxStartError(Exception):
    """The sandbox cannot start; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class SandboxOptions:
    """Where the sandbox listens and what it stores into."""

    port: int = DEFAULT_PORT
    app_port: int = DEFAULT_PORT + 1
    database_url: str = DEFAULT_DATABASE_URL
    migrate: bool = True

    @classmethod
    def resolve(
        cls,
        *,
        port: int | None = None,
        app_port: int | None = None,
        database: str | None = None,
        migrate: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> SandboxOptions:
        """Flags first, then the environment, then the defaults; port 0 means any free one."""
        env = os.environ if environ is None else environ
        page = port if port is not None else _port_from(env, "PORT", DEFAULT_PORT)
        app = app_port if app_port is not None else _port_from(env, "SANDBOX_APP_PORT", None)
        if app is None:
            app = page + 1 if page else 0  # beside the page, unless the page's port is random
        page = page or free_port()
        app = app or free_port()
        if database:
            url = database if "://" in database else f"sqlite:///{database}"
        else:
            url = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        return cls(port=page, app_port=app, database_url=url, migrate=migrate)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    def stripe_state_file(self) -> Path:
        """localstripe's saved state lives beside the SQLite database it belongs with."""
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            database = Path(url.database)
            return database.with_name(database.name + ".stripe.pickle")
        return Path("var") / "sandbox-stripe.pickle"


def _port_from(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    text = env.get(name)
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise SandboxStartError(f"{name} must be a port number, not {text!r}.") from None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sandbox_settings(
    options: SandboxOptions, *, stripe_url: str, signing_secret: str, webhook_secret: str
) -> Settings:
    """The app's settings for the sandbox; the rest (LOG_LEVEL, SUPPLIER_*) from the env."""
    overrides: dict[str, object] = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_APP_TOKEN": None,
        "SLACK_API_URL": f"{options.url}/api/",
        "STRIPE_API_KEY": STRIPE_SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": STRIPE_PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
        "STRIPE_API_BASE": stripe_url,
        "STRIPE_JS_URL": f"{stripe_url}/js.stripe.com/v3/",
        "DATABASE_URL": options.database_url,
        "PUBLIC_BASE_URL": options.app_url,
        "HOST": "127.0.0.1",
        "PORT": options.app_port,
    }
    return Settings(**overrides)  # type: ignore[arg-type]


class LocalStripe:
    """localstripe in its own process (and session, so Ctrl-C reaches only the sandbox)."""

    def __init__(self, state_file: Path, port: int | None = None) -> None:
        self.state_file = state_file
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = state_file.with_name(state_file.name + ".log")
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> LocalStripe:
        """Start the process; `wait_ready()` waits for it to answer."""
        if importlib.util.find_spec("localstripe") is None:
            raise SandboxStartError(
                "localstripe is not installed in this Python; run `make install` (it comes "
                "with the development dependencies)."
            )
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_file.open("ab")
        command = [
            sys.executable,
            "-m",
            "bot.sandbox.stripe_server",
            "--port",
            str(self.port),
            "--state",
            str(self.state_file),
            "--parent",
            str(os.getpid()),
        ]
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,
        )
        return self

    def wait_ready(self, timeout: float = _STRIPE_START_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while True:
            process = self._process
            if process is None or process.poll() is not None:
                raise SandboxStartError(
                    f"localstripe stopped while starting; see {self.log_file}:\n{self._tail()}"
                )
            try:
                if requests.get(f"{self.url}/js.stripe.com/v3/", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SandboxStartError(f"localstripe did not answer within {timeout:.0f}s")
            time.sleep(0.05)

    def register_webhook(self, url: str, secret: str) -> None:
        """Have localstripe sign and send its events to the app's `/stripe/webhook`."""
        answer = requests.post(
            f"{self.url}/_config/webhooks/sandbox",
            data={"url": url, "secret": secret},
            auth=(STRIPE_SECRET_KEY, ""),
            timeout=5,
        )
        answer.raise_for_status()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _tail(self) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-15:])
        except OSError:
            return ""


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request: the page polls twice a second."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


def _bind(app: object, port: int, what: str) -> BaseWSGIServer:
    try:
        return make_server(
            "127.0.0.1",
            port,
            app,  # type: ignore[arg-type]
            threaded=True,
            request_handler=_QuietHandler,
        )
    except OSError as exc:
        raise SandboxStartError(
            f"Cannot listen on 127.0.0.1:{port} for {what} ({exc.strerror}): stop what uses "
            "it, or choose other ports with --port and --app-port."
        ) from exc


class Sandbox:
    """localstripe, the app and the sandbox Slack, started and stopped together."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.stripe = LocalStripe(options.stripe_state_file())
        self.signing_secret = secrets.token_urlsafe(24)
        self.webhook_secret = "whsec_" + secrets.token_hex(16)
        self.settings: Settings | None = None
        self.deps: Deps | None = None
        self.fake: FakeSlack | None = None
        self.workspace: SandboxWorkspace | None = None
        self.demo_created = False
        self._app_server: _Background | None = None
        self._page_server: BaseWSGIServer | None = None
        self._page_thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.options.url

    def start(self) -> Sandbox:
        """Start everything; on any failure, stop what had started and raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        options = self.options
        self.stripe.start()  # it starts while the database is prepared
        settings = sandbox_settings(
            options,
            stripe_url=self.stripe.url,
            signing_secret=self.signing_secret,
            webhook_secret=self.webhook_secret,
        )
        deps = build_deps(settings)
        self.settings, self.deps = settings, deps
        if options.migrate:
            upgrade_to_head(deps.engine)
        with transaction(deps.session_factory) as session:
            _account, self.demo_created = demo.ensure_demo_account(
                session=session, now=deps.clock()
            )
        fake = FakeSlack(
            bot_token=BOT_TOKEN,
            team_id=demo.TEAM_ID,
            team_name=demo.TEAM_NAME,
            team_domain=demo.TEAM_DOMAIN,
            bot_user_id=BOT_USER_ID,
        ).mount(options.url)
        self.fake = fake
        self.workspace = SandboxWorkspace.create(
            fake=fake,
            events_url=f"{options.app_url}/slack/events",
            signing_secret=self.signing_secret,
            team_name=demo.TEAM_NAME,
            team_domain=demo.TEAM_DOMAIN,
            people=demo.PEOPLE,
            channels=demo.CHANNELS,
            tz=settings.timezone,
            secure_pages_url=options.app_url,
            notes=(
                f"The account's password (for the secure pages): {demo.PASSWORD}",
                f"Test card: {TEST_CARD}, any future expiry date, any CVC.",
                f"Data: {make_url(options.database_url).render_as_string(hide_password=True)}",
            ),
        )
        page_app = create_workspace_app(
            self.workspace,
            allowed_hosts=(f"127.0.0.1:{options.port}", f"localhost:{options.port}"),
        )
        self._page_server = _bind(page_app, options.port, "the sandbox page")
        app_server = _bind(build_web(settings, deps), options.app_port, "the app")
        self._app_server = _Background(app_server, "sandbox-app").start()
        self.stripe.wait_ready()
        self.stripe.register_webhook(f"{options.app_url}/stripe/webhook", self.webhook_secret)

    def serve_forever(self) -> None:
        """Serve the page in this thread until interrupted (Ctrl-C)."""
        self._started_page().serve_forever(poll_interval=0.2)

    def serve_in_background(self) -> Sandbox:
        """Serve the page from a thread (tests)."""
        self._page_thread = threading.Thread(
            target=self._started_page().serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox-page",
            daemon=True,
        )
        self._page_thread.start()
        return self

    def _started_page(self) -> BaseWSGIServer:
        if self._page_server is None:
            raise RuntimeError("start() the sandbox first")
        return self._page_server

    def stop(self) -> None:
        """Stop everything that was started, the page first and localstripe last."""
        page, self._page_server = self._page_server, None
        if page is not None:
            if self._page_thread is not None:
                page.shutdown()
                self._page_thread.join(timeout=5)
                self._page_thread = None
            page.server_close()
        app, self._app_server = self._app_server, None
        if app is not None:
            app.stop()
        if self.deps is not None:
            self.deps.engine.dispose()
        self.stripe.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class _Background:
    """A bound server, served from a thread (so a busy port is reported before anything)."""

    def __init__(self, server: BaseWSGIServer, name: str) -> None:
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True
        )

    def start(self) -> _Background:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def guide(sandbox: Sandbox) -> str:
    """What the terminal says once everything answers."""
    options = sandbox.options
    return (
        f"Admin Portal sandbox: {options.url}\n"
        f"  Open it, type /portal in #general as {demo.ADMIN.name} (the admin) and switch "
        "people at the top left; Ctrl-C stops everything.\n"
        f"  app and secure pages {options.app_url} · localstripe {sandbox.stripe.url} "
        f"(pid {sandbox.stripe.pid}) · sandbox pid {os.getpid()}"
    )


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_sandbox(options: SandboxOptions, *, log_level: str = "INFO") -> int:
    """Start, print the URL and the guide, serve until Ctrl-C or SIGTERM, stop everything."""
    configure_logging(log_level)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    for stop_signal in (signal.SIGINT, signal.SIGTERM):  # also when started with SIGINT ignored
        signal.signal(stop_signal, _interrupt)
    sandbox = Sandbox(options)
    try:
        sandbox.start()
    except SandboxStartError as exc:
        print(f"The sandbox could not start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    try:
        if sandbox.demo_created:
            print(f"Created the demo account ({demo.COMPANY_NAME}).", flush=True)
        print(guide(sandbox), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            sandbox.serve_forever()
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            sandbox.stop()
        print("Sandbox stopped.", flush=True)
    return 0
