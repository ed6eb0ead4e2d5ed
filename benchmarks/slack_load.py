"""Latency and throughput of the app as deployed, under a steady Slack load (issue 8, part 1).

Run with `.venv/bin/python benchmarks/slack_load.py [--seconds 20] [--rate 50]
[--postgres URL]`. For each target it starts a server as a subprocess on a free 127.0.0.1 port,
with a fake Slack Web API (`bot/sandbox/slack_api.py`) in this process as its `SLACK_API_URL`:

- **app on SQLite**: `python -m bot serve` (gunicorn, gthread, 2 workers x 8 threads, as
  deployed) on a fresh SQLite file;
- **app on PostgreSQL**: the same on a scratch database created beside `--postgres URL` (or
  `TEST_DATABASE_URL`) and dropped at the end; the database named there is not touched;
- **bare**: `benchmarks/bare_app.py`, a Bolt app on the same server stack that only acks.

The app's database is seeded first through the real services (`set_up_account`, `add_user`,
`create_invoice`, `mark_paid`, a few thousand invoices a transaction): one account with 10,000
invoices (all but the newest 12 paid) and 100 users; PostgreSQL is then vacuumed and analysed,
as autovacuum would have left a table that grew over time. A SEPARATE process (the load
generator, started with multiprocessing's spawn) sends requests built beforehand by
`SlackRequestSender` in Slack's exact formats and signed as they leave, open loop at a fixed
rate (request i leaves at start + i/rate, whether or not earlier ones have been answered).
A quarter each: `/portal` (the menu), the live quote (a "Number of credits" keystroke in an open
"Purchase credits" modal), App Home opens (each with its own event id) and invoice pages:
`/portal invoices`, `/portal invoices 1000`, and "Next" from page 1 and from page 999.

What is measured:

- **server-side latency**: from gunicorn's access log (`serve --access-log`, `%(D)s`), the
  time from request received to response sent inside the server: the time to the ack, which
  is what Slack waits for (3 s at most);
- **done**: for the answers sent to a response URL (the menu and the invoice pages), the time
  from the request leaving the generator to the app's answer reaching the fake Slack. The
  invoice pages are compared on this, since their work happens after the ack;
- **paired invoice pages**: after the load, while the server is still up, the four invoice
  page requests of the mix one at a time (`--page-pairs` rounds, each round in another order),
  each waiting for its page to reach the fake Slack: page 1 and the last page side by side on
  the same machine at the same moment, so what other processes do to the machine falls on
  both alike. Under the load each page is a sixteenth of the requests, and its p50 moves with
  the machine's noise by more than the two pages differ (on a busy machine, 1.07x and 1.50x in
  two runs of the same code);
- achieved requests per second; the peak RSS of the server's process tree (VmHWM of the
  gunicorn master and of each worker, summed); the server's CPU time per request; and how
  busy other processes kept the machine meanwhile (before each load the benchmark waits up
  to `--settle` seconds for the machine to quieten).

Targets (issue 8): server-side p99 under 100 ms at 50 requests per second on this 2-core
machine; p50 within 1.5x of the bare app; the last invoice page within 1.2x of the first (judged
on the paired figures; the figures under load are printed beside them).
The last line printed starts with `SUMMARY ` (read by `benchmarks/run_all.py`).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from slack_sdk import WebClient
from sqlalchemy import create_engine, make_url
from werkzeug.serving import WSGIRequestHandler, make_server

from bot.accounts import AccountSetup, set_up_account
from bot.credits import CreditsEntry
from bot.invoice_list import Direction, PageCursor, first_page, page_count, page_number
from bot.invoices import create_invoice, mark_paid
from bot.pricing import active_services, credit_tiers, quote_credits_for, quote_service_for
from bot.quotes import Quote
from bot.sandbox.slack_api import FakeSlack
from bot.sandbox.slack_requests import SlackRequestSender, plain_text
from bot.ui import credits as credits_ui
from bot.ui.ids import Act, Blk
from bot.users import add_user
from store.db import make_engine, make_session_factory, transaction
from store.enums import InvoiceKind, Role
from store.migrate import upgrade_to_head
from store.models import Account

ROOT = Path(__file__).resolve().parents[1]
SIGNING_SECRET = "bench-signing-secret"  # noqa: S105 - a local benchmark's own secret
BOT_TOKEN = "xoxb-bench-token"  # noqa: S105
TEAM_ID = "T0LOAD"
INVOICES = 10_000
USERS = 100
UNPAID = 12  # the newest invoices stay open; the rest are paid
SEED_CHUNK = 2_000  # invoices per seeding transaction
# One cycle of the load: a quarter each menus, live quotes and Home opens, and a quarter
# invoice pages: the first and the last by number (`/portal invoices`, `/portal invoices 1000`)
# and by "Next" (from page 1 to page 2, and from page 999 to page 1,000).
MIX = (
    *("menu", "quote", "invoices_first", "home"),
    *("menu", "quote", "invoices_last", "home"),
    *("menu", "quote", "next_to_second", "home"),
    *("menu", "quote", "next_to_last", "home"),
)
TARGET_P99_MS = 100.0
TARGET_BARE_RATIO = 1.5
TARGET_PAGE_RATIO = 1.2
NOISY = 0.25  # other processes using more than half a core of the two: say so
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_ACCESS_LINE = re.compile(
    r'<(?P<pid>\d+)> "POST /slack/events\?k=(?P<kind>\w+)&n=(?P<n>\d+) HTTP/[\d.]+" '
    r"(?P<status>\d{3}) \S+ (?P<us>\d+)us"
)


# ---------------------------------------------------------------------------------------------
# Small statistics
# ---------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p99 of 1,000 samples is the 10th largest); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, summed over its cores."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / CLOCK_TICKS, sum(fields) / CLOCK_TICKS


def wait_for_quiet(limit: float, name: str) -> None:
    """Wait (up to `limit` seconds) until other processes leave the machine mostly idle."""
    deadline = time.monotonic() + limit
    busy_share = 1.0
    while time.monotonic() < deadline:
        before = machine_busy_seconds()
        time.sleep(1.0)
        busy, total = (b - a for a, b in zip(before, machine_busy_seconds(), strict=True))
        busy_share = busy / total
        if busy_share < NOISY / 2:
            return
    print(f"  {name}: the machine stayed {busy_share:.0%} busy; measuring anyway", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------------------------------------
# The fake Slack, with the arrival time of every response URL post
# ---------------------------------------------------------------------------------------------


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class SlackSide:
    """A FakeSlack served on 127.0.0.1, noting when each response URL is first posted to."""

    def __init__(self, user_ids: list[str]) -> None:
        self.fake = FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID, team_name="Load Ltd")
        for user_id in user_ids:
            self.fake.add_user(user_id, user_id.lower())
        self.arrivals: dict[str, float] = {}
        self._lock = threading.Lock()
        self._server = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_Quiet
        )
        self.fake.mount(f"http://127.0.0.1:{self._server.server_port}")
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/response/"):
            arrived = time.time()
            with self._lock:
                self.arrivals.setdefault(path.rsplit("/", 1)[-1], arrived)
        return self.fake.wsgi_app(environ, start_response)

    def __enter__(self) -> SlackSide:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def arrived(self, hook_id: str) -> float | None:
        with self._lock:
            return self.arrivals.get(hook_id)


# ---------------------------------------------------------------------------------------------
# Seeding: one account, 100 users, 10,000 invoices, through the real services
# ---------------------------------------------------------------------------------------------


def user_ids(count: int) -> list[str]:
    return [f"ULOAD{n:04d}" for n in range(count)]


def role_for(index: int) -> Role:
    """The first user is the account's admin; then finance, admin, viewer, finance, ..."""
    if index == 0:
        return Role.ADMIN
    return (Role.FINANCE, Role.ADMIN, Role.VIEWER)[index % 3]


