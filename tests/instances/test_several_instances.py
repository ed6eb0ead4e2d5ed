"""Two `serve` processes and two workers against one PostgreSQL, load spread over both (issue 8).

The processes are the app as deployed (`tests/instances/cluster.py`): two gunicorn servers on
two ports, two schedulers, one database, localstripe and the fake Slack Web API. Signed Slack
requests go to both servers at once, the same click often to each of them:

- credits purchases whose Pay Now is pressed four times, twice on each server (a double click
  and Slack's retry landing on different instances);
- the pay modal submitted by three people at once for overlapping invoices, each press sent
  to both servers;
- usage reports, each sent to both servers;
- two admins adding people at the same time, then removing each other at the same moment.

and then what Stripe, Slack and the database hold is compared with what was accepted: one
succeeded PaymentIntent per paid invoice (read from localstripe with the `stripe` library),
credits granted once per purchase, the balance exact, every accepted user change present, one
admin left, invoice numbers gap-free. Both workers run beside the servers throughout, their
clocks shifted so that 09:00 in London comes about 20 s after they start: each job due then
runs once between them (one `job_leases` row per slot, one run in their logs, one digest in
the finance channel).

The last test is a lost update this suite found, now fixed: two admins saving "Choose
notifications" forms opened at the same time, one on each server, keep both changes.

PostgreSQL only (TEST_DATABASE_URL names the server; a scratch database is created beside it
and dropped afterwards); the worker test needs libfaketime (`apt-get install libfaketime`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import credits, invoices, pricing
from bot.accounts import set_finance_channel
from bot.deps import Deps, build_deps
from bot.gateway import make_stripe_client
from bot.invoices import format_invoice_number
from bot.notifications import Kind
from bot.payments import Payments
from bot.sandbox.slack_api import FakeSlack
from bot.sandbox.slack_requests import (
    SlackRequestSender,
    checkboxes,
    plain_text,
    static_select,
    users_select,
)
from bot.scheduler import JOBS, slot_key
from bot.ui.finance import ACCOUNT_KINDS, MONEY_KINDS
from bot.ui.ids import Act, Blk, Cb
from bot.users import add_user, change_role
from store.db import transaction
from store.enums import InvoiceKind, InvoiceStatus, LedgerKind, PaymentStatus, Role
from store.models import (
    Account,
    AccountUser,
    AuditEntry,
    CreditLedgerEntry,
    Invoice,
    JobLease,
    NotificationPreference,
    Payment,
)
from tests.factories import make_account
from tests.instances.cluster import LONDON, Cluster, faketime_library
from tests.payments.conftest import VISA, gateway_for_tests, stripe_settings
from tests.slack.conftest import text_of

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(
    not POSTGRES_URL,
    reason="several instances share one PostgreSQL: TEST_DATABASE_URL is not set",
)

SIGNING_SECRET = "instances-signing-secret"
BOT_TOKEN = "xoxb-instances-token"
USAGE_TOKEN = "instances-usage-token"
TEAM_ID = "T0MULTI"
ADMIN, ADMIN_2 = "UADMIN", "UADMIN2"
ADMIN_3 = "UADMIN3"  # finance until the notifications test makes them a second admin
BUYERS = {f"UBUY{n}": q for n, q in enumerate((100, 250, 40, 600, 1, 99, 500, 1_234))}  # finance
PAYERS = ("UPAY1", "UPAY2", "UPAY3")  # finance
NEWCOMERS = tuple(f"UNEW{n}" for n in range(8))  # added by the two admins, four each
PORTAL_CHANNEL, FINANCE_CHANNEL = "C0PORTAL", "C0FINANCE"
SERVICE_INVOICES = 6
USAGE_REPORTS, USAGE_CREDITS = 30, 7
SETTLED = (PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.REQUIRES_ACTION)


@dataclass
class Running:
    cluster: Cluster
    slack: FakeSlack
    deps: Deps  # this process's view of the same database and localstripe, to arrange and read
    account_id: int
    service_invoices: list[int]

    def read(self, fn: Callable[[Any], Any]) -> Any:
        with transaction(self.deps.session_factory) as session:
            return fn(session)

    def sender(self, server: int) -> SlackRequestSender:
        return SlackRequestSender(
            f"{self.cluster.servers[server % 2]}/slack/events",
            SIGNING_SECRET,
            team_id=TEAM_ID,
            fake=self.slack,
        )


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    assert POSTGRES_URL is not None
    slack = FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID, team_name="Multi Ltd").start()
    for user in (ADMIN, ADMIN_2, ADMIN_3, *BUYERS, *PAYERS, *NEWCOMERS):
        slack.add_user(user, user.lower())
    slack.add_channel(PORTAL_CHANNEL, "portal")
    slack.add_channel(FINANCE_CHANNEL, "finance")
    cluster = Cluster(
        postgres_url=POSTGRES_URL,
        slack=slack,
        signing_secret=SIGNING_SECRET,
        bot_token=BOT_TOKEN,
        usage_token=USAGE_TOKEN,
    )
    deps = None
    try:
        cluster.create_database()
        assert "is at revision" in cluster.migrate()
        stripe_server = cluster.start_stripe()
        settings = stripe_settings(
            stripe_server,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_API_URL=slack.api_url,
            DATABASE_URL=cluster.database_url,
        )
        deps = build_deps(settings)
        deps = replace(deps, gateway=gateway_for_tests(settings))
        if faketime_library() is not None:  # first: their jobs fall due 20 s after this
            cluster.start_workers()
        account_id, service_invoices = arrange(deps, stripe_server)
        cluster.start_servers()
        cluster.wait_until_serving()
        # Stripe's webhooks go to the second server while the first may be settling.
        stripe_server.register_webhook(f"{cluster.servers[1]}/stripe/webhook")
        slack.clear()
        yield Running(cluster, slack, deps, account_id, service_invoices)
    finally:
        left = cluster.stop()
        slack.stop()
        if deps is not None:
            deps.engine.dispose()
        cluster.drop_database()
    assert left == [], f"processes left running after the test: {left}"


def arrange(deps: Deps, stripe_server: Any) -> tuple[int, list[int]]:
    """The workspace's account: two admins, buyers and payers (finance), the finance channel,
    a Visa card on file (through Stripe, as the card page does it) and open service invoices."""
    now = datetime.now(UTC)
    with transaction(deps.session_factory) as session:
        account = make_account(session, now=now, admin_user_id=ADMIN)
        account.workspace.team_id = TEAM_ID
        add_user(
            session=session,
            account=account,
            slack_user_id=ADMIN_2,
            role=Role.ADMIN,
            added_by=ADMIN,
            now=now,
        )
        for user in (*BUYERS, *PAYERS, ADMIN_3):
            add_user(
                session=session,
                account=account,
                slack_user_id=user,
                role=Role.FINANCE,
                added_by=ADMIN,
                now=now,
            )
        set_finance_channel(
            session=session, account=account, channel_id=FINANCE_CHANNEL, actor=ADMIN, now=now
        )
        session.flush()
        account_id = account.id
    payments = Payments.from_deps(deps)
    intent = payments.open_card_setup(account_id=account_id)
    assert intent.client_secret is not None
    confirmed = stripe_server.confirm_setup_intent(intent.client_secret, VISA)
    assert confirmed.get("status") == "succeeded", confirmed
    saved = payments.save_card_from_setup_intent(
        setup_intent_id=intent.id, actor=ADMIN, account_id=account_id
    )
    assert saved is not None
    assert saved.saved
    made = []
    with transaction(deps.session_factory) as session:
        account = session.get_one(Account, account_id)
        service = next(s for s in pricing.active_services(session=session) if s.name == "Training")
        for n in range(SERVICE_INVOICES):
            quote = pricing.quote_service_for(
                session=session,
                account=account,
                service_id=service.id,
                hours=Decimal(n + 1),
                on=now.date(),
            )
            invoice = invoices.create_invoice(
                session=session,
                account=account,
                kind=InvoiceKind.SERVICES,
                quotes=[quote],
                actor=ADMIN,
                now=now,
            )
            made.append(invoice.id)
    return account_id, made


# -- Helpers ---------------------------------------------------------------------------------------


def top_id(slack: FakeSlack, user: str) -> str | None:
    stack = slack.modal_stack(user)
    return str(stack[-1]["id"]) if stack else None


def top_modal(
    slack: FakeSlack, user: str, callback_id: str, *, replacing: str | None, timeout: float = 15.0
) -> Any:
    """The modal on top of `user`'s stack once it is a new one (not `replacing`) with
    `callback_id`."""
    deadline = time.monotonic() + timeout
    while True:
        stack = slack.modal_stack(user)
        if stack and stack[-1].get("callback_id") == callback_id and stack[-1]["id"] != replacing:
            return stack[-1]
        assert time.monotonic() < deadline, f"{user}: no new {callback_id} modal; stack {stack}"
        time.sleep(0.05)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run `calls` in threads released together; their results in order."""
    start = threading.Barrier(len(calls))

    def released(call: Callable[[], Any]) -> Any:
        start.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(released, call) for call in calls]
        return [future.result(timeout=60) for future in futures]


