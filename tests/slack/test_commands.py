"""/portal itself: signatures, the menu, help, unknown words, and the App Home."""

from __future__ import annotations

import time

from bot.ui.ids import Act
from tests.slack.conftest import ADMIN, FINANCE, STRANGER, VIEWER, Portal, action_ids, text_of


def test_unsigned_or_stale_requests_get_401(app: Portal) -> None:
    body = b"command=%2Fportal&text=&user_id=UADMIN&team_id=T0001"
    now = int(time.time())
    unsigned = app.sender.session.post(
        f"{app.url}/slack/events",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert unsigned.status_code == 401
    forged = app.sender.session.post(
        f"{app.url}/slack/events",
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": "v0=" + "0" * 64,
        },
    )
    assert forged.status_code == 401
    stale = app.sender.slash_command(ADMIN, "", timestamp=now - 301)
    assert stale.status_code == 401
    assert app.fake.calls("response_url") == []


def test_portal_shows_the_menu_with_the_dashboard(app: Portal) -> None:
    app.make_account()
    app.command(ADMIN)
    reply = app.wait_reply("Admin Portal — Acme Widgets Ltd")
    text = text_of(reply.params)
    assert "*Credits*\n0" in text
    assert "You don't have any valid payment details" in text
    assert {Act.MENU_BUY_CREDITS, Act.MENU_USERS, Act.MENU_VAT, Act.MENU_INVOICES} <= action_ids(
        reply.params
    )


def test_a_viewer_sees_only_what_a_viewer_may_use(app: Portal) -> None:
    app.make_account()
    app.command(VIEWER)
    reply = app.wait_reply("Admin Portal — Acme Widgets Ltd")
    ids = action_ids(reply.params)
    assert Act.MENU_INVOICES in ids
    assert not ids & {Act.MENU_BUY_CREDITS, Act.MENU_SERVICES, Act.MENU_VAT, Act.MENU_FINANCE}
    assert "Viewer" in text_of(reply.params)


def test_finance_sees_money_actions_but_not_admin_ones(app: Portal) -> None:
    app.make_account()
    app.command(FINANCE)
    ids = action_ids(app.wait_reply("Admin Portal").params)
    assert {Act.MENU_BUY_CREDITS, Act.MENU_SERVICES} <= ids
    assert not ids & {Act.MENU_VAT, Act.MENU_FINANCE}


def test_help_and_unknown_words(app: Portal) -> None:
    app.make_account()
    app.command(ADMIN, "help")
    assert "`/portal buy [N]` — purchase credits" in text_of(
        app.wait_reply("Admin Portal commands").params
    )
    app.command(ADMIN, "frobnicate now")
    reply = app.wait_reply("I don't know `/portal frobnicate`")
    assert "`/portal invoices [page]`" in text_of(reply.params)


def test_someone_without_a_role_is_refused_politely(app: Portal) -> None:
    app.make_account()
    app.command(STRANGER, "credits")
    app.wait_reply("You don't have access to this account's Admin Portal")


def test_app_home_shows_the_dashboard(app: Portal) -> None:
    app.make_account()
    response = app.sender.app_home_opened(ADMIN)
    assert response.status_code == 200
    app.fake.wait_for("views.publish")
    home = app.fake.home_view(ADMIN)
    assert home is not None
    assert "Admin Portal — Acme Widgets Ltd" in text_of(home)
    assert Act.MENU_BUY_CREDITS in action_ids(home)


def test_app_home_for_a_stranger_says_no_access(app: Portal) -> None:
    app.make_account()
    app.sender.app_home_opened(STRANGER)
    app.fake.wait_for("views.publish")
    assert "don't have access" in text_of(app.fake.home_view(STRANGER))


def test_a_retried_event_is_handled_once(app: Portal) -> None:
    app.make_account()
    app.sender.app_home_opened(ADMIN, event_id="Ev0001")
    app.fake.wait_for("views.publish")
    app.sender.app_home_opened(ADMIN, event_id="Ev0001", retry_num=1)
    time.sleep(0.3)
    assert len(app.fake.calls("views.publish")) == 1
