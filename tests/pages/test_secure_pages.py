"""The secure pages over real HTTP: links, CSRF, headers, statuses, Slack messages, no leaks."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest
import requests
from slack_bolt import App
from sqlalchemy import select

from bot import pages
from bot.links import password_window_open
from bot.passwords import verify_password
from bot.settings import Settings
from bot.ui.ids import Act
from bot.web import create_web_app
from store.db import transaction
from store.enums import LinkPurpose, Role
from store.models import AccountUser, AuditEntry, PasswordCredential, PasswordWindow
from tests.conftest import NOW
from tests.pages.conftest import (
    ADMIN,
    FINANCE_CHANNEL,
    PASSWORD,
    PORTAL_CHANNEL,
    VIEWER,
    SecurePagesServer,
    seed_account,
)

NEW_PASSWORD = "Kettle-Harbour-Violin-77"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _form(http: requests.Session, url: str) -> str:
    """Open the page (which sets the CSRF cookie) and return the form's CSRF token."""
    page = http.get(url, timeout=10)
    assert page.status_code == 200, page.text
    match = CSRF_INPUT.search(page.text)
    assert match is not None
    return match.group(1)


def _submit(http: requests.Session, url: str, **fields: str) -> requests.Response:
    csrf = _form(http, url)
    return http.post(url, data={"csrf_token": csrf, **fields}, timeout=10)


def _failed_attempts(server: SecurePagesServer, account_id: int) -> int:
    with transaction(server.deps.session_factory) as session:
        return session.get_one(PasswordCredential, account_id).failed_attempts


def _password_is(server: SecurePagesServer, account_id: int, password: str) -> bool:
    with transaction(server.deps.session_factory) as session:
        return verify_password(
            session=session, account_id=account_id, password=password, now=server.clock()
        ).ok


def _action_ids(blocks: list[dict[str, object]]) -> list[object]:
    return [
        element.get("action_id")
        for block in blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])  # type: ignore[attr-defined]
    ]


# Headers and CSRF ------------------------------------------------------------------------------


def test_every_page_sends_the_security_headers_and_a_strict_csrf_cookie(
    server: SecurePagesServer, http: requests.Session
) -> None:
    account_id = seed_account(server)
    url = server.link(LinkPurpose.CONFIRM_PASSWORD, account_id)
    page = http.get(url, timeout=10)
    assert page.status_code == 200
    assert "Enter your password" in page.text
    csp = page.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'none'",
        "style-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ):
        assert directive in csp
    assert "script-src" not in csp  # the password pages run no script at all
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in page.headers  # plain http in tests
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("portal_csrf=")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Secure" not in cookie
    # The stylesheet is same-origin, as the policy allows, and sent with the same headers.
    css = http.get(f"{server.base_url}/secure/static/secure.css", timeout=10)
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert css.headers["Content-Security-Policy"] == csp
    # Error pages too.
    missing = http.get(f"{server.base_url}/secure/no-such-page/xyz", timeout=10)
    assert missing.status_code == 404
    assert missing.headers["Content-Security-Policy"] == csp
    assert missing.headers["X-Frame-Options"] == "DENY"


def test_https_adds_hsts_and_a_secure_host_cookie_and_card_pages_may_load_stripe() -> None:
    settings = Settings(
        PUBLIC_BASE_URL="https://portal.example",
        STRIPE_JS_URL="http://127.0.0.1:8420/js.stripe.com/v3/",
        STRIPE_API_BASE="http://127.0.0.1:8420",
    )
    headers = pages.security_headers(settings)
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "script-src" not in headers["Content-Security-Policy"]
    card = pages.security_headers(settings, stripe=True)["Content-Security-Policy"]
    assert "script-src http://127.0.0.1:8420" in card
    assert "frame-src http://127.0.0.1:8420" in card
    assert "default-src 'none'" in card
    stripe = pages.security_headers(Settings(), stripe=True)["Content-Security-Policy"]
    assert "script-src https://js.stripe.com" in stripe
    assert "frame-src https://js.stripe.com https://hooks.stripe.com" in stripe
    assert "connect-src https://api.stripe.com" in stripe
    assert pages.SecurePages(settings, None).csrf_cookie == "__Host-portal_csrf"  # type: ignore[arg-type]