@dataclass(frozen=True)
class Seeded:
    seconds: float
    invoices: int
    users: int
    credit_entry: CreditsEntry  # what the "Purchase credits" modal shows before typing
    next_on_first_page: str  # the value of "Next" on page 1
    next_to_last_page: str  # the value of "Next" on the page before the last
    last_page: int


def seed(url: str, *, invoices: int, users: int) -> Seeded:
    """Migrate `url` and fill it through the services, in a few transactions."""
    started = time.perf_counter()
    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
        factory = make_session_factory(engine)
        ids = user_ids(users)
        first = datetime.now(UTC) - timedelta(hours=invoices + 24)
        with transaction(factory) as session:
            account = set_up_account(
                session=session,
                team_id=TEAM_ID,
                team_name="Load Ltd",
                setup=AccountSetup(
                    company_name="Load Testing Ltd",
                    country="GB",
                    contact_email="billing@load.example",
                    vat_reference=None,
                ),
                admin_user_id=ids[0],
                now=first,
            )
            for index, user_id in enumerate(ids[1:], start=1):
                add_user(
                    session=session,
                    account=account,
                    slack_user_id=user_id,
                    role=role_for(index),
                    added_by=ids[0],
                    now=first,
                )
            account_id = account.id
            on = first.date()
            quotes: list[tuple[InvoiceKind, Quote]] = [
                (
                    InvoiceKind.CREDITS,
                    quote_credits_for(session=session, account=account, quantity=q, on=on),
                )
                for q in (100, 250, 1_500, 12_000)
            ]
            quotes += [
                (
                    InvoiceKind.SERVICES,
                    quote_service_for(
                        session=session,
                        account=account,
                        service_id=service.id,
                        hours=hours,
                        on=on,
                    ),
                )
                for service in active_services(session=session)[:2]
                for hours in (Decimal(1), Decimal("7.5"))
            ]
            tiers = credit_tiers(session=session, currency=account.currency)
        next_on_first = next_to_last = PageCursor(Direction.OLDER, 0, 1)
        for chunk in range(0, invoices, SEED_CHUNK):
            with transaction(factory) as session:
                account = session.get_one(Account, account_id)
                for n in range(chunk, min(chunk + SEED_CHUNK, invoices)):
                    if n % 50 == 0:  # keep the session small: flushed objects are done with
                        session.flush()
                        session.expunge_all()
                        account = session.get_one(Account, account_id)
                    now = first + timedelta(hours=n)
                    kind, quote = quotes[n % len(quotes)]
                    invoice = create_invoice(
                        session=session,
                        account=account,
                        kind=kind,
                        quotes=[quote],
                        actor=ids[n % users] if role_for(n % users) is not Role.VIEWER else ids[0],
                        now=now,
                    )
                    if n < invoices - UNPAID:
                        mark_paid(
                            session=session,
                            invoice=invoice,
                            now=now + timedelta(minutes=5),
                            actor="stripe",
                        )
        with transaction(factory) as session:
            pages = page_count(session=session, account_id=account_id)
            before_last = page_number(session=session, account_id=account_id, number=pages - 1)
            next_to_last = before_last.older or next_to_last
            next_on_first = (
                first_page(session=session, account_id=account_id).older or next_on_first
            )
        if engine.dialect.name == "postgresql":
            # As autovacuum leaves a table that has grown over time: statistics gathered, the
            # visibility map set (index-only scans need it).
            with engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM ANALYZE"
                )
    finally:
        engine.dispose()
    return Seeded(
        seconds=time.perf_counter() - started,
        invoices=invoices,
        users=users,
        credit_entry=CreditsEntry(text=None, tiers=tiers),
        next_on_first_page=next_on_first.encode(),
        next_to_last_page=next_to_last.encode(),
        last_page=pages,
    )


