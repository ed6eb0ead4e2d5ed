"""`/portal finance` and the finance channel feed: the channel, what is sent where, the payment
threshold, pause, "Send test notification", the credit balance settings, autopay, and each
notification kind the Slack side and the jobs post, asserted on what the fake Slack received.

Over signed requests against the real app; the jobs run through the worker's `JobRunner` with the
test's clock (the time travels, nobody sleeps).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import invoices, notifications, pricing
from bot.links import issue_link, open_password_window
from bot.sandbox.slack_api import RecordedCall
from bot.sandbox.slack_requests import (
    checkboxes,
    conversations_select,
    plain_text,
    static_select,
    users_select,
)
from bot.scheduler import JobRunner
from bot.ui import account as account_ui
from bot.ui import finance as finance_ui
from bot.ui.ids import Act, Blk, Cb
from store.enums import InvoiceKind, LinkPurpose
from store.models import (
    Account,
    FinanceSettings,
    InvoiceThread,
    NotificationPreference,
    PasswordCredential,
)
from tests.slack.conftest import (
    ADMIN,
    FINANCE,
    FINANCE_CHANNEL,
    STRANGER,
    VIEWER,
    WORKSPACE_ADMIN,
    Portal,
    action_ids,
    text_of,
)

Kind = notifications.Kind
SAVED = finance_ui.SAVED
SECURITY = "C0SECURITY"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


# -- Helpers -------------------------------------------------------------------------------------


def opened_modal(app: Portal, user: str, callback_id: str) -> dict[str, Any]:
    """The modal the app opened for `user`, once views.open has arrived."""
    app.fake.wait_for(
        "views.open",
        lambda call: (
            call.response.get("ok") is True and call.response["view"]["callback_id"] == callback_id
        ),
    )
    stack = app.fake.modal_stack(user)
    assert stack, "no modal open"
    assert stack[-1]["callback_id"] == callback_id
    return stack[-1]


def wait_replies(
    app: Portal, contains: str, count: int, timeout: float = 5.0
) -> list[RecordedCall]:
    deadline = time.monotonic() + timeout
    while True:
        found = [c for c in app.replies() if contains in text_of(c.params)]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, f"{len(found)} answers contain {contains!r}"
            return found
        time.sleep(0.02)


def posted(app: Portal, channel: str, contains: str = "") -> list[RecordedCall]:
    """Messages the app posted in `channel` (not ephemeral), oldest first."""
    return [
        call
        for call in app.fake.calls("chat.postMessage")
        if call.params.get("channel") == channel and contains in text_of(call.params)
    ]


def wait_posted(app: Portal, channel: str, contains: str) -> RecordedCall:
    return app.fake.wait_for(
        "chat.postMessage",
        lambda c: c.params.get("channel") == channel and contains in text_of(c.params),
    )


def with_channel(app: Portal) -> int:
    """An account whose finance channel is #finance (set as an admin would)."""
    account_id = app.make_account()
    app.command(ADMIN, f"finance <#{FINANCE_CHANNEL}|finance>")
    app.wait_reply(f"The finance channel is now <#{FINANCE_CHANNEL}>.")
    app.fake.clear()
    return account_id


def feed_snapshot(app: Portal) -> tuple[Any, ...]:
    def read(session: Session) -> tuple[Any, ...]:
        rows = [
            (r.paused, r.payment_threshold_minor, r.low_balance_below, r.top_up_below)
            for r in session.scalars(select(FinanceSettings))
        ]
        prefs = sorted(
            (p.kind.value, p.enabled, p.channel_id)
            for p in session.scalars(select(NotificationPreference))
        )
        accounts = [(a.finance_channel_id, a.autopay) for a in session.scalars(select(Account))]
        return (rows, prefs, accounts)

    return tuple(app.read(read))


def add_user(app: Portal, user: str, role: str) -> None:
    app.sender.block_action(ADMIN, Act.ADD_USER)
    modal = opened_modal(app, ADMIN, Cb.ADD_USER)
    app.sender.view_submission(
        ADMIN,
        modal,
        {
            Blk.USER: {Act.USER_INPUT: users_select(user)},
            Blk.ROLE: {Act.ROLE_INPUT: static_select(role)},
        },
    )