@pytest.mark.parametrize("csrf", [None, "", "forged-token"], ids=["missing", "empty", "wrong"])
def test_a_post_without_the_pages_csrf_token_is_refused(
    server: SecurePagesServer, http: requests.Session, csrf: str | None
) -> None:
    account_id = seed_account(server)
    url = server.link(LinkPurpose.CONFIRM_PASSWORD, account_id)
    _form(http, url)  # the cookie is set
    data = {"password": "wrong password 1"}
    if csrf is not None:
        data["csrf_token"] = csrf
    answer = http.post(url, data=data, timeout=10)
    assert answer.status_code == 400
    assert "Reload the page and try again" in answer.text
    assert "Traceback" not in answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    assert _failed_attempts(server, account_id) == 0  # the password was never checked


def test_a_post_from_another_browser_without_the_cookie_is_refused(
    server: SecurePagesServer, http: requests.Session
) -> None:
    account_id = seed_account(server)
    url = server.link(LinkPurpose.CONFIRM_PASSWORD, account_id)
    csrf = _form(http, url)
    with requests.Session() as stranger:
        answer = stranger.post(url, data={"csrf_token": csrf, "password": PASSWORD}, timeout=10)
    assert answer.status_code == 400
    assert not _window_open(server, account_id, ADMIN)


# Links -----------------------------------------------------------------------------------------


def _window_open(server: SecurePagesServer, account_id: int, user: str) -> bool:
    with transaction(server.deps.session_factory) as session:
        return password_window_open(
            session=session, account_id=account_id, slack_user_id=user, now=server.clock()
        )


def test_bad_links_get_a_friendly_page_never_a_traceback(
    server: SecurePagesServer, http: requests.Session
) -> None:
    account_id = seed_account(server)
    confirm = server.link(LinkPurpose.CONFIRM_PASSWORD, account_id)
    token = confirm.rsplit("/", 1)[1]
    base = f"{server.base_url}/secure"
    for url in (
        confirm[:-3] + "AAA",  # altered signature
        f"{base}/change-password/{token}",  # a confirm link on another page
        f"{base}/confirm-password/not-a-token",
        f"{base}/confirm-password/",
        f"{base}/",
    ):
        page = http.get(url, timeout=10)
        assert page.status_code == 404, url
        assert "This link is not valid" in page.text
        assert "/portal" in page.text
        assert "Traceback" not in page.text


def test_a_link_expires_after_ten_minutes(
    server: SecurePagesServer, http: requests.Session
) -> None:
    account_id = seed_account(server)
    url = server.link(LinkPurpose.CONFIRM_PASSWORD, account_id)
    server.clock.advance(minutes=9, seconds=59)
    csrf = _form(http, url)
    server.clock.advance(seconds=1)
    for answer in (
        http.get(url, timeout=10),
        http.post(url, data={"csrf_token": csrf, "password": PASSWORD}, timeout=10),
    ):
        assert answer.status_code == 410
        assert "This link has expired: ask for a new one with /portal" in answer.text
    assert not _window_open(server, account_id, ADMIN)


def test_a_person_whose_role_was_removed_cannot_use_their_link(
    server: SecurePagesServer, http: requests.Session
) -> None:
    account_id = seed_account(server)
    viewer_change = server.link(LinkPurpose.CHANGE_PASSWORD, account_id, user=VIEWER)
    page = http.get(viewer_change, timeout=10)
    assert page.status_code == 403
    assert "Only an account admin can do that" in page.text
    url = server.link(LinkPurpose.CONFIRM_PASSWORD, account_id)
    csrf = _form(http, url)
    with transaction(server.deps.session_factory) as session:
        member = session.scalars(
            select(AccountUser).where(AccountUser.slack_user_id == ADMIN)
        ).one()
        member.role = Role.VIEWER
        session.delete(member)
    answer = http.post(url, data={"csrf_token": csrf, "password": PASSWORD}, timeout=10)
    assert answer.status_code == 403
    assert not _window_open(server, account_id, ADMIN)


# Confirm password ------------------------------------------------------------------------------


