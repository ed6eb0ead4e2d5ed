"""Autopay at scale: 10,000 invoices due today across 2,000 accounts, charged against localstripe.

Run with `.venv/bin/python benchmarks/autopay.py [--invoices N] [--accounts N] [--shards N]
[--database URL]`. It starts localstripe, makes the accounts each with a Stripe customer and a
Visa card on file, inserts the invoices in bulk, and runs the `autopay` job as the worker does
(`JobRunner`, lease and all) with the payments service and the real `stripe` library over HTTP.
It prints invoices per second and the SQL statements per invoice.

localstripe serialises every PaymentIntent with a scan of everything it stores, so one instance
slows down as the charges pile up (at 10,000 it would measure localstripe, not autopay). The
accounts are therefore spread over `--shards` localstripe processes (10 by default; 1 shows the
single-instance behaviour), each account's customer on one of them, and the gateway sends each
charge to its customer's instance.

To show that the statements per invoice do not grow with the number of invoices, it first runs
a tenth of them (due the day before) and then all of them, and prints both figures.

The database is a temporary SQLite file unless `--database` names one (a PostgreSQL database
given there is filled and left as it is: use a scratch database).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, event, func, insert, select

from bot.accounts import AccountSetup, set_up_account
from bot.deps import build_deps
from bot.gateway import Intent, StripeGateway, make_stripe_client
from bot.invoices import format_invoice_number
from bot.scheduler import JobRunner
from bot.settings import Settings
from store.db import make_engine, make_session_factory, transaction
from store.enums import InvoiceKind, InvoiceStatus, PaymentStatus, VatTreatment
from store.migrate import upgrade_to_head
from store.models import Invoice, InvoiceNumberCounter, Payment

SECRET_KEY = "sk_test_autopay_benchmark"  # noqa: S105 - localstripe takes any key
DUE = date(2026, 12, 8)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# localstripe (GPL) runs in its own process, unmodified, started by this command line, which
# first turns off its habit of pickling its whole store to /tmp/localstripe.pickle after every
# change: that makes each request cost as much as everything stored so far (10,000 charges
# would take hours), and the file is shared with any other localstripe on the machine.
_LOCALSTRIPE_IN_MEMORY = (
    "import sys; from localstripe.resources import Store; "
    "Store.dump_to_disk = lambda self: None; "
    "from localstripe.server import start; sys.exit(start())"
)


def start_localstripe(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter running localstripe
        [sys.executable, "-c", _LOCALSTRIPE_IN_MEMORY, "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/js.stripe.com/v3/", timeout=1).ok:
                return process
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("localstripe did not start")
        time.sleep(0.05)


class ShardedGateway(StripeGateway):
    """The gateway over several localstripe processes: each charge goes to the instance that
    holds its customer. Only what autopay asks of Stripe (an off-session charge) is sharded."""

    def __init__(self, shards: list[StripeGateway], shard_of: dict[str, int]) -> None:
        super().__init__(shards[0]._client, no_redirects=False)
        self._shards = shards
        self._shard_of = shard_of

    def charge_off_session(self, *, customer_id: str, **kwargs: Any) -> Intent:
        shard = self._shards[self._shard_of[customer_id]]
        return shard.charge_off_session(customer_id=customer_id, **kwargs)


def make_accounts(
    engine: Engine, stripe_urls: list[str], count: int, shard_of: dict[str, int]
) -> list[int]:
    """Accounts with a Stripe customer and a Visa card on file, as the card page leaves them."""
    http = requests.Session()
    http.auth = (SECRET_KEY, "")
    stamp = time.time_ns() % 10**9
    made = []
    for n in range(count):
        shard = n % len(stripe_urls)
        stripe_url = stripe_urls[shard]
        customer = http.post(f"{stripe_url}/v1/customers", data={"name": f"Bench {n}"}).json()
        card = http.post(
            f"{stripe_url}/v1/payment_methods",
            data={
                "type": "card",
                "card[number]": "4242424242424242",
                "card[exp_month]": "12",
                "card[exp_year]": "2030",
                "card[cvc]": "123",
            },
        ).json()
        http.post(
            f"{stripe_url}/v1/payment_methods/{card['id']}/attach",
            data={"customer": customer["id"]},
        ).raise_for_status()
        with transaction_for(engine) as session:
            account = set_up_account(
                session=session,
                team_id=f"TB{stamp}{n}",
                team_name=f"Bench {n}",
                setup=AccountSetup(
                    company_name=f"Bench {n} Ltd",
                    country="GB",
                    contact_email="bench@example.com",
                    vat_reference=None,
                ),
                admin_user_id="UBENCH",
                now=datetime(2026, 11, 1, tzinfo=UTC),
            )
            account.stripe_customer_id = customer["id"]
            shard_of[customer["id"]] = shard
            account.card_payment_method_id = card["id"]
            account.card_brand, account.card_last4 = "visa", "4242"
            account.card_exp_month, account.card_exp_year = 12, 2030
            session.flush()
            made.append(account.id)
    http.close()
    return made


def transaction_for(engine: Engine) -> Any:
    return transaction(make_session_factory(engine))


def add_invoices(engine: Engine, accounts: list[int], count: int, due: date) -> None:
    """Open service invoices of £228.00, spread over the accounts, inserted in bulk."""
    with transaction_for(engine) as session:
        start = int(session.scalar(select(func.coalesce(func.max(Invoice.sequence), 0))) or 0) + 1
        issued = due - timedelta(days=14)
        rows = [
            {
                "account_id": accounts[n % len(accounts)],
                "sequence": start + n,
                "number": format_invoice_number(start + n),
                "kind": InvoiceKind.SERVICES,
                "issue_date": issued,
                "tax_point": issued,
                "due_date": due,
                "currency": "GBP",
                "vat_treatment": VatTreatment.UK_STANDARD,
                "vat_rate": Decimal("0.2"),
                "customer_name": "Bench Ltd",
                "customer_address": "",
                "customer_country": "GB",
                "net_minor": 19000,
                "vat_minor": 3800,
                "gross_minor": 22800,
                "status": InvoiceStatus.OPEN,
                "created_at": datetime(2026, 11, 1, tzinfo=UTC),
            }
            for n in range(count)
        ]
        session.execute(insert(Invoice), rows)
        session.execute(
            InvoiceNumberCounter.__table__.update().values(next_value=start + count)  # type: ignore[attr-defined]
        )


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock()
        self.total = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        with self._lock:
            self.total += 1

    def reset(self) -> None:
        with self._lock:
            self.total = 0


def run_autopay(
    runner: JobRunner, clock: Clock, day: date, counter: StatementCounter
) -> tuple[str, float, int]:
    clock.now = datetime(day.year, day.month, day.day, 0, 7, tzinfo=UTC)
    counter.reset()
    started = time.perf_counter()
    result = runner.run("autopay")
    return result.outcome, time.perf_counter() - started, counter.total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--shards", type=int, default=10, help="localstripe processes")
    parser.add_argument("--database", default=None, help="a database URL (default: temp SQLite)")
    args = parser.parse_args(argv)
    first = max(1, args.invoices // 10)

    ports = [free_port() for _ in range(args.shards)]
    stripe_urls = [f"http://127.0.0.1:{port}" for port in ports]
    servers = [start_localstripe(port) for port in ports]
    folder = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite:///{Path(folder.name) / 'autopay.db'}"
    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
        settings = Settings(
            SLACK_BOT_TOKEN="xoxb-benchmark",  # type: ignore[arg-type] # noqa: S106 - never sent
            SLACK_API_URL="http://127.0.0.1:9/api/",  # never called: no finance channels
            STRIPE_API_KEY=SECRET_KEY,  # type: ignore[arg-type]
            STRIPE_API_BASE=stripe_urls[0],
            DATABASE_URL=url,
            AUTOPAY_CONCURRENCY=int(os.environ.get("AUTOPAY_CONCURRENCY", "4")),
        )
        clock = Clock(datetime(2026, 11, 24, tzinfo=UTC))
        shard_of: dict[str, int] = {}
        gateway = ShardedGateway(
            [
                StripeGateway(
                    make_stripe_client(
                        settings.model_copy(update={"STRIPE_API_BASE": url_}),
                        max_network_retries=0,
                    ),
                    no_redirects=False,
                )
                for url_ in stripe_urls
            ],
            shard_of,
        )
        deps = replace(build_deps(settings, engine=engine, clock=clock), gateway=gateway)
        print(
            f"Setting up {args.accounts:,} accounts with a card, over {args.shards} localstripe "
            "processes …",
            flush=True,
        )
        set_up = time.perf_counter()
        accounts = make_accounts(engine, stripe_urls, args.accounts, shard_of)
        add_invoices(
            engine, accounts[: max(1, len(accounts) // 10)], first, DUE - timedelta(days=1)
        )
        add_invoices(engine, accounts, args.invoices, DUE)
        print(f"  done in {time.perf_counter() - set_up:.0f} s", flush=True)

        counter = StatementCounter(engine)
        runner = JobRunner(deps, holder="benchmark")
        print(f"Autopay ({settings.AUTOPAY_CONCURRENCY} charges at a time, {engine.dialect.name}):")
        rates = []
        for label, day, expected in (
            (f"{first:,} invoices", DUE - timedelta(days=1), first),
            (f"{args.invoices:,} invoices", DUE, args.invoices),
        ):
            outcome, seconds, statements = run_autopay(runner, clock, day, counter)
            assert outcome.startswith(f"{expected} attempted: {expected} paid"), outcome
            print(
                f"  {label:>17}: {expected / seconds:7.1f} invoices/s  "
                f"{statements / expected:6.1f} SQL statements per invoice  ({seconds:.1f} s)"
            )
            rates.append(f"{label} at {expected / seconds:.1f}/s")
        with transaction_for(engine) as session:
            paid = session.scalar(
                select(func.count())
                .select_from(Payment)
                .where(Payment.status == PaymentStatus.SUCCEEDED)
            )
            accounts_charged = session.scalar(select(func.count(func.distinct(Payment.account_id))))
        print(f"  {paid:,} payments succeeded, on {accounts_charged:,} accounts")
        print(
            f"SUMMARY {engine.dialect.name}: {', '.join(rates)}; "
            f"{paid:,} payments succeeded for {first + args.invoices:,} invoices"
        )
    finally:
        engine.dispose()
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
        folder.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