def notifications_values(off: set[Kind], threshold: str = "") -> dict[str, Any]:
    return {
        Blk.NOTIFY_MONEY: {
            Act.NOTIFY_MONEY_INPUT: checkboxes(
                k.value for k in finance_ui.MONEY_KINDS if k not in off
            )
        },
        Blk.NOTIFY_ACCOUNT: {
            Act.NOTIFY_ACCOUNT_INPUT: checkboxes(
                k.value for k in finance_ui.ACCOUNT_KINDS if k not in off
            )
        },
        Blk.PAYMENT_THRESHOLD: {Act.PAYMENT_THRESHOLD_INPUT: plain_text(threshold)},
    }


def choose_notifications(app: Portal, off: set[Kind], threshold: str = "") -> requests.Response:
    app.sender.block_action(ADMIN, Act.FINANCE_NOTIFICATIONS)
    modal = opened_modal(app, ADMIN, Cb.FINANCE_NOTIFICATIONS)
    return app.sender.view_submission(ADMIN, modal, notifications_values(off, threshold))


def route(app: Portal, kind: Kind, channel: str | None) -> requests.Response:
    app.sender.block_action(ADMIN, Act.FINANCE_ROUTE)
    modal = opened_modal(app, ADMIN, Cb.FINANCE_ROUTE)
    return app.sender.view_submission(
        ADMIN,
        modal,
        {
            Blk.ROUTE_KIND: {Act.ROUTE_KIND_INPUT: static_select(kind.value)},
            Blk.ROUTE_CHANNEL: {Act.ROUTE_CHANNEL_INPUT: conversations_select(channel)},
        },
    )


def service_invoice(app: Portal, account_id: int, hours: str = "2") -> int:
    """An open Consultancy invoice (£95/h, UK VAT), made as "Create Invoice" makes it."""
    with app.session() as session:
        account = session.get_one(Account, account_id)
        service = next(
            s for s in pricing.active_services(session=session) if s.name == "Consultancy"
        )
        quote = pricing.quote_service_for(
            session=session,
            account=account,
            service_id=service.id,
            hours=Decimal(hours),
            on=app.clock().date(),
        )
        invoice = invoices.create_invoice(
            session=session,
            account=account,
            kind=InvoiceKind.SERVICES,
            quotes=[quote],
            actor=ADMIN,
            now=app.clock(),
        )
        return invoice.id


def at(app: Portal, when: datetime) -> None:
    app.clock.now = when


def run_job(app: Portal, job_id: str) -> str:
    return JobRunner(app.deps, holder="test").run(job_id).outcome


# -- The settings and the channel ------------------------------------------------------------------


def test_portal_finance_shows_the_settings(app: Portal) -> None:
    with_channel(app)
    app.command(ADMIN, "finance")
    reply = app.wait_reply("*Channel:* <#C0FINANCE>")
    text = text_of(reply.params)
    assert "Notifications are on." in text
    assert "• Payment received\n• Payment failed\n• Invoice created" in text
    assert "Low balance warning below 100 credits (the portal's default)." in text
    assert "*Autopay:* on" in text
    assert {
        Act.CHOOSE_FINANCE_CHANNEL,
        Act.FINANCE_PAUSE,
        Act.FINANCE_NOTIFICATIONS,
        Act.FINANCE_TEST,
        Act.FINANCE_ROUTE,
        Act.FINANCE_BALANCE,
        Act.FINANCE_AUTOPAY,
    } <= action_ids(reply.params)
    # The menu's "Finance channel" button shows the same.
    app.fake.clear()
    app.sender.block_action(ADMIN, Act.MENU_FINANCE)
    app.wait_reply("*Channel:* <#C0FINANCE>")


def _hello_in(app: Portal, channel: str) -> RecordedCall:
    return wait_posted(
        app,
        channel,
        "This channel will now receive Admin Portal notifications for Acme Widgets Ltd.",
    )