def test_confirming_the_password_opens_the_window_and_tells_slack(
    server: SecurePagesServer, http: requests.Session
) -> None:
    account_id = seed_account(server)
    url = server.link(LinkPurpose.CONFIRM_PASSWORD, account_id)
    wrong = _submit(http, url, password="Not-The-Password-1")
    assert wrong.status_code == 422
    assert "That password is not right. 4 tries left before a 15-minute lock." in wrong.text
    assert "Not-The-Password-1" not in wrong.text
    assert _failed_attempts(server, account_id) == 1  # committed, though the answer was "no"
    assert server.slack.calls("chat.postEphemeral") == []

    right = _submit(http, url, password=PASSWORD)
    assert right.status_code == 200
    assert "Password confirmed" in right.text
    assert "for the next 15 minutes, until 10:45 GMT" in right.text
    assert PASSWORD not in right.text
    assert _failed_attempts(server, account_id) == 0
    assert _window_open(server, account_id, ADMIN)
    assert not _window_open(server, account_id, VIEWER)

    call = server.slack.last("chat.postEphemeral")
    assert call.params["channel"] == PORTAL_CHANNEL
    assert call.params["user"] == ADMIN
    assert "password is confirmed" in call.params["text"]
    assert "15 minutes" in call.params["text"]
    assert Act.UPDATE_CONTACT_DETAILS.value in _action_ids(call.params["blocks"])
    assert call.token == "xoxb-test-token"

    used = http.get(url, timeout=10)
    assert used.status_code == 410
    assert "already been used" in used.text
    with transaction(server.deps.session_factory) as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "password.confirmed")
        ).one()
        assert (entry.actor, entry.ip_address, entry.source) == (ADMIN, "127.0.0.1", "web")

    server.clock.advance(minutes=15)
    assert not _window_open(server, account_id, ADMIN)


def test_a_link_without_a_channel_answers_by_direct_message(
    server: SecurePagesServer, http: requests.Session
) -> None:
    account_id = seed_account(server)
    url = server.link(LinkPurpose.CONFIRM_PASSWORD, account_id, channel_id=None)
    assert _submit(http, url, password=PASSWORD).status_code == 200
    assert server.slack.calls("chat.postEphemeral") == []
    call = server.slack.last("chat.postMessage")
    assert call.params["channel"] == ADMIN
    assert Act.UPDATE_CONTACT_DETAILS.value in _action_ids(call.params["blocks"])


def test_five_wrong_passwords_lock_the_password(
    server: SecurePagesServer, http: requests.Session
) -> None:
    account_id = seed_account(server)
    url = server.link(LinkPurpose.CONFIRM_PASSWORD, account_id)
    for attempt in range(1, 5):
        answer = _submit(http, url, password=f"wrong-password-{attempt}")
        assert answer.status_code == 422
        assert f"{5 - attempt} {'try' if attempt == 4 else 'tries'} left" in answer.text
    locked = _submit(http, url, password="wrong-password-5")
    assert locked.status_code == 429
    assert "Too many wrong passwords: the password is locked for 15 minutes" in locked.text
    still = _submit(http, url, password=PASSWORD)  # even the right one, until 10:45
    assert still.status_code == 429
    assert not _window_open(server, account_id, ADMIN)
    with transaction(server.deps.session_factory) as session:
        rejected = session.scalars(
            select(AuditEntry.detail)
            .where(AuditEntry.action == "password.rejected")
            .order_by(AuditEntry.id)
        ).all()
    assert [detail["result"] for detail in rejected] == ["wrong"] * 4 + ["locked"] * 2


def test_empty_and_overlong_passwords_are_answered_without_counting(
    server: SecurePagesServer, http: requests.Session
) -> None:
    account_id = seed_account(server)
    url = server.link(LinkPurpose.CONFIRM_PASSWORD, account_id)
    empty = _submit(http, url, password="")
    assert empty.status_code == 422
    assert "Enter your password." in empty.text
    long = _submit(http, url, password="x" * 1025)
    assert long.status_code == 422
    assert "Use at most 1024 characters." in long.text
    assert _failed_attempts(server, account_id) == 0
    assert 'maxlength="1024"' in long.text


def test_an_oversized_form_is_refused_politely(
    server: SecurePagesServer, http: requests.Session
) -> None:
    account_id = seed_account(server)
    url = server.link(LinkPurpose.CONFIRM_PASSWORD, account_id)
    csrf = _form(http, url)
    answer = http.post(url, data={"csrf_token": csrf, "password": "x" * 40_000}, timeout=10)
    assert answer.status_code == 413
    assert "more than this form takes" in answer.text
    assert answer.headers["X-Frame-Options"] == "DENY"