@contextmanager
def scratch_postgres(url: str) -> Iterator[str]:
    """A new, empty database on the server `url` names; dropped afterwards."""
    server = make_url(url)
    name = f"slack_load_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


# ---------------------------------------------------------------------------------------------
# The requests, built beforehand in Slack's formats
# ---------------------------------------------------------------------------------------------


class _Capture:
    """Stands in for `requests.Session`: keeps what SlackRequestSender would have posted."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, str]] = []

    def post(self, _url: str, *, data: bytes, headers: dict[str, str], **_: Any) -> Any:
        self.sent.append((data, headers["Content-Type"]))
        return requests.Response()

    def close(self) -> None:
        return


@dataclass(frozen=True)
class Planned:
    n: int
    kind: str
    content_type: str
    body: bytes
    hook_id: str | None  # the response URL the answer goes to, when there is one


def _hook_of(body: bytes) -> str | None:
    """The response URL's id in a slash command's form or an interaction's payload."""
    fields = parse_qs(body.decode())
    if "payload" in fields:
        url = json.loads(fields["payload"][0]).get("response_url")
    else:
        url = (fields.get("response_url") or [""])[0]
    return urlparse(url).path.rsplit("/", 1)[-1] if url else None


def open_purchase_modals(side: SlackSide, users: list[str], entry: CreditsEntry) -> list[Any]:
    """A "Purchase credits" modal open in the fake for each user, as the app opens it."""
    client = WebClient(token=BOT_TOKEN, base_url=side.fake.api_url)
    views = []
    for user_id in users:
        trigger = side.fake.new_trigger_id(user_id)
        views.append(
            client.views_open(trigger_id=trigger, view=credits_ui.purchase_modal(entry))["view"]
        )
    return views