def test_finance_channel_by_command_joins_a_public_channel(app: Portal) -> None:
    app.make_account()
    app.fake.add_channel("C0BILLING", "billing", bot_is_member=False)
    app.command(ADMIN, "finance <#C0BILLING|billing>")
    app.wait_reply("The finance channel is now <#C0BILLING>.")
    assert [c.params["channel"] for c in app.fake.calls("conversations.join")] == ["C0BILLING"]
    _hello_in(app, "C0BILLING")
    assert app.account().finance_channel_id == "C0BILLING"


def test_finance_channel_by_modal(app: Portal) -> None:
    app.make_account()
    app.fake.add_channel("C0MONEY", "money", is_private=True, bot_is_member=True)
    app.command(ADMIN, "finance")
    settings = app.wait_reply("*Channel:* none yet")
    assert Act.CHOOSE_FINANCE_CHANNEL in action_ids(settings.params)
    app.sender.block_action(ADMIN, Act.CHOOSE_FINANCE_CHANNEL)
    modal = opened_modal(app, ADMIN, Cb.FINANCE_CHANNEL)
    response = app.sender.view_submission(
        ADMIN, modal, {Blk.CHANNEL: {Act.CHANNEL_INPUT: conversations_select("C0MONEY")}}
    )
    assert not response.content.strip()
    app.wait_reply("The finance channel is now <#C0MONEY>.")
    _hello_in(app, "C0MONEY")
    assert app.fake.calls("conversations.join") == []
    assert app.account().finance_channel_id == "C0MONEY"

    # The chooser starts from the current channel next time.
    app.fake.clear()
    app.sender.block_action(ADMIN, Act.CHOOSE_FINANCE_CHANNEL)
    modal = opened_modal(app, ADMIN, Cb.FINANCE_CHANNEL)
    assert modal["blocks"][1]["element"]["initial_conversation"] == "C0MONEY"


def test_a_private_channel_the_app_is_not_in_is_refused(app: Portal) -> None:
    app.make_account()
    app.fake.add_channel("C0SECRET", "secret", is_private=True, bot_is_member=False)
    before = feed_snapshot(app)
    app.command(ADMIN, "finance <#C0SECRET|secret>")
    reply = app.wait_reply("Invite the app to #secret first")
    assert "/invite @Admin Portal" in text_of(reply.params)

    app.sender.block_action(ADMIN, Act.CHOOSE_FINANCE_CHANNEL)
    modal = opened_modal(app, ADMIN, Cb.FINANCE_CHANNEL)
    response = app.sender.view_submission(
        ADMIN, modal, {Blk.CHANNEL: {Act.CHANNEL_INPUT: conversations_select("C0SECRET")}}
    )
    assert list(response.json()["errors"]) == [Blk.CHANNEL]
    assert "invite the app" in response.json()["errors"][Blk.CHANNEL].lower()
    assert feed_snapshot(app) == before
    assert app.fake.calls("conversations.join") == []

    # Once invited, it works.
    app.fake.set_bot_membership("C0SECRET", True)
    app.sender.view_submission(
        ADMIN, modal, {Blk.CHANNEL: {Act.CHANNEL_INPUT: conversations_select("C0SECRET")}}
    )
    app.wait_reply("The finance channel is now <#C0SECRET>.")
    assert app.account().finance_channel_id == "C0SECRET"


def test_finance_needs_a_channel_mention(app: Portal) -> None:
    app.make_account()
    app.command(ADMIN, "finance billing")
    app.wait_reply("Name the channel like this: `/portal finance #finance`")
    assert app.account().finance_channel_id is None


# -- What is sent, and where -----------------------------------------------------------------------


def test_users_added_are_announced_unless_turned_off(app: Portal) -> None:
    with_channel(app)
    add_user(app, WORKSPACE_ADMIN, "viewer")
    notice = wait_posted(app, FINANCE_CHANNEL, "<@UWSADMIN> was added as Viewer by <@UADMIN>.")
    assert notice.params["text"] == "<@UWSADMIN> was added as Viewer by <@UADMIN>."

    response = choose_notifications(app, off={Kind.USERS})
    assert not response.content.strip()
    reply = app.wait_reply(SAVED)
    assert "Off: User added or removed." in text_of(reply.params)
    app.sender.block_action(ADMIN, Act.REMOVE_USER, value=WORKSPACE_ADMIN)
    app.wait_reply("removed")
    assert posted(app, FINANCE_CHANNEL, "was removed") == []