# Change and set password -----------------------------------------------------------------------


def test_changing_the_password(server: SecurePagesServer, http: requests.Session) -> None:
    account_id = seed_account(server)
    url = server.link(LinkPurpose.CHANGE_PASSWORD, account_id)
    page = http.get(url, timeout=10)
    assert "Current password" in page.text
    assert "Confirm new password" in page.text

    weak = _submit(
        http, url, current_password=PASSWORD, new_password="short", confirm_password="short"
    )
    assert weak.status_code == 422
    assert 'id="new_password-error"' in weak.text
    assert "Use at least 12 characters." in weak.text
    company = _submit(
        http,
        url,
        current_password=PASSWORD,
        new_password="AcmeWidgets-2026!",
        confirm_password="AcmeWidgets-2026!",
    )
    assert "Don&#39;t use the company name in the password." in company.text
    mismatch = _submit(
        http,
        url,
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        confirm_password=NEW_PASSWORD + "x",
    )
    assert 'id="confirm_password-error"' in mismatch.text
    assert "The two passwords don&#39;t match." in mismatch.text
    wrong = _submit(
        http,
        url,
        current_password="Not-The-Password-1",
        new_password=NEW_PASSWORD,
        confirm_password=NEW_PASSWORD,
    )
    assert wrong.status_code == 422
    assert 'id="current_password-error"' in wrong.text
    assert "4 tries left" in wrong.text
    same = _submit(
        http, url, current_password=PASSWORD, new_password=PASSWORD, confirm_password=PASSWORD
    )
    assert "Choose a password different from the current one." in same.text
    for answer in (weak, company, mismatch, wrong, same):
        assert "value=" not in answer.text.replace(CSRF_INPUT.search(answer.text)[0], "")  # type: ignore[index]
    assert _password_is(server, account_id, PASSWORD)
    assert server.slack.calls("chat.postMessage") == []

    # Someone had confirmed the old password: their window closes with the change.
    confirm = server.link(LinkPurpose.CONFIRM_PASSWORD, account_id, user=VIEWER)
    assert _submit(http, confirm, password=PASSWORD).status_code == 200
    assert _window_open(server, account_id, VIEWER)

    done = _submit(
        http,
        url,
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        confirm_password=NEW_PASSWORD,
    )
    assert done.status_code == 200
    assert "Your password has been successfully updated." in done.text
    assert _password_is(server, account_id, NEW_PASSWORD)
    assert not _password_is(server, account_id, PASSWORD)
    assert not _window_open(server, account_id, VIEWER)

    told = server.slack.last("chat.postEphemeral")
    assert (told.params["channel"], told.params["user"]) == (PORTAL_CHANNEL, ADMIN)
    assert told.params["text"] == "Your password has been successfully updated."
    finance = server.slack.last("chat.postMessage")
    assert finance.params["channel"] == FINANCE_CHANNEL
    assert finance.params["text"] == "The Admin Portal password was changed by <@UADMIN>."
    assert any(
        message["text"] == "The Admin Portal password was changed by <@UADMIN>."
        for message in server.slack.messages(FINANCE_CHANNEL)
    )
    assert http.get(url, timeout=10).status_code == 410