def build_plan(side: SlackSide, count: int, seeded: Seeded, users: int) -> list[Planned]:
    """`count` requests in the MIX's order, each from the next user allowed to send it."""
    ids = user_ids(users)
    buyers = [user for i, user in enumerate(ids) if role_for(i) is not Role.VIEWER]
    views = open_purchase_modals(side, buyers, seeded.credit_entry)
    capture = _Capture()
    sender = SlackRequestSender(
        "http://unused/slack/events",
        SIGNING_SECRET,
        team_id=TEAM_ID,
        fake=side.fake,
        session=capture,  # type: ignore[arg-type]
    )
    plan = []
    for n in range(count):
        kind = MIX[n % len(MIX)]
        user = ids[(n * 7) % users]
        if kind == "menu":
            sender.slash_command(user, "")
        elif kind == "invoices_first":
            sender.slash_command(user, "invoices")
        elif kind == "invoices_last":
            sender.slash_command(user, f"invoices {seeded.last_page}")
        elif kind == "next_to_second":
            sender.block_action(user, Act.INVOICES_PAGE, value=seeded.next_on_first_page)
        elif kind == "next_to_last":
            sender.block_action(user, Act.INVOICES_PAGE, value=seeded.next_to_last_page)
        elif kind == "home":
            sender.app_home_opened(user, event_id=f"Ev{n:06d}{secrets.token_hex(3).upper()}")
        else:
            which = n % len(buyers)
            typed = str(100 + 37 * n)
            sender.block_action(
                buyers[which],
                Act.CREDITS_INPUT,
                value=typed,
                view=views[which],
                state_values={Blk.CREDITS: {Act.CREDITS_INPUT: plain_text(typed)}},
            )
        body, content_type = capture.sent[-1]
        plan.append(Planned(n, kind, content_type, body, _hook_of(body)))
    return plan


# ---------------------------------------------------------------------------------------------
# The load generator: its own process, open loop
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    n: int
    kind: str
    left_at: float  # wall clock, comparable with the fake's arrival times
    status: int
    client_ms: float
    late_ms: float  # how far behind its scheduled time it left


def generate_load(
    url: str, plan: list[tuple[int, str, str, bytes]], rate: float, results: Any
) -> None:
    """Send the plan at `rate` per second, open loop; put the list of `Sent` on `results`."""
    signer = SlackRequestSender(url, SIGNING_SECRET)
    local = threading.local()

    def send(item: tuple[int, str, str, bytes], due: float) -> Sent:
        n, kind, content_type, body = item
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        late = time.monotonic() - due
        sent_at = int(time.time())
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": str(sent_at),
            "X-Slack-Signature": signer.signature(body, sent_at),
        }
        left = time.time()
        started = time.perf_counter()
        try:
            status = session.post(
                f"{url}?k={kind}&n={n}", data=body, headers=headers, timeout=10
            ).status_code
        except requests.RequestException:
            status = 0
        return Sent(n, kind, left, status, 1000 * (time.perf_counter() - started), 1000 * late)

    with ThreadPoolExecutor(max_workers=64) as pool:
        start = time.monotonic() + 0.2
        futures = []
        for i, item in enumerate(plan):
            due = start + i / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            futures.append(pool.submit(send, item, due))
        sent = [future.result() for future in futures]
    results.put((sent, time.process_time()))