def test_two_admins_saving_forms_opened_at_once_keep_both_changes(app: Portal) -> None:
    with_channel(app)
    add_user(app, WORKSPACE_ADMIN, "admin")
    app.wait_reply("added")
    forms = {}
    for admin in (ADMIN, WORKSPACE_ADMIN):  # both open the form before either saves
        app.fake.clear()
        app.sender.block_action(admin, Act.FINANCE_NOTIFICATIONS)
        forms[admin] = opened_modal(app, admin, Cb.FINANCE_NOTIFICATIONS)

    first = app.sender.view_submission(ADMIN, forms[ADMIN], notifications_values({Kind.USERS}))
    assert not first.content.strip()
    second = app.sender.view_submission(
        WORKSPACE_ADMIN,
        forms[WORKSPACE_ADMIN],
        notifications_values({Kind.CARD_EXPIRING}, threshold="250"),
    )
    assert not second.content.strip()

    account_id = app.account().id

    def off_and_threshold(session: Session) -> tuple[set[Kind], int | None]:
        off = {p.kind for p in session.scalars(select(NotificationPreference)) if not p.enabled}
        return off, session.get_one(FinanceSettings, account_id).payment_threshold_minor

    assert app.read(off_and_threshold) == ({Kind.USERS, Kind.CARD_EXPIRING}, 25000)
    # The second admin is told the whole result, their change and the first admin's.
    told = text_of(app.wait_reply("Payments under £250.00").params)
    assert "User added or removed" in told
    assert finance_ui.KIND_LABELS[Kind.CARD_EXPIRING] in told

    # A form that leaves the threshold as it showed it keeps a threshold set since.
    app.fake.clear()
    app.sender.block_action(ADMIN, Act.FINANCE_NOTIFICATIONS)
    stale = opened_modal(app, ADMIN, Cb.FINANCE_NOTIFICATIONS)
    choose_notifications(app, off={Kind.USERS, Kind.CARD_EXPIRING}, threshold="500")
    app.sender.view_submission(
        ADMIN, stale, notifications_values({Kind.USERS, Kind.CARD_EXPIRING}, threshold="250")
    )
    assert app.read(off_and_threshold) == ({Kind.USERS, Kind.CARD_EXPIRING}, 50000)


def test_a_bad_threshold_is_refused_under_its_field(app: Portal) -> None:
    with_channel(app)
    before = feed_snapshot(app)
    response = choose_notifications(app, off=set(), threshold="lots")
    assert list(response.json()["errors"]) == [Blk.PAYMENT_THRESHOLD]
    assert feed_snapshot(app) == before

    app.fake.clear()
    response = choose_notifications(app, off={Kind.CARD_EXPIRING}, threshold="100")
    assert not response.content.strip()
    reply = app.wait_reply(SAVED)
    assert "Payments under £100.00 are not posted." in text_of(reply.params)
    with app.session() as session:
        row = session.get_one(FinanceSettings, app.account().id)
        assert row.payment_threshold_minor == 10000


def test_a_kind_routed_to_another_channel_goes_there(app: Portal) -> None:
    with_channel(app)
    app.fake.add_channel(SECURITY, "security", bot_is_member=False)
    response = route(app, Kind.USERS, SECURITY)
    assert not response.content.strip()
    app.wait_reply("User added or removed now goes to <#C0SECURITY>.")
    assert [c.params["channel"] for c in app.fake.calls("conversations.join")] == [SECURITY]

    add_user(app, WORKSPACE_ADMIN, "finance")
    wait_posted(app, SECURITY, "<@UWSADMIN> was added as Finance by <@UADMIN>.")
    assert posted(app, FINANCE_CHANNEL, "was added") == []

    # Routed back: the finance channel again.
    route(app, Kind.USERS, None)
    app.wait_reply("User added or removed now goes to the finance channel.")
    app.sender.block_action(ADMIN, Act.REMOVE_USER, value=WORKSPACE_ADMIN)
    wait_posted(app, FINANCE_CHANNEL, "<@UWSADMIN> was removed from the account by <@UADMIN>.")