def submit(
    running: Running, server: int, user: str, view: Any, values: Any, **kwargs: Any
) -> requests.Response:
    with running.sender(server) as sender:
        return sender.view_submission(user, view, values, **kwargs)


# -- The flows, each a person at their own pace; the people at once --------------------------------


def buy_credits(running: Running, index: int, user: str, quantity: int) -> list[int]:
    """`/portal buy N` on one server, Confirm on the other, then Pay Now four times at once:
    twice on each server, one of them Slack's retry. The HTTP statuses of the four."""
    before = top_id(running.slack, user)
    with running.sender(index) as sender:
        opened = sender.slash_command(
            user, f"buy {quantity}", channel_id=PORTAL_CHANNEL, channel_name="portal"
        )
    assert opened.status_code == 200, opened.text
    modal = top_modal(running.slack, user, Cb.PURCHASE_CREDITS, replacing=before)
    entered = {Blk.CREDITS: {Act.CREDITS_INPUT: plain_text(str(quantity))}}
    pushed = submit(running, index + 1, user, modal, entered)
    assert pushed.json()["response_action"] == "push", pushed.text
    confirm = top_modal(running.slack, user, Cb.PURCHASE_CONFIRM, replacing=modal["id"])
    presses = all_at_once(
        [
            lambda: submit(running, index, user, confirm, {}),
            lambda: submit(running, index + 1, user, confirm, {}, apply_response=False),
            lambda: submit(running, index, user, confirm, {}, apply_response=False, retry_num=1),
            lambda: submit(running, index + 1, user, confirm, {}, apply_response=False),
        ]
    )
    return [press.status_code for press in presses]