def run_load(url: str, plan: list[Planned], rate: float) -> tuple[list[Sent], float]:
    """The generator's results, and the CPU seconds it used."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    items = [(p.n, p.kind, p.content_type, p.body) for p in plan]
    process = context.Process(target=generate_load, args=(url, items, rate, results))
    process.start()
    try:
        sent, cpu = results.get(timeout=len(plan) / rate + 60)
    finally:
        process.join(timeout=30)
    return sent, cpu


# ---------------------------------------------------------------------------------------------
# The server under test
# ---------------------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    access_log: Path
    stderr: Path

    def tree(self) -> list[int]:
        """The master and every process whose parent it is (gunicorn's workers)."""
        pids = [self.process.pid]
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                pids.append(int(entry.name))
        return pids

    def cpu_seconds(self) -> float:
        """User and system CPU time of the tree so far."""
        ticks = 0
        for pid in self.tree():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / CLOCK_TICKS

    def peak_rss_mb(self) -> float:
        total_kb = 0
        for pid in self.tree():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
            total_kb += int(match.group(1)) if match else 0
        return total_kb / 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def start_server(
    argv: list[str], env: dict[str, str], port: int, folder: Path, name: str
) -> Iterator[Server]:
    access_log, stderr_path = folder / f"{name}.access.log", folder / f"{name}.stderr.log"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and scripts
            [*argv, "--access-log", str(access_log)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    server = Server(process, f"http://127.0.0.1:{port}", access_log, stderr_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{stderr_path.read_text()[-3000:]}")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


def server_env(side: SlackSide, port: int, database_url: str | None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": side.fake.api_url,
        "STRIPE_API_KEY": "sk_test_unused",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_unused",
        "STRIPE_WEBHOOK_SECRET": "whsec_unused",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
    }
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


# ---------------------------------------------------------------------------------------------
# One target, measured
# ---------------------------------------------------------------------------------------------


@dataclass
class Figures:
    name: str
    count: int
    p50: float
    p99: float
    max: float
    rps: float
    rss_mb: float
    failures: int
    late_ms: float
    by_kind: dict[str, list[float]] = field(default_factory=dict)  # server-side ms
    completion: dict[str, list[float]] = field(default_factory=dict)  # ms to the answer
    unanswered: int = 0
    problems: list[str] = field(default_factory=list)
    seeded: Seeded | None = None
    cpu_ms_per_request: float = math.nan  # the server's CPU, acks and the work behind them
    machine_busy: float = math.nan  # share of all cores busy during the load
    others_busy: float = math.nan  # share of all cores used by processes outside this run
    paired: dict[str, list[float]] = field(default_factory=dict)  # done ms, one at a time


def read_access_log(path: Path) -> dict[int, tuple[str, int, float]]:
    """n -> (kind, status, server-side ms) for each request the server logged."""
    found = {}
    for line in path.read_text().splitlines():
        match = _ACCESS_LINE.search(line)
        if match:
            found[int(match["n"])] = (match["kind"], int(match["status"]), int(match["us"]) / 1000)
    return found


def app_problems(side: SlackSide) -> list[str]:
    """Answers that say something went wrong on the app's side, and failed Slack calls."""
    problems = []
    for call in side.fake.calls():
        text = str(call.params)
        if "something went wrong" in text:
            problems.append(f"{call.method}: an error answer")
        elif call.response.get("ok") is False and call.response.get("error") != "hash_conflict":
            problems.append(f"{call.method}: {call.response.get('error')}")
    return problems


def measure(
    name: str,
    argv: Callable[[int], list[str]],
    *,
    database_url: str | None,
    args: argparse.Namespace,
    folder: Path,
    seeded: Seeded | None,
    requests_for: Seeded,
) -> Figures:
    """Serve with `argv`, send the load built for `requests_for`, read the figures back.

    `seeded` is the target's own database (None for the bare app)."""
    warmup = int(args.warmup * args.rate)
    total = warmup + int(args.seconds * args.rate)
    with SlackSide(user_ids(args.users)) as side:
        port = free_port()
        env = server_env(side, port, database_url)
        label = name.replace(" ", "-").lower()
        with start_server(argv(port), env, port, folder, label) as server:
            plan = build_plan(side, total, requests_for, args.users)
            wait_for_quiet(args.settle, name)
            server_cpu, machine, ours = server.cpu_seconds(), machine_busy_seconds(), _own_cpu()
            sent, generator_cpu = run_load(f"{server.url}/slack/events", plan, args.rate)
            # Let the work behind the acks finish: every response URL answered, or 15 s.
            hooks = [p.hook_id for p in plan if p.hook_id is not None]
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and any(side.arrived(h) is None for h in hooks):
                time.sleep(0.1)
            rss = server.peak_rss_mb()
            server_cpu = server.cpu_seconds() - server_cpu
            busy, elapsed = (b - a for a, b in zip(machine, machine_busy_seconds(), strict=True))
            others = busy - server_cpu - generator_cpu - (_own_cpu() - ours)
            paired = (
                paired_pages(side, f"{server.url}/slack/events", requests_for, args.page_pairs)
                if seeded is not None
                else {}
            )
        logged = read_access_log(server.access_log)
        problems = app_problems(side) if seeded is not None else []
        measured = [s for s in sent if s.n >= warmup]
        server_ms = [logged[s.n][2] for s in measured if s.n in logged]
        by_kind: dict[str, list[float]] = {}
        for s in measured:
            if s.n in logged:
                by_kind.setdefault(s.kind, []).append(logged[s.n][2])
        completion: dict[str, list[float]] = {}
        unanswered = 0
        for p, s in zip(plan, sent, strict=True):
            if s.n < warmup or p.hook_id is None:
                continue
            arrived = side.arrived(p.hook_id)
            if arrived is None:
                unanswered += 1
            else:
                completion.setdefault(p.kind, []).append(1000 * (arrived - s.left_at))
    span = max(s.left_at + s.client_ms / 1000 for s in measured) - min(s.left_at for s in measured)
    failures = sum(1 for s in measured if s.status != 200) + (len(measured) - len(server_ms))
    return Figures(
        name=name,
        count=len(measured),
        p50=percentile(server_ms, 0.50),
        p99=percentile(server_ms, 0.99),
        max=max(server_ms, default=math.nan),
        rps=len(measured) / span,
        rss_mb=rss,
        failures=failures,
        late_ms=max(s.late_ms for s in measured),
        by_kind=by_kind,
        completion=completion,
        unanswered=unanswered,
        problems=problems,
        seeded=seeded,
        cpu_ms_per_request=1000 * server_cpu / len(sent),
        machine_busy=busy / elapsed,
        others_busy=max(0.0, others) / elapsed,
        paired=paired,
    )


PAIRED = ("invoices_first", "invoices_last", "next_to_second", "next_to_last")


def paired_pages(side: SlackSide, url: str, seeded: Seeded, pairs: int) -> dict[str, list[float]]:
    """The invoice pages of the mix (page 1 and the last by number, page 2 and the last by
    "Next"), one request at a time, `pairs` rounds, each round in another order; for each kind,
    the done times in ms (request sent to the page reaching the fake Slack)."""
    capture = _Capture()
    builder = SlackRequestSender(
        "http://unused/slack/events",
        SIGNING_SECRET,
        team_id=TEAM_ID,
        fake=side.fake,
        session=capture,  # type: ignore[arg-type]
    )
    signer = SlackRequestSender(url, SIGNING_SECRET)
    user = user_ids(1)[0]
    asks: dict[str, Callable[[], object]] = {
        "invoices_first": lambda: builder.slash_command(user, "invoices"),
        "invoices_last": lambda: builder.slash_command(user, f"invoices {seeded.last_page}"),
        "next_to_second": lambda: builder.block_action(
            user, Act.INVOICES_PAGE, value=seeded.next_on_first_page
        ),
        "next_to_last": lambda: builder.block_action(
            user, Act.INVOICES_PAGE, value=seeded.next_to_last_page
        ),
    }
    done: dict[str, list[float]] = {kind: [] for kind in PAIRED}
    with requests.Session() as http:
        for n in range(pairs):
            for kind in PAIRED[n % 4 :] + PAIRED[: n % 4]:
                asks[kind]()
                body, content_type = capture.sent[-1]
                hook = _hook_of(body) or ""
                sent_at = int(time.time())
                headers = {
                    "Content-Type": content_type,
                    "X-Slack-Request-Timestamp": str(sent_at),
                    "X-Slack-Signature": signer.signature(body, sent_at),
                }
                left = time.time()
                http.post(url, data=body, headers=headers, timeout=10)
                deadline = time.monotonic() + 10
                while (arrived := side.arrived(hook)) is None and time.monotonic() < deadline:
                    time.sleep(0.001)
                if arrived is not None:
                    done[kind].append(1000 * (arrived - left))
    return done


def _own_cpu() -> float:
    """CPU seconds of this process (the fake Slack's threads included)."""
    times = os.times()
    return times.user + times.system


def _pool(args: argparse.Namespace) -> list[str]:
    return ["--workers", str(args.workers), "--threads", str(args.threads)]


def measure_app(name: str, database_url: str, args: argparse.Namespace, folder: Path) -> Figures:
    seeded = seed(database_url, invoices=args.invoices, users=args.users)
    print(
        f"  {name}: seeded {seeded.invoices:,} invoices and {seeded.users} users "
        f"through the services in {seeded.seconds:.1f} s",
        flush=True,
    )

    def argv(_port: int) -> list[str]:  # the app reads its port from PORT
        return [sys.executable, "-m", "bot", "serve", "--no-migrate", *_pool(args)]

    return measure(
        name,
        argv,
        database_url=database_url,
        args=args,
        folder=folder,
        seeded=seeded,
        requests_for=seeded,
    )


def measure_bare(args: argparse.Namespace, folder: Path, requests_for: Seeded) -> Figures:
    def argv(port: int) -> list[str]:
        bare_app = str(ROOT / "benchmarks" / "bare_app.py")
        return [sys.executable, bare_app, "--port", str(port), *_pool(args)]

    return measure(
        "bare Bolt app",
        argv,
        database_url=None,
        args=args,
        folder=folder,
        seeded=None,
        requests_for=requests_for,
    )


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(results: list[Figures], bare: Figures, args: argparse.Namespace) -> list[str]:
    """Print the table and the targets; return the one-line summaries of each app target."""
    print()
    print(
        f"Slack load: {args.rate:g} requests/s open loop for {args.seconds:g} s after "
        f"{args.warmup:g} s of warm-up; gunicorn gthread, {args.workers} workers x "
        f"{args.threads} threads; mix {', '.join(MIX)}"
    )
    print("Server-side latency (request received to response sent, gunicorn's access log):")
    header = (
        f"{'target':<19}{'requests':>9}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'req/s':>7}"
        f"{'peak RSS MB':>12}{'p50/bare':>9}{'failed':>7}{'CPU ms/req':>11}{'others':>8}"
    )
    print(header)
    print("-" * len(header))
    for fig in [*results, bare]:
        ratio = fig.p50 / bare.p50 if bare.p50 else math.nan
        print(
            f"{fig.name:<19}{fig.count:>9}{fig.p50:>8.1f}{fig.p99:>8.1f}{fig.max:>8.1f}"
            f"{fig.rps:>7.1f}{fig.rss_mb:>12.0f}{ratio:>9.2f}{fig.failures:>7}"
            f"{fig.cpu_ms_per_request:>11.1f}{fig.others_busy:>8.0%}"
        )
    print(
        "CPU ms/req: the server tree's CPU per request, the work behind the ack included. "
        "others: the share of\nthe machine's cores used by processes outside this benchmark "
        "during the load (noise; 50% = one core)."
    )
    print()
    print("By request, server-side p50/p99 ms (and done p50/p99: request sent to answer at Slack):")
    for fig in [*results, bare]:
        parts = []
        for kind in dict.fromkeys(MIX):
            times = fig.by_kind.get(kind, [])
            text = f"{kind} {percentile(times, 0.5):.1f}/{percentile(times, 0.99):.1f}"
            done = fig.completion.get(kind)
            if done and fig.seeded is not None:
                text += f" (done {percentile(done, 0.5):.1f}/{percentile(done, 0.99):.1f})"
            parts.append(text)
        print(f"  {fig.name}: " + "; ".join(parts))
    print()
    print(
        "Invoice pages, done p50 ms (request sent to the page reaching Slack; their work follows "
        "the ack).\nBy number: `/portal invoices` and `/portal invoices <last>` (1,000 with "
        "10,000 invoices); by Next:\nthe button on page 1 and on the page before the last."
    )
    header = (
        f"{'target':<19}{'page 1':>8}{'last':>8}{'last/1':>8}   "
        f"{'Next to 2':>10}{'Next to last':>13}{'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    pages = {fig.name: page_figures(fig) for fig in results}
    for fig in results:
        first, last, second, after_next = pages[fig.name]
        print(
            f"{fig.name:<19}{first:>8.1f}{last:>8.1f}{last / first:>7.2f}x   "
            f"{second:>10.1f}{after_next:>13.1f}{after_next / second:>6.2f}x"
        )
    print_paired(results)
    print()
    summaries = []
    all_met = True
    for fig in results:
        first, last, second, after_next = pages[fig.name]
        pair_number, pair_next = paired_ratios(fig)  # NaN without pairs
        bare_ratio = fig.p50 / bare.p50
        checks = (
            (fig.p99 < TARGET_P99_MS and fig.failures == 0 and fig.rps >= 0.95 * args.rate),
            bare_ratio <= TARGET_BARE_RATIO,
            _judged(pair_number, last / first) <= TARGET_PAGE_RATIO,
            _judged(pair_next, after_next / second) <= TARGET_PAGE_RATIO,
        )
        all_met = all_met and all(checks)
        print(f"{fig.name}:")
        print(
            f"  p99 {fig.p99:.1f} ms at {fig.rps:.1f} req/s "
            f"(target < {TARGET_P99_MS:.0f} ms at {args.rate:g}/s, none failed): "
            f"{verdict(checks[0])}"
        )
        print(
            f"  p50 {fig.p50:.1f} ms vs bare {bare.p50:.1f} ms = {bare_ratio:.2f}x "
            f"(target <= {TARGET_BARE_RATIO}x): {verdict(checks[1])}"
        )
        print(
            f"  last invoice page within {TARGET_PAGE_RATIO}x of the first (done p50): by number "
            f"{pair_number:.2f}x paired {verdict(checks[2])} ({last / first:.2f}x under load); "
            f"by Next {pair_next:.2f}x paired {verdict(checks[3])} ({after_next / second:.2f}x "
            "under load)"
        )
        if fig.unanswered or fig.problems:
            print(
                f"  work behind the acks: {fig.unanswered} response URLs never answered, "
                f"{len(fig.problems)} failed answers {sorted(set(fig.problems))[:5]}"
            )
        summaries.append(
            f"{fig.name.removeprefix('app on ')}: p50 {fig.p50:.1f} ms ({bare_ratio:.2f}x bare), "
            f"p99 {fig.p99:.1f} ms, {fig.rps:.0f} req/s, last page {pair_number:.2f}x paired "
            f"({last / first:.2f}x under load; Next {pair_next:.2f}x paired)"
        )
    busiest = max(f.others_busy for f in [*results, bare])
    if busiest > NOISY:
        print(
            f"Note: other processes kept {busiest:.0%} of the machine busy during a run; "
            "latency tails then measure the machine as much as the app."
        )
    print(f"Generator lateness at most {max(f.late_ms for f in [*results, bare]):.1f} ms.")
    summaries.append(f"bare p50 {bare.p50:.1f} ms; targets {'met' if all_met else 'MISSED'}")
    return summaries


def print_paired(results: list[Figures]) -> None:
    """The paired page figures of each app target."""
    print(
        "Paired, after the load: the four page requests one at a time, in turn, done p50 ms "
        "(and p90):"
    )
    for fig in results:
        if not fig.paired.get("invoices_first"):
            continue
        first, last, second, after_next = paired_figures(fig)
        p90 = {kind: percentile(fig.paired[kind], 0.9) for kind in PAIRED}
        print(
            f"  {fig.name}: {len(fig.paired['invoices_first'])} rounds; page 1 {first:.1f} "
            f"({p90['invoices_first']:.1f}), last {last:.1f} ({p90['invoices_last']:.1f}) = "
            f"{last / first:.2f}x; Next to 2 {second:.1f} ({p90['next_to_second']:.1f}), "
            f"Next to last {after_next:.1f} ({p90['next_to_last']:.1f}) = "
            f"{after_next / second:.2f}x"
        )


def paired_figures(fig: Figures) -> tuple[float, float, float, float]:
    """As `page_figures`, from the paired requests (NaN without them)."""
    return tuple(  # type: ignore[return-value]
        percentile(fig.paired.get(kind, []), 0.5) for kind in PAIRED
    )


def _judged(paired: float, under_load: float) -> float:
    """The page ratio a target is judged on: the paired one, or without pairs the one under
    load."""
    return under_load if math.isnan(paired) else paired


def paired_ratios(fig: Figures) -> tuple[float, float]:
    """Last page over page 1, by number and by Next, from the paired requests."""
    first, last, second, after_next = paired_figures(fig)
    return last / first, after_next / second


def page_figures(fig: Figures) -> tuple[float, float, float, float]:
    """Done p50s: page 1 and the last page by number, page 2 and the last page by Next."""
    return tuple(  # type: ignore[return-value]
        percentile(fig.completion.get(kind, []), 0.5)
        for kind in ("invoices_first", "invoices_last", "next_to_second", "next_to_last")
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Slack load benchmark (see the module's doc)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured load per target")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up load per target")
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--invoices", type=int, default=INVOICES)
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="a PostgreSQL URL; a scratch database is made beside it (default: TEST_DATABASE_URL)",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite target")
    parser.add_argument(
        "--page-pairs",
        type=int,
        default=100,
        help="rounds of the invoice page requests, one at a time, after the load",
    )
    parser.add_argument("--keep-logs", default=None, help="keep the servers' logs in this folder")
    parser.add_argument(
        "--settle",
        type=float,
        default=30.0,
        help="wait up to this many seconds for a quiet machine before each load",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    print(
        f"Slack load benchmark: {args.invoices:,} invoices, {args.users} users; "
        f"{args.rate:g} req/s for {args.seconds:g} s per target",
        flush=True,
    )
    results: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="slack-load-") as tmp:
        folder = Path(args.keep_logs or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if not args.no_sqlite:
            results.append(
                measure_app("app on SQLite", f"sqlite:///{folder / 'load.db'}", args, folder)
            )
        if args.postgres:
            with scratch_postgres(args.postgres) as url:
                results.append(measure_app("app on PostgreSQL", url, args, folder))
        else:
            print("  PostgreSQL: skipped (give --postgres URL or set TEST_DATABASE_URL)")
        requests_for = results[0].seeded if results else None
        if requests_for is None:  # no app target: the same requests, for no database
            requests_for = Seeded(0, 0, args.users, CreditsEntry(text=None, tiers=[]), "", "", 1)
        bare = measure_bare(args, folder, requests_for)
    summaries = report(results, bare, args)
    print("SUMMARY " + "; ".join(summaries))


if __name__ == "__main__":
    main()