def test_routing_to_a_private_channel_without_the_app_says_how_to_invite_it(app: Portal) -> None:
    with_channel(app)
    app.fake.add_channel("C0HIDDEN", "hidden", is_private=True, bot_is_member=False)
    before = feed_snapshot(app)
    response = route(app, Kind.PASSWORD, "C0HIDDEN")
    errors = response.json()["errors"]
    assert list(errors) == [Blk.ROUTE_CHANNEL]
    assert "/invite @Admin Portal" in errors[Blk.ROUTE_CHANNEL]
    assert feed_snapshot(app) == before


def test_pause_stops_everything_until_resumed(app: Portal) -> None:
    with_channel(app)
    app.command(ADMIN, "finance pause")
    app.wait_reply("Notifications are paused: nothing is posted until they are resumed.")
    add_user(app, WORKSPACE_ADMIN, "viewer")
    app.wait_reply("added")
    assert posted(app, FINANCE_CHANNEL, "was added") == []
    app.command(ADMIN, "finance")
    assert "Notifications are paused" in text_of(app.wait_reply("*Channel:*").params)

    app.fake.clear()
    app.sender.block_action(ADMIN, Act.FINANCE_PAUSE, value="resume")
    app.wait_reply("Notifications are on again.")
    app.sender.block_action(ADMIN, Act.REMOVE_USER, value=WORKSPACE_ADMIN)
    wait_posted(app, FINANCE_CHANNEL, "<@UWSADMIN> was removed from the account by <@UADMIN>.")


def test_send_test_notification_shows_each_channel_what_will_arrive(app: Portal) -> None:
    with_channel(app)
    app.fake.add_channel(SECURITY, "security")
    route(app, Kind.PASSWORD, SECURITY)
    app.wait_reply("Password changed now goes to <#C0SECURITY>.")
    app.fake.clear()

    app.sender.block_action(ADMIN, Act.FINANCE_TEST)
    app.wait_reply("Test notification sent to <#C0FINANCE>, <#C0SECURITY>.")
    (finance,) = posted(app, FINANCE_CHANNEL, "Test notification")
    assert "Payment received, Payment failed, Invoice created" in finance.params["text"]
    assert "Password changed" not in finance.params["text"]
    (security,) = posted(app, SECURITY, "Test notification")
    assert security.params["text"].endswith("This channel will receive: Password changed.")

    # The app was removed from the finance channel: the answer says how to invite it back.
    app.fake.clear()
    app.fake.add_channel(FINANCE_CHANNEL, "finance", is_private=True, bot_is_member=False)
    try:
        app.command(ADMIN, "finance test")
        reply = app.wait_reply("Test notification sent to <#C0SECURITY>.")
    finally:
        app.fake.add_channel(FINANCE_CHANNEL, "finance")  # as the other tests expect it
    assert "I couldn't post in <#C0FINANCE>: invite the app there" in text_of(reply.params)


def test_credit_balance_settings_are_checked_then_saved(app: Portal) -> None:
    with_channel(app)
    app.sender.block_action(ADMIN, Act.FINANCE_BALANCE)
    modal = opened_modal(app, ADMIN, Cb.FINANCE_BALANCE)
    before = feed_snapshot(app)

    def values(low: str, below: str, buy: str) -> dict[str, Any]:
        return {
            Blk.LOW_BALANCE: {Act.LOW_BALANCE_INPUT: plain_text(low)},
            Blk.TOP_UP_BELOW: {Act.TOP_UP_BELOW_INPUT: plain_text(below)},
            Blk.TOP_UP_CREDITS: {Act.TOP_UP_CREDITS_INPUT: plain_text(buy)},
        }

    missing = app.sender.view_submission(ADMIN, modal, values("", "50", ""), apply_response=False)
    assert missing.json()["errors"] == {Blk.TOP_UP_CREDITS: "Enter how many credits to buy."}
    bad = app.sender.view_submission(ADMIN, modal, values("ten", "", ""), apply_response=False)
    assert list(bad.json()["errors"]) == [Blk.LOW_BALANCE]
    assert feed_snapshot(app) == before

    ok = app.sender.view_submission(ADMIN, modal, values("200", "50", "500"))
    assert not ok.content.strip()
    reply = app.wait_reply(SAVED)
    text = text_of(reply.params)
    assert "Low balance warning below 200 credits." in text
    assert "Auto top-up: when the balance falls below 50 credits, buy 500 credits" in text
    assert "Auto top-up needs a valid card on file" in text  # the test account has none