def pay_invoices(running: Running, index: int, user: str, chosen: list[int]) -> list[int]:
    """`/portal pay`, tick `chosen`, Pay Now: the same press sent to both servers at once."""
    before = top_id(running.slack, user)
    with running.sender(index) as sender:
        opened = sender.slash_command(user, "pay", channel_id=PORTAL_CHANNEL, channel_name="portal")
    assert opened.status_code == 200, opened.text
    modal = top_modal(running.slack, user, Cb.PAY_INVOICES, replacing=before)
    ticked = {Blk.INVOICES: {Act.INVOICES_INPUT: checkboxes([str(i) for i in chosen])}}
    presses = all_at_once(
        [
            lambda: submit(running, index, user, modal, ticked),
            lambda: submit(running, index + 1, user, modal, ticked, apply_response=False),
        ]
    )
    return [press.status_code for press in presses]


def report_usage(running: Running, reference: str) -> list[int]:
    """One usage report, sent to both servers at once (the platform retrying elsewhere)."""
    body: dict[str, Any] = {
        "account_id": running.account_id,
        "credits": USAGE_CREDITS,
        "reference": reference,
        "time": datetime.now(UTC).isoformat(),
    }

    def send(server: str) -> int:
        return requests.post(
            f"{server}/api/usage",
            json=body,
            headers={"Authorization": f"Bearer {USAGE_TOKEN}"},
            timeout=30,
        ).status_code

    return all_at_once(
        [lambda: send(running.cluster.servers[0]), lambda: send(running.cluster.servers[1])]
    )


def add_people(running: Running, index: int, admin: str, people: list[str]) -> None:
    """ "Add user" for each of `people` in turn, alternating between the servers."""
    for n, person in enumerate(people):
        before = top_id(running.slack, admin)
        with running.sender(index + n) as sender:
            sender.block_action(admin, Act.ADD_USER, channel_id=PORTAL_CHANNEL)
        modal = top_modal(running.slack, admin, Cb.ADD_USER, replacing=before)
        values = {
            Blk.USER: {Act.USER_INPUT: users_select(person)},
            Blk.ROLE: {Act.ROLE_INPUT: static_select("viewer")},
        }
        answer = submit(running, index + n + 1, admin, modal, values)
        assert answer.status_code == 200, answer.text
        assert not answer.content.strip(), answer.text  # accepted: the modal closes


