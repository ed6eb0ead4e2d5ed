"""The password pages in Debian's Chromium: what a person sees and what Slack then receives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.sandbox.slack_api import RecordedCall
from bot.ui.ids import Act
from store.enums import LinkPurpose
from tests.conftest import NOW, reset_database
from tests.pages.conftest import (
    ADMIN,
    FINANCE_CHANNEL,
    PASSWORD,
    PORTAL_CHANNEL,
    SecurePagesServer,
    seed_account,
    start_fake_slack,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NEW_PASSWORD = "Kettle-Harbour-Violin-77"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"Debian's Chromium is not installed at {CHROMIUM}"
)

if Path(CHROMIUM).exists():
    from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def pages_server(engine: Engine) -> Iterator[SecurePagesServer]:
    fake = start_fake_slack()
    server = SecurePagesServer(engine, fake)
    yield server
    server.stop()
    fake.stop()


@pytest.fixture
def server(pages_server: SecurePagesServer, engine: Engine) -> Iterator[SecurePagesServer]:
    reset_database(engine)
    pages_server.clock.now = NOW
    pages_server.slack.clear()
    yield pages_server
    reset_database(engine)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context; fails the test if the page breaks its own security policy.

    (Chromium also reports every 4xx answer as a console error; those are expected here.)
    """
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    context.close()
    assert problems == [], problems


def _action_ids(call: RecordedCall) -> list[str]:
    return [
        element["action_id"]
        for block in call.params["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def _shot(page: Page, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 0


def test_confirming_the_password(server: SecurePagesServer, page: Page, tmp_path: Path) -> None:
    account_id = seed_account(server)
    url = server.link(LinkPurpose.CONFIRM_PASSWORD, account_id)
    response = page.goto(url)
    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your password")
    # The stylesheet loaded under the page's Content-Security-Policy.
    expect(page.get_by_role("button", name="Confirm password")).to_have_css(
        "background-color", "rgb(0, 122, 90)"
    )

    page.get_by_label("Password").fill("Not-The-Password-1")
    page.get_by_role("button", name="Confirm password").click()
    expect(page.locator("#password-error")).to_have_text(
        "That password is not right. 4 tries left before a 15-minute lock."
    )
    expect(page.get_by_label("Password")).to_have_value("")  # never echoed back
    _shot(page, tmp_path, "confirm-wrong")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Password confirmed")
    expect(page.get_by_role("main")).to_contain_text("for the next 15 minutes, until 10:45 GMT")
    _shot(page, tmp_path, "confirm-done")

    told = server.slack.wait_for("chat.postEphemeral")
    assert (told.params["channel"], told.params["user"]) == (PORTAL_CHANNEL, ADMIN)
    assert "password is confirmed" in told.params["text"]
    assert Act.UPDATE_CONTACT_DETAILS.value in _action_ids(told)

    again = page.goto(url)
    assert again is not None
    assert again.status == 410
    expect(page.get_by_role("alert")).to_contain_text("This link has already been used")
    _shot(page, tmp_path, "confirm-used")


def test_changing_the_password(server: SecurePagesServer, page: Page, tmp_path: Path) -> None:
    account_id = seed_account(server)
    page.goto(server.link(LinkPurpose.CHANGE_PASSWORD, account_id))
    expect(page.get_by_role("heading", level=1)).to_have_text("Change password")

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Confirm new password").fill("short")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#new_password-error")).to_have_text("Use at least 12 characters.")
    expect(page.get_by_label("New password", exact=True)).to_have_attribute("aria-invalid", "true")
    for label in ("Current password", "Confirm new password"):
        expect(page.get_by_label(label)).to_have_value("")
    _shot(page, tmp_path, "change-weak")

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_have_text("Your password has been successfully updated.")
    _shot(page, tmp_path, "change-done")

    finance = server.slack.wait_for(
        "chat.postMessage", lambda call: call.params.get("channel") == FINANCE_CHANNEL
    )
    assert finance.params["text"] == "The Admin Portal password was changed by <@UADMIN>."


def test_five_wrong_passwords_lock_it(
    server: SecurePagesServer, page: Page, tmp_path: Path
) -> None:
    account_id = seed_account(server)
    page.goto(server.link(LinkPurpose.CONFIRM_PASSWORD, account_id))
    for attempt in range(1, 6):
        page.get_by_label("Password").fill(f"wrong-password-{attempt}")
        page.get_by_role("button", name="Confirm password").click()
        expect(page.locator("#password-error")).to_be_visible()
    expect(page.locator("#password-error")).to_have_text(
        "Too many wrong passwords: the password is locked for 15 minutes, until 10:45 UTC."
    )
    _shot(page, tmp_path, "confirm-locked")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm password").click()
    expect(page.locator("#password-error")).to_contain_text("locked for 15 minutes")
    assert server.slack.calls("chat.postEphemeral") == []