def test_autopay_can_be_turned_off_and_on(app: Portal) -> None:
    with_channel(app)
    app.sender.block_action(ADMIN, Act.FINANCE_AUTOPAY, value="off")
    app.wait_reply("Autopay is off: invoices wait for someone to press Pay Now.")
    assert app.account().autopay is False
    app.sender.block_action(ADMIN, Act.FINANCE_AUTOPAY, value="on")
    reply = app.wait_reply("Autopay is on")
    assert "there is none valid on file" in text_of(reply.params)
    assert app.account().autopay is True


FEED_WORDS = ("finance", "finance pause", "finance resume", "finance test", "finance #x")
FEED_BUTTONS = (
    Act.MENU_FINANCE,
    Act.CHOOSE_FINANCE_CHANNEL,
    Act.FINANCE_NOTIFICATIONS,
    Act.FINANCE_ROUTE,
    Act.FINANCE_BALANCE,
    Act.FINANCE_PAUSE,
    Act.FINANCE_TEST,
    Act.FINANCE_AUTOPAY,
)


@pytest.mark.parametrize(
    ("user", "refusal"),
    [
        (FINANCE, "Only an account admin can do that; you are a finance."),
        (VIEWER, "Only an account admin can do that; you are a viewer."),
        (STRANGER, "You don't have access to this account's Admin Portal."),
    ],
)
def test_only_admins_change_the_feed_by_any_route(app: Portal, user: str, refusal: str) -> None:
    with_channel(app)
    app.fake.add_channel("C0OPEN", "open", bot_is_member=False)
    before = feed_snapshot(app)
    for word in FEED_WORDS:
        app.command(user, word)
    for action_id in FEED_BUTTONS:
        app.sender.block_action(user, action_id, value="off")
    wait_replies(app, refusal, len(FEED_WORDS) + len(FEED_BUTTONS))

    with app.session() as session:
        account = session.scalars(select(Account)).one()
        feed = notifications.feed_settings(
            session=session, account=account, defaults=app.deps.settings, today=date(2026, 11, 24)
        )
    crafted = {
        Cb.FINANCE_NOTIFICATIONS: (
            finance_ui.notifications_modal(feed),
            notifications_values(set(Kind), "1"),
        ),
        Cb.FINANCE_ROUTE: (
            finance_ui.route_modal(feed),
            {
                Blk.ROUTE_KIND: {Act.ROUTE_KIND_INPUT: static_select(Kind.PASSWORD.value)},
                Blk.ROUTE_CHANNEL: {Act.ROUTE_CHANNEL_INPUT: conversations_select("C0OPEN")},
            },
        ),
        Cb.FINANCE_BALANCE: (
            finance_ui.balance_modal(feed),
            {
                Blk.LOW_BALANCE: {Act.LOW_BALANCE_INPUT: plain_text("0")},
                Blk.TOP_UP_BELOW: {Act.TOP_UP_BELOW_INPUT: plain_text("10")},
                Blk.TOP_UP_CREDITS: {Act.TOP_UP_CREDITS_INPUT: plain_text("99")},
            },
        ),
        Cb.FINANCE_CHANNEL: (
            account_ui.finance_channel_modal(None),
            {Blk.CHANNEL: {Act.CHANNEL_INPUT: conversations_select("C0OPEN")}},
        ),
    }
    for callback_id, (view, entered) in crafted.items():
        answer = app.sender.view_submission(user, view, entered).json()
        assert answer["response_action"] == "update", callback_id
        assert refusal in text_of(answer["view"]), callback_id

    assert feed_snapshot(app) == before
    assert app.fake.calls("views.open") == []
    assert app.fake.calls("conversations.join") == []
    assert [c for c in app.fake.calls("chat.postMessage") if c.params["channel"][0] in "CG"] == []


# -- Each notification kind, as the finance channel receives it ---------------------------------