def remove_each_other(running: Running) -> list[int]:
    """The two admins press "Remove" on each other at the same moment, on different servers."""

    def remove(server: int, admin: str, other: str) -> int:
        with running.sender(server) as sender:
            return sender.block_action(
                admin, Act.REMOVE_USER, value=other, channel_id=PORTAL_CHANNEL
            ).status_code

    return all_at_once([lambda: remove(0, ADMIN, ADMIN_2), lambda: remove(1, ADMIN_2, ADMIN)])


def said_to(running: Running, users: tuple[str, ...]) -> list[str]:
    """What `users` were told, privately or in their modals (for a failing assertion)."""
    return [
        f"{call.method} {call.params.get('user') or call.params.get('view_id')}: "
        + text_of(call.params)[:300]
        for call in running.slack.calls()
        if call.method in ("chat.postEphemeral", "views.update", "response_url")
        and (call.params.get("user") in users or call.method == "views.update")
    ]


# -- Reading back ----------------------------------------------------------------------------------


def succeeded_intents(running: Running) -> list[Any]:
    """Every succeeded PaymentIntent at Stripe, read with the `stripe` library."""
    client = make_stripe_client(running.deps.settings, max_network_retries=0)
    listed = client.v1.payment_intents.list(params={"limit": 100})
    assert not listed.has_more
    return [intent for intent in listed.data if intent.status == "succeeded"]


def unsettled_payments(running: Running) -> int:
    return int(
        running.read(
            lambda s: s.scalar(
                select(func.count()).select_from(Payment).where(Payment.status.not_in(SETTLED))
            )
        )
    )


# -- The tests -------------------------------------------------------------------------------------