def test_a_failing_slack_does_not_undo_the_change(
    server: SecurePagesServer, http: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    account_id = seed_account(server)
    url = server.link(LinkPurpose.CHANGE_PASSWORD, account_id, channel_id="CGONE")
    server.slack.set_bot_membership(FINANCE_CHANNEL, False)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.pages"):
            done = _submit(
                http,
                url,
                current_password=PASSWORD,
                new_password=NEW_PASSWORD,
                confirm_password=NEW_PASSWORD,
            )
    finally:
        server.slack.set_bot_membership(FINANCE_CHANNEL, True)
    assert done.status_code == 200
    assert "successfully updated" in done.text
    assert _password_is(server, account_id, NEW_PASSWORD)
    # The ephemeral message had nowhere to go, so it came as a direct message instead.
    posted = [
        (call.params["channel"], call.status) for call in server.slack.calls("chat.postMessage")
    ]
    assert (ADMIN, 200) in posted
    warnings = [record.getMessage() for record in caplog.records if record.name == "bot.pages"]
    assert "Slack chat.postEphemeral to CGONE failed: channel_not_found" in warnings
    assert "Slack chat.postMessage to CFINANCE failed: not_in_channel" in warnings
    assert not any(NEW_PASSWORD in line or PASSWORD in line for line in warnings)


def test_setting_the_first_password(server: SecurePagesServer, http: requests.Session) -> None:
    account_id = seed_account(server, password=None, finance=False)
    url = server.link(LinkPurpose.SET_PASSWORD, account_id, channel_id=None)
    # Before a password exists, confirming says so.
    confirm = server.link(LinkPurpose.CONFIRM_PASSWORD, account_id)
    not_set = _submit(http, confirm, password=PASSWORD)
    assert not_set.status_code == 409
    assert "No password has been set for this account yet." in not_set.text

    common = _submit(http, url, new_password="password1234", confirm_password="password1234")
    assert common.status_code == 422
    assert "too common" in common.text
    missing = _submit(http, url, new_password=NEW_PASSWORD, confirm_password="")
    assert "Enter the new password again." in missing.text
    done = _submit(http, url, new_password=NEW_PASSWORD, confirm_password=NEW_PASSWORD)
    assert done.status_code == 200
    assert "The Admin Portal password is set." in done.text
    assert _password_is(server, account_id, NEW_PASSWORD)
    assert server.slack.last("chat.postMessage").params["channel"] == ADMIN
    assert len(server.slack.calls("chat.postMessage")) == 1  # no finance channel yet

    again = server.link(LinkPurpose.SET_PASSWORD, account_id)
    refused = http.get(again, timeout=10)
    assert refused.status_code == 409
    assert "already has a password" in refused.text


# Nothing leaks ---------------------------------------------------------------------------------


def test_no_password_reaches_the_logs_or_the_audit_log(
    server: SecurePagesServer, http: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = ["Not-The-Password-1", PASSWORD, NEW_PASSWORD, "short-pw"]
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="werkzeug")
    account_id = seed_account(server)
    url = server.link(LinkPurpose.CHANGE_PASSWORD, account_id)
    _submit(
        http,
        url,
        current_password="Not-The-Password-1",
        new_password=NEW_PASSWORD,
        confirm_password=NEW_PASSWORD,
    )
    _submit(http, url, current_password=PASSWORD, new_password="short-pw", confirm_password="x")
    done = _submit(
        http,
        url,
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        confirm_password=NEW_PASSWORD,
    )
    assert done.status_code == 200
    records = caplog.records
    assert any(record.name == "werkzeug" for record in records)  # the access log was captured
    assert any(record.name.startswith("slack_sdk") for record in records)  # and Slack's debug
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}" for record in records
    )
    with transaction(server.deps.session_factory) as session:
        audit = [
            json.dumps(
                [entry.actor, entry.action, entry.detail, entry.source, entry.ip_address],
                default=str,
            )
            for entry in session.scalars(select(AuditEntry))
        ]
        assert session.scalars(select(PasswordWindow)).all() == []
    assert any("password.changed" in line for line in audit)
    assert any("password.rejected" in line for line in audit)
    for secret in secrets:
        assert secret not in logged
        assert all(secret not in line for line in audit)


# The real web app ------------------------------------------------------------------------------


def test_the_web_app_serves_the_secure_pages(server: SecurePagesServer) -> None:
    bolt = App(
        signing_secret="test-signing-secret-8f3a",
        client=server.deps.slack,
        token_verification_enabled=False,
    )
    web = create_web_app(server.settings, server.deps, bolt)
    account_id = seed_account(server)
    path = server.link(LinkPurpose.CONFIRM_PASSWORD, account_id).removeprefix(server.base_url)
    client = web.test_client()
    page = client.get(path)
    assert page.status_code == 200
    assert "Enter your password" in page.get_data(as_text=True)
    assert page.headers["X-Frame-Options"] == "DENY"
    with client.get("/secure/static/secure.css") as css:
        assert css.status_code == 200
    assert client.get("/healthz").status_code == 200
    assert server.clock() == NOW