def test_contact_details_changed(app: Portal) -> None:
    account_id = with_channel(app)
    with app.session() as session:
        open_password_window(
            session=session, account_id=account_id, slack_user_id=ADMIN, now=app.clock()
        )
    app.sender.block_action(ADMIN, Act.UPDATE_CONTACT_DETAILS)
    modal = opened_modal(app, ADMIN, Cb.CONTACT_DETAILS)
    app.sender.view_submission(
        ADMIN,
        modal,
        {
            Blk.EMAIL: {Act.EMAIL_INPUT: plain_text("accounts@acme.example")},
            Blk.PHONE: {Act.PHONE_INPUT: plain_text("")},
        },
    )
    app.wait_reply("Your details have been successfully updated.")
    notice = wait_posted(app, FINANCE_CHANNEL, "changed by")
    assert notice.params["text"] == "The account's email address was changed by <@UADMIN>."


def test_password_set_goes_where_the_password_kind_is_routed(app: Portal) -> None:
    account_id = with_channel(app)
    app.fake.add_channel(SECURITY, "security")
    route(app, Kind.PASSWORD, SECURITY)
    app.wait_reply("Password changed now goes to <#C0SECURITY>.")
    with app.session() as session:
        url = issue_link(
            session=session,
            settings=app.deps.settings,
            account_id=account_id,
            slack_user_id=ADMIN,
            purpose=LinkPurpose.SET_PASSWORD,
            channel_id=None,
            now=app.clock(),
        )
    with requests.Session() as http:
        page = http.get(url, timeout=10)
        match = CSRF_INPUT.search(page.text)
        assert match is not None, page.text
        new = "violet kettle marching south 42"
        done = http.post(
            url,
            data={"csrf_token": match.group(1), "new_password": new, "confirm_password": new},
            timeout=10,
        )
    assert done.status_code == 200, done.text
    notice = wait_posted(app, SECURITY, "password")
    assert notice.params["text"] == "The Admin Portal password was set by <@UADMIN>."
    assert posted(app, FINANCE_CHANNEL, "password") == []
    assert app.read(lambda s: s.get(PasswordCredential, account_id)) is not None


def test_invoice_created_starts_a_thread_its_reminders_follow(app: Portal) -> None:
    account_id = with_channel(app)
    invoice_id = service_invoice(app, account_id)
    created = notifications.announce_invoice_created(app.deps, invoice_id=invoice_id, actor=ADMIN)
    assert created is not None
    notice = wait_posted(app, FINANCE_CHANNEL, "Invoice INV-000001 created")
    assert notice.params["text"] == (
        "Invoice INV-000001 created by <@UADMIN>: £228.00, due 8 Dec 2026."
    )
    assert {Act.VIEW_INVOICE} == action_ids(notice.params)
    # Announcing again (a retried handler) posts nothing.
    assert (
        notifications.announce_invoice_created(app.deps, invoice_id=invoice_id, actor=ADMIN) is None
    )
    assert len(posted(app, FINANCE_CHANNEL, "created")) == 1

    # Three days after the due date, 10:00: the overdue reminder, in the invoice's thread, and
    # the admins' daily reminder.
    at(app, datetime(2026, 12, 11, 10, 0, tzinfo=UTC))
    assert run_job(app, "reminders").startswith("1 overdue invoices on 1 accounts")
    reminder = wait_posted(app, FINANCE_CHANNEL, "Reminder: invoice INV-000001")
    assert reminder.params["text"] == (
        "Reminder: invoice INV-000001 (£228.00) was due on 8 Dec 2026 and is 3 days overdue."
    )
    assert reminder.params["thread_ts"] == created.ts
    dm = wait_posted(app, ADMIN, "overdue invoice")
    assert dm.params["text"] == "Acme Widgets Ltd has 1 overdue invoice, £228.00 in all."
    # Later the same day (a second worker, a rerun): nothing more. The next day: once more.
    at(app, datetime(2026, 12, 11, 15, 0, tzinfo=UTC))
    JobRunner(app.deps, holder="other").run("reminders", at=app.clock())
    at(app, datetime(2026, 12, 12, 10, 0, tzinfo=UTC))
    run_job(app, "reminders")
    reminders = posted(app, FINANCE_CHANNEL, "Reminder: invoice INV-000001")
    assert [r.params["text"].rsplit(" ", 3)[-3] for r in reminders] == ["3", "4"]
    assert {r.params["thread_ts"] for r in reminders} == {created.ts}
    assert len(posted(app, ADMIN, "overdue invoice")) == 2
    threads = app.read(lambda s: s.scalar(select(func.count()).select_from(InvoiceThread)))
    assert threads == 1