def test_two_servers_under_concurrent_load_lose_nothing_and_charge_once(
    running: Running,
) -> None:
    first, second, third = running.service_invoices[:3]
    fourth, fifth, sixth = running.service_invoices[3:]
    flows: list[Callable[[], Any]] = [
        *(
            (lambda i=i, u=u, q=q: buy_credits(running, i, u, q))
            for i, (u, q) in enumerate(BUYERS.items())
        ),
        # Two people pay the same two invoices; a third pays an overlapping pair.
        lambda: pay_invoices(running, 0, PAYERS[0], [first, second]),
        lambda: pay_invoices(running, 1, PAYERS[1], [first, second]),
        lambda: pay_invoices(running, 0, PAYERS[2], [second, third]),
        lambda: [report_usage(running, f"use-{n}") for n in range(USAGE_REPORTS)],
        lambda: add_people(running, 0, ADMIN, list(NEWCOMERS[:4])),
        lambda: add_people(running, 1, ADMIN_2, list(NEWCOMERS[4:])),
    ]
    results = all_at_once(flows)
    # A second round on the invoices left: the same three invoices chosen by two people.
    results += all_at_once(
        [
            lambda: pay_invoices(running, 1, PAYERS[0], [fourth, fifth, sixth]),
            lambda: pay_invoices(running, 0, PAYERS[1], [fourth, fifth, sixth]),
        ]
    )
    removals = remove_each_other(running)

    buys = results[: len(BUYERS)]
    assert all(statuses == [200] * 4 for statuses in buys), buys
    pays = results[len(BUYERS) : len(BUYERS) + 3] + results[-2:]
    assert all(statuses == [200, 200] for statuses in pays), pays
    usage_statuses = Counter(s for pair in results[len(BUYERS) + 3] for s in pair)
    # Each reference recorded once (201); its twin on the other server is the duplicate (200).
    assert usage_statuses == {201: USAGE_REPORTS, 200: USAGE_REPORTS}
    assert removals == [200, 200]

    # Every Pay Now press, wherever it landed, ends by showing its outcome in its modal; the
    # charges happen after the acks, so the state is read once every press has been answered.
    presses = 4 * len(BUYERS) + 2 * 3 + 2 * 2

    def every_press_answered() -> bool:
        return (
            len(running.slack.calls("views.update")) >= presses and unsettled_payments(running) == 0
        )

    wait_until(every_press_answered, 30, "every Pay Now press to be answered")
    time.sleep(1)  # a charge made late by some press would show in what follows

    # -- No double charge: one succeeded PaymentIntent per paid invoice, for its amount.
    every_invoice = running.read(lambda s: list(s.scalars(select(Invoice).order_by(Invoice.id))))
    by_number = {invoice.number: invoice for invoice in every_invoice}
    intents = succeeded_intents(running)
    charged: Counter[str] = Counter()
    for intent in intents:
        covered = intent.metadata["invoices"].split(",")
        charged.update(covered)
        assert intent.amount == sum(by_number[number].gross_minor for number in covered)
    paid = {i.number for i in every_invoice if i.status is InvoiceStatus.PAID}
    assert set(charged) == paid
    assert set(charged.values()) == {1}, charged
    # The contested invoices: the second of the first round was paid once, by one of the two
    # choices that held it; the second round's three by one payment.
    assert by_number[format_invoice_number(2)].status is InvoiceStatus.PAID
    later = [by_number[format_invoice_number(n)].status for n in (4, 5, 6)]
    assert later == [InvoiceStatus.PAID] * 3, said_to(running, PAYERS)
    payments = running.read(lambda s: list(s.scalars(select(Payment))))
    assert sum(p.status is PaymentStatus.SUCCEEDED for p in payments) == len(intents)

    # -- Credits: one invoice and one grant per purchase; the balance is every change.
    bought: dict[int, int] = running.read(
        lambda s: {
            i.id: credits.credits_on_invoice(i)
            for i in s.scalars(select(Invoice).where(Invoice.kind == InvoiceKind.CREDITS))
        }
    )
    assert sorted(bought.values()) == sorted(BUYERS.values())
    assert set(BUYERS) <= {p.requested_by for p in payments if p.status is PaymentStatus.SUCCEEDED}
    grants = running.read(
        lambda s: list(
            s.scalars(
                select(CreditLedgerEntry).where(CreditLedgerEntry.kind == LedgerKind.PURCHASE)
            )
        )
    )
    assert sorted(g.invoice_id for g in grants) == sorted(bought)
    balance = running.read(lambda s: credits.balance(session=s, account_id=running.account_id))
    assert balance == sum(BUYERS.values()) - USAGE_REPORTS * USAGE_CREDITS

    # -- Users: every accepted addition is there; exactly one admin removed the other.
    members = running.read(
        lambda s: {
            m.slack_user_id: (m.role, m.added_by)
            for m in s.scalars(
                select(AccountUser).where(AccountUser.account_id == running.account_id)
            )
        }
    )
    for n, person in enumerate(NEWCOMERS):
        assert members[person] == (Role.VIEWER, ADMIN if n < 4 else ADMIN_2)
    admins = [user for user, (role, _) in members.items() if role is Role.ADMIN]
    assert admins in ([ADMIN], [ADMIN_2])  # one of the two is left
    removed = running.read(
        lambda s: list(
            s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "user.removed"))
        )
    )
    assert len(removed) == 1

    # -- Invoice numbers: sequential and gap-free across both servers.
    assert [i.sequence for i in every_invoice] == list(range(1, len(every_invoice) + 1))
    assert [i.number for i in every_invoice] == [
        format_invoice_number(n) for n in range(1, len(every_invoice) + 1)
    ]
    assert len(every_invoice) == SERVICE_INVOICES + len(BUYERS)

    # -- Nobody was shown an error, and every buyer was told of success exactly once.
    said = [json.dumps(call.params) for call in running.slack.calls()]
    assert not [text for text in said if "something went wrong" in text.lower()]
    for buyer in BUYERS:
        told = [
            call
            for call in running.slack.calls("chat.postEphemeral")
            if call.params.get("user") == buyer
            and "Your transaction was successful" in json.dumps(call.params)
        ]
        assert len(told) == 1, (buyer, len(told))


def test_each_scheduled_job_runs_once_across_both_workers(running: Running) -> None:
    if faketime_library() is None:
        pytest.skip(
            "needs libfaketime to bring the workers' cron time near: apt-get install libfaketime"
        )
    cluster = running.cluster
    holders = cluster.worker_holders()
    assert cluster.fire_at is not None
    fire = cluster.fire_at
    slot = slot_key(fire)
    due = sorted(
        spec.id
        for spec in JOBS
        if spec.trigger(LONDON).get_next_fire_time(None, fire - timedelta(seconds=1)) == fire
    )
    assert {"daily-digest", "reconcile-payments"} <= set(due)

    def leases() -> list[JobLease]:
        found: list[JobLease] = running.read(
            lambda s: list(s.scalars(select(JobLease).where(JobLease.slot == slot)))
        )
        return found

    # Both workers were scheduling before the slot (their clocks are shifted alike).
    assert all(started < fire for _, started in holders.values()), (holders, fire)
    fire_in_real_time = fire - timedelta(seconds=cluster.clock_shift)
    wait_until(
        lambda: len(leases()) == len(due) and all(lease.finished_at for lease in leases()),
        timeout=max(5.0, (fire_in_real_time - datetime.now(UTC)).total_seconds() + 30),
        what=f"the {slot} runs of {due} to finish",
    )
    time.sleep(2)  # a late second run, if there were one, would show now
    found = leases()
    assert sorted(lease.job_id for lease in found) == due  # one lease per (job, slot)
    assert {lease.holder for lease in found} <= {holder for holder, _ in holders.values()}
    assert all(lease.outcome and not lease.outcome.startswith("failed") for lease in found)

    # In the workers' logs: each job ran once for the slot, whichever worker fired it.
    runs: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    for worker in cluster.workers:
        for entry in worker.log_entries():
            message = str(entry.get("message", ""))
            for job_id in due:
                if message.startswith(f"job {job_id} ({slot})"):
                    if "skipped" in message:
                        skipped[job_id] += 1
                    else:
                        runs[job_id] += 1
    assert runs == Counter(dict.fromkeys(due, 1)), (runs, skipped)
    # The daily digest reached the finance channel once.
    digests = [
        call
        for call in running.slack.calls("chat.postMessage")
        if call.params.get("channel") == FINANCE_CHANNEL
        and str(call.params.get("text", "")).startswith("Daily digest")
    ]
    assert len(digests) == 1
    held = ", ".join(
        f"{lease.job_id} {(lease.finished_at - lease.taken_at).total_seconds():.3f} s"
        for lease in found
        if lease.finished_at is not None
    )
    print(
        f"\n{slot}: {', '.join(due)} ran once each (leases held: {held}); the other worker "
        f"skipped {sum(skipped.values())} of them"
    )


def test_two_admins_turning_off_different_notifications_at_once_keep_both(
    running: Running,
) -> None:
    """Two admins open "Choose notifications" on different servers; one turns off "User added
    or removed", the other "Payment failed", and both press Save at the same moment. Both
    changes were accepted ("successfully updated"), so both kinds should be off."""

    def admins_now(session: Session) -> list[str]:
        return sorted(
            session.scalars(
                select(AccountUser.slack_user_id).where(
                    AccountUser.account_id == running.account_id, AccountUser.role == Role.ADMIN
                )
            )
        )

    if len(running.read(admins_now)) < 2:  # the load test left one admin: a second one
        with transaction(running.deps.session_factory) as session:
            change_role(
                session=session,
                account=session.get_one(Account, running.account_id),
                slack_user_id=ADMIN_3,
                role=Role.ADMIN,
                actor=running.read(admins_now)[0],
                now=datetime.now(UTC),
            )
    admins: list[str] = running.read(admins_now)[:2]
    assert len(admins) == 2
    turned_off = {admins[0]: Kind.USERS, admins[1]: Kind.PAYMENT_FAILED}
    forms = {}
    for server, admin in enumerate(admins):
        before = top_id(running.slack, admin)
        with running.sender(server) as sender:
            sender.block_action(admin, Act.FINANCE_NOTIFICATIONS, channel_id=PORTAL_CHANNEL)
        forms[admin] = top_modal(running.slack, admin, Cb.FINANCE_NOTIFICATIONS, replacing=before)

    def save(server: int, admin: str) -> requests.Response:
        off = turned_off[admin]
        values = {
            Blk.NOTIFY_MONEY: {
                Act.NOTIFY_MONEY_INPUT: checkboxes(k.value for k in MONEY_KINDS if k is not off)
            },
            Blk.NOTIFY_ACCOUNT: {
                Act.NOTIFY_ACCOUNT_INPUT: checkboxes(k.value for k in ACCOUNT_KINDS if k is not off)
            },
            Blk.PAYMENT_THRESHOLD: {Act.PAYMENT_THRESHOLD_INPUT: plain_text("")},
        }
        return submit(running, server, admin, forms[admin], values)

    answers = all_at_once([lambda: save(0, admins[0]), lambda: save(1, admins[1])])
    assert [answer.status_code for answer in answers] == [200, 200]
    wait_until(
        lambda: (
            sum(
                "successfully updated" in text_of(call.params)
                for call in running.slack.calls()
                if call.method == "chat.postMessage" and call.params.get("channel") in admins
            )
            >= 2
        ),
        15,
        "both admins to be told their settings were saved",
    )
    enabled = running.read(
        lambda s: {
            p.kind: p.enabled
            for p in s.scalars(
                select(NotificationPreference).where(
                    NotificationPreference.account_id == running.account_id
                )
            )
        }
    )
    assert enabled.get(Kind.USERS, True) is False
    assert enabled.get(Kind.PAYMENT_FAILED, True) is False