def test_a_card_expiring_within_30_days_is_reminded_once_a_week(app: Portal) -> None:
    account_id = with_channel(app)
    with app.session() as session:
        account = session.get_one(Account, account_id)
        account.card_brand, account.card_last4 = "visa", "4242"
        account.card_exp_month, account.card_exp_year = 12, 2026
        account.card_payment_method_id = "pm_card_visa"
    at(app, datetime(2026, 12, 1, 10, 0, tzinfo=UTC))  # a Tuesday; the card ends 31 Dec
    run_job(app, "reminders")
    notice = wait_posted(app, FINANCE_CHANNEL, "expires")
    assert notice.params["text"] == (
        "The card on file, Visa •••• 4242, expires in 30 days (end of December 2026)."
    )
    wait_posted(app, ADMIN, "expires in 30 days")
    for day in (2, 3, 4, 5, 6):  # the rest of the week: nothing
        at(app, datetime(2026, 12, day, 10, 0, tzinfo=UTC))
        run_job(app, "reminders")
    assert len(posted(app, FINANCE_CHANNEL, "expires")) == 1
    at(app, datetime(2026, 12, 8, 10, 0, tzinfo=UTC))  # the next week
    run_job(app, "reminders")
    assert [c.params["text"] for c in posted(app, FINANCE_CHANNEL, "expires")][-1] == (
        "The card on file, Visa •••• 4242, expires in 23 days (end of December 2026)."
    )
    assert len(posted(app, ADMIN, "expires in")) == 2


def test_daily_and_weekly_digests(app: Portal) -> None:
    account_id = with_channel(app)
    service_invoice(app, account_id)  # due 8 Dec
    service_invoice(app, account_id, "1")
    # Monday 14 December, 09:00: both digests, each once.
    at(app, datetime(2026, 12, 14, 9, 0, tzinfo=UTC))
    assert run_job(app, "daily-digest") == "1 of 1 accounts sent a daily digest"
    assert run_job(app, "weekly-digest") == "1 of 1 accounts sent a weekly digest"
    assert run_job(app, "daily-digest") == "skipped: lease held"
    daily = wait_posted(app, FINANCE_CHANNEL, "Daily digest")
    assert daily.params["text"] == (
        "Daily digest — Acme Widgets Ltd: 2 open invoices (£342.00), 2 overdue (£342.00); "
        "0 payments received (£0.00) and 0 credits bought since yesterday."
    )
    assert "INV-000001 · £228.00 · due 8 Dec 2026 (6 days overdue)" in text_of(daily.params)
    weekly = wait_posted(app, FINANCE_CHANNEL, "Weekly digest")
    assert weekly.params["text"].startswith("Weekly digest — Acme Widgets Ltd: 2 open invoices")
    assert {Act.MENU_INVOICES, Act.MENU_PAY} <= action_ids(weekly.params)
    # Turned off, the daily digest stops; the next day's is not sent.
    choose_notifications(app, off={Kind.DAILY_DIGEST})
    app.wait_reply(SAVED)
    at(app, datetime(2026, 12, 15, 9, 0, tzinfo=UTC))
    assert run_job(app, "daily-digest") == "0 of 1 accounts sent a daily digest"
    assert len(posted(app, FINANCE_CHANNEL, "Daily digest")) == 1


def test_an_account_with_nothing_to_report_gets_no_digest(app: Portal) -> None:
    with_channel(app)
    at(app, datetime(2026, 12, 14, 9, 0, tzinfo=UTC))
    assert run_job(app, "daily-digest") == "0 of 1 accounts sent a daily digest"
    assert posted(app, FINANCE_CHANNEL, "digest") == []
