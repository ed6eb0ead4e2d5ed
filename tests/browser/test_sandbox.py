"""The sandbox, as a newcomer meets it: `python -m bot sandbox` on a fresh database, in Chromium.

The command `make run` runs when no Slack tokens are set is started as a process of its own;
Debian's Chromium, driven by Playwright, uses the page as the admin and then as the viewer,
and every step is checked on what the page shows. Screenshots go to the test's tmp folder and,
when `SANDBOX_SCREENSHOTS` names a folder, there too (for the README). Ctrl-C (SIGINT) then
has to stop everything the sandbox started: the test checks that no process is left.

The admin adds payment details (the billing address modal, then 4242 4242 4242 4242 on the
card page, in Stripe's card field as localstripe serves it), buys 150 credits with Pay Now,
creates a 2-hour service invoice and pays it from the pay modal by ticking its checkbox, and
opens the invoice PDF; the viewer is then refused an admin action.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_SECONDS = 60.0  # the promise: the URL within a minute
ADMIN, VIEWER = "U01ALEX", "U03VIKRAM"
VISA = "4242 4242 4242 4242"
# Pay Now, the pay modal and "Add Payment Details" in Slack (False: the steps before them).
PAYMENTS_IN_SLACK = True
# Paying for the credits creates (and pays) an invoice first.
SERVICE_INVOICE = "INV-000007" if PAYMENTS_IN_SLACK else "INV-000006"
UNPAID_AFTERWARDS = "2 unpaid" if PAYMENTS_IN_SLACK else "3 unpaid"
SUCCESS = "Your transaction was successful"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"Debian's Chromium is not installed at {CHROMIUM}"
)

if Path(CHROMIUM).exists():
    from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningSandbox:
    """The sandbox process, what it printed, and how long it took to print its URL."""

    process: subprocess.Popen[str]
    log: IO[str]
    url: str = ""
    started_in: float = 0.0
    localstripe_pid: int = 0
    app_url: str = ""
    output: list[str] = field(default_factory=list)

    def interrupt(self, timeout: float = 15.0) -> int:
        """Ctrl-C, as in a terminal; the exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=timeout)


def _start_sandbox(tmp_path: Path, log: IO[str]) -> RunningSandbox:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "STRIPE_")) and key not in ("DATABASE_URL", "PORT")
    }
    env["LOG_LEVEL"] = "WARNING"
    command = [
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        "--port",
        str(_free_port()),
        "--app-port",
        str(_free_port()),
        "--database",
        str(tmp_path / "sandbox.db"),
    ]
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and command
        command,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    running = RunningSandbox(process, log)
    while not (running.url and running.localstripe_pid):
        try:
            line = lines.get(timeout=max(0.1, START_SECONDS - (time.monotonic() - started)))
        except queue.Empty:
            raise AssertionError(f"no URL within {START_SECONDS}s: {running.output}") from None
        if line is None:
            printed = (tmp_path / "sandbox.log").read_text()
            raise AssertionError(f"the sandbox ended: {running.output}\n{printed}")
        running.output.append(line)
        if found := re.match(r"Admin Portal sandbox: (http://127\.0\.0\.1:\d+)$", line):
            running.url = found.group(1)
            running.started_in = time.monotonic() - started
        if found := re.search(r"localstripe \S+ \(pid (\d+)\)", line):
            running.localstripe_pid = int(found.group(1))
        if found := re.search(r"app and secure pages (http://127\.0\.0\.1:\d+)", line):
            running.app_url = found.group(1)
    return running


def _children_of(pid: int) -> list[int]:
    """Processes whose parent is `pid`, read from /proc (psutil is not installed)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    with (tmp_path / "sandbox.log").open("w") as log:
        running = _start_sandbox(tmp_path, log)
        try:
            yield running
        finally:
            if running.process.poll() is None:  # the test failed before Ctrl-C
                running.process.kill()
                running.process.wait(timeout=10)
            if running.localstripe_pid and _alive(running.localstripe_pid):
                os.kill(running.localstripe_pid, signal.SIGKILL)
            if running.process.stdout is not None:
                running.process.stdout.close()


class Shots:
    """Screenshots into the test's folder and, when asked, the README's."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        wanted = os.environ.get("SANDBOX_SCREENSHOTS")
        self.also = Path(wanted) if wanted else None

    def __call__(self, name: str) -> None:
        path = self.folder / f"sandbox-{name}.png"
        self.page.screenshot(path=path)
        assert path.stat().st_size > 0
        if self.also is not None:
            self.also.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.also / path.name)


def _type(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def _latest(page: Page, text: str) -> Locator:
    """The newest message in the open conversation that contains `text`."""
    return page.locator("article.message").filter(has_text=text).last


def _posted_file(page: Page, text: str) -> Locator:
    """The newest message with a file whose text contains `text`."""
    messages = page.locator("article.message").filter(has=page.locator("a.file"))
    return messages.filter(has_text=text).last


def test_a_newcomer_uses_the_sandbox_and_ctrl_c_stops_everything(
    browser: Browser, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    print(f"\nsandbox URL printed {sandbox.started_in:.2f}s after the command started")
    assert sandbox.started_in < START_SECONDS
    assert any("Ctrl-C stops everything" in line for line in sandbox.output)
    problems: list[str] = []
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(str(error)))
    shot = Shots(page, tmp_path)
    page.goto(f"{sandbox.url}/?as={ADMIN}")
    expect(page.get_by_role("heading", name="# general")).to_be_visible()
    expect(page.get_by_label("You are")).to_have_value(ADMIN)

    # The admin types /portal: the menu, for their eyes only.
    _type(page, "/portal")
    menu = _latest(page, "Admin Portal — Bramble & Finch Ltd")
    expect(menu).to_be_visible()
    expect(menu).to_contain_text("Only visible to you")
    expect(menu).to_contain_text("650")  # credits from the demo history
    expect(menu.get_by_role("button", name="Purchase credits")).to_be_visible()
    shot("01-menu")

    if PAYMENTS_IN_SLACK:
        _add_card_on_the_card_page(page, shot)

    # Purchase credits: the live quote as the number is typed.
    menu.get_by_role("button", name="Purchase credits").click()
    purchase = page.get_by_role("dialog", name="Purchase credits")
    expect(purchase).to_be_visible()
    expect(purchase).to_contain_text("Enter a number of credits to see the price.")
    purchase.get_by_label("Number of credits").press_sequentially("150", delay=60)
    for amount in ("£0.90", "£135.00", "£27.00", "£162.00"):
        expect(purchase).to_contain_text(amount)
    expect(purchase.get_by_label("Number of credits")).to_have_value("150")
    expect(purchase.get_by_label("Number of credits")).to_be_focused()
    shot("02-live-quote")
    purchase.get_by_role("button", name="Confirm").click()
    confirm = page.get_by_role("dialog", name="Confirm purchase")
    expect(confirm).to_contain_text("£162.00")
    shot("03-purchase-confirmation")
    if PAYMENTS_IN_SLACK:
        _pay_now_for_the_credits(page, confirm, shot)
    else:
        confirm.get_by_role("button", name="Close all").click()
        expect(page.get_by_role("dialog")).to_have_count(0)

    # Pay for services: a 2-hour Consultancy invoice, created when OK is pressed.
    _type(page, "/portal services")
    services = page.get_by_role("dialog", name="Pay for services")
    services.get_by_label("Service").select_option(label="Consultancy — £95.00 an hour")
    services.get_by_role("button", name="Create Invoice").click()
    expect(services).to_contain_text("Please complete this required field.")
    services.get_by_label("Number of hours").fill("2.1")
    services.get_by_role("button", name="Create Invoice").click()
    hours_error = services.locator(".block-input", has_text="Number of hours")
    expect(hours_error.get_by_role("alert")).to_contain_text("quarter hours")
    shot("04-field-error")
    services.get_by_label("Number of hours").fill("2")
    services.get_by_role("button", name="Create Invoice").click()
    review = page.get_by_role("dialog", name="Create Invoice")
    expect(review).to_contain_text("Consultancy")
    expect(review).to_contain_text("£190.00")
    expect(review).to_contain_text("£228.00")
    shot("05-create-invoice")
    review.get_by_role("button", name="OK").click()
    created = page.get_by_role("dialog", name="Invoice created")
    expect(created).to_contain_text(f"Invoice {SERVICE_INVOICE} has been created.")
    shot("06-invoice-created")
    # "View invoice" pushes the invoice; its "Download PDF" posts the PDF where we started.
    created.get_by_role("button", name="View invoice").click()
    detail = page.get_by_role("dialog", name=f"Invoice {SERVICE_INVOICE}")
    expect(detail).to_contain_text("2 hours × £95.00 = £190.00")
    expect(detail).to_contain_text("Unpaid")
    shot("07-invoice")
    detail.get_by_role("button", name="Download PDF").click()
    detail.get_by_role("button", name="Back").click()
    expect(created).to_be_visible()
    if PAYMENTS_IN_SLACK:
        _pay_the_invoice_from_the_pay_modal(page, created, shot)
    else:
        created.get_by_role("button", name="Close all").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    posted = _posted_file(page, f"Invoice {SERVICE_INVOICE}")
    link = posted.locator("a.file")
    expect(link).to_contain_text(f"Invoice {SERVICE_INVOICE}")
    expect(link).to_have_attribute("target", "_blank")
    href = link.get_attribute("href") or ""
    assert href.startswith(f"{sandbox.url}/files/"), href
    pdf = context.request.get(href)
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    shot("08-invoice-pdf")

    # The account's invoices, newest first.
    _type(page, "/portal invoices")
    invoices = _latest(page, "Page 1 · newest first")
    expect(invoices).to_contain_text(SERVICE_INVOICE)
    expect(invoices).to_contain_text("£228.00")
    expect(invoices).to_contain_text("Overdue")  # the demo's Training invoice
    expect(invoices).to_contain_text("INV-000001")
    shot("09-invoices")

    # The App Home shows the same dashboard.
    page.get_by_role("button", name="Admin Portal").click()
    expect(page.locator("#home")).to_contain_text("Admin Portal — Bramble & Finch Ltd")
    expect(page.locator("#home")).to_contain_text(UNPAID_AFTERWARDS)
    shot("10-app-home")

    # The viewer is refused an admin action, politely, and sees only what a viewer may use.
    page.get_by_label("You are").select_option(VIEWER)
    page.get_by_role("button", name="# general").click()
    expect(page.locator("#person-title")).to_have_text("Viewer")
    # The admin's answers were for the admin alone; the PDF was posted for everyone.
    expect(page.locator("article.message[data-ephemeral]")).to_have_count(0)
    expect(page.locator("article.message")).to_have_count(1)
    expect(_posted_file(page, f"Invoice {SERVICE_INVOICE}").locator("a.file")).to_be_visible()
    _type(page, "/portal vat")
    refusal = _latest(page, "Only an account admin can do that")
    expect(refusal).to_contain_text("you are a viewer")
    expect(page.get_by_role("dialog")).to_have_count(0)
    _type(page, "/portal")
    viewer_menu = _latest(page, "Your role")
    expect(viewer_menu).to_contain_text("Viewer")
    expect(viewer_menu.get_by_role("button", name="Purchase credits")).to_have_count(0)
    shot("11-viewer-refused")

    context.close()
    assert problems == [], problems

    # Ctrl-C stops everything the sandbox started.
    children = _children_of(sandbox.process.pid)
    assert sandbox.localstripe_pid in children
    assert sandbox.interrupt() == 0
    assert not _alive(sandbox.localstripe_pid)
    assert all(not _alive(child) for child in children)
    assert not any(
        f"--parent {sandbox.process.pid}" in _cmdline(pid)
        for pid in (int(p.name) for p in Path("/proc").glob("[0-9]*"))
    )
    for url in (sandbox.url, sandbox.app_url):  # the page and the app no longer listen
        port = int(url.rsplit(":", 1)[1])
        with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
            probe.connect(("127.0.0.1", port))


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


# -- The steps for the card page, Pay Now and the pay modal ----------------------------------------


def _add_card_on_the_card_page(page: Page, shot: Shots) -> None:
    """Payment details → Add Payment Details → billing address → card page → 4242 … 4242."""
    _type(page, "/portal card")
    details = _latest(page, "You don't have any valid payment details")
    details.get_by_role("button", name="Add Payment Details").click()
    address = page.get_by_role("dialog", name="Add Payment Details")
    address.get_by_label("Forename").fill("Alex")
    address.get_by_label("Surname").fill("Morgan")
    address.get_by_label("Address line 1").fill("1 Example Street")
    address.get_by_label("Town").fill("London")
    address.get_by_label("Postcode").fill("EC1A 1AA")
    expect(address.get_by_label("Country")).to_have_value("United Kingdom")  # the account's
    address.get_by_role("button", name="Add Card").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    link = _latest(page, "card page")
    with page.context.expect_page() as opened:
        link.get_by_role("button", name="Open card page").click()
    card_page = opened.value
    expect(card_page.get_by_role("heading", level=1)).to_have_text("Add Payment Details")
    element = card_page.locator("#card-element")
    element.locator('input[placeholder="number"]').fill(VISA.replace(" ", ""))
    element.locator('input[placeholder="exp_month"]').fill("12")
    element.locator('input[placeholder="exp_year"]').fill("30")
    element.locator('input[placeholder="cvc"]').fill("123")
    element.locator('input[placeholder="postal_code"]').fill("EC1A")
    card_page.get_by_role("button", name="Save card").click()
    expect(card_page.get_by_role("heading", level=1)).to_have_text("Card saved")
    card_page.close()
    expect(_latest(page, SUCCESS)).to_contain_text("Visa •••• 4242")
    shot("card-saved")


def _pay_now_for_the_credits(page: Page, confirm: Locator, shot: Shots) -> None:
    """The confirmation view's Pay Now charges the saved card; the credits are granted."""
    confirm.get_by_role("button", name="Pay Now").click()
    paid = _latest(page, SUCCESS)
    expect(paid).to_contain_text("£162.00 paid for invoice INV-000006 with Visa •••• 4242")
    expect(paid).to_contain_text("150 credits added: the balance is now 800 credits.")
    outcome = page.get_by_role("dialog", name="Purchase credits")
    expect(outcome).to_contain_text(SUCCESS)  # "Working…" became the outcome
    shot("credits-paid")
    outcome.get_by_role("button", name="Close all").click()
    expect(page.get_by_role("dialog")).to_have_count(0)


def _pay_the_invoice_from_the_pay_modal(page: Page, created: Locator, shot: Shots) -> None:
    """ "Pay now" → the unpaid invoices with checkboxes → tick the new one → Pay Now."""
    created.get_by_role("button", name="Pay now").click()
    pay = page.get_by_role("dialog", name="Pay invoices")
    # The new invoice comes ticked; the demo's older unpaid ones are offered too.
    expect(pay.get_by_role("checkbox", name=re.compile(SERVICE_INVOICE))).to_be_checked()
    expect(pay.get_by_role("checkbox")).to_have_count(3)
    expect(pay).to_contain_text("Total to pay: £228.00 (1 invoice)")
    older = pay.get_by_role("checkbox").first
    older.check()  # the total follows the ticks
    expect(pay).not_to_contain_text("(1 invoice)")
    older.uncheck()
    expect(pay).to_contain_text("Total to pay: £228.00 (1 invoice)")
    pay.get_by_role("checkbox", name=re.compile(SERVICE_INVOICE)).check()
    shot("pay-modal")
    pay.get_by_role("button", name="Pay Now").click()
    paid = _latest(page, SUCCESS)
    expect(paid).to_contain_text(f"£228.00 paid for invoice {SERVICE_INVOICE}")
    outcome = page.get_by_role("dialog", name="Pay invoices")
    expect(outcome).to_contain_text(SUCCESS)
    shot("invoice-paid")
    outcome.get_by_role("button", name="Close all").click()


# -- The Block Kit renderer on its own ---------------------------------------------------------

STATIC = Path(__file__).resolve().parents[2] / "bot" / "sandbox" / "static"


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _option(text: str, value: str) -> dict[str, object]:
    return {"text": _plain(text), "value": value}


EVERY_KIND = [
    {"type": "header", "text": _plain("Invoices")},
    {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "*Bold* _italic_ ~gone~ `code` <https://example.com/x|a link> <@U1> "
            "<#C1|general> :white_check_mark: <img src=x onerror=alert(1)> &lt;b&gt;\n> quoted",
        },
        "accessory": {"type": "button", "text": _plain("View"), "action_id": "view", "value": "7"},
    },
    {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": "*Credits*\n650"}, _plain("Plain & <safe>")],
        "accessory": {
            "type": "overflow",
            "action_id": "more",
            "options": [_option("Change role", "role"), _option("Remove", "remove")],
        },
    },
    {
        "type": "actions",
        "block_id": "row",
        "elements": [
            {
                "type": "button",
                "text": _plain("Remove"),
                "action_id": "remove",
                "style": "danger",
                "confirm": {
                    "title": _plain("Remove user?"),
                    "text": {"type": "mrkdwn", "text": "<@U1> will lose access."},
                    "confirm": _plain("Remove"),
                    "deny": _plain("Cancel"),
                },
            },
            {
                "type": "button",
                "text": _plain("Open card page"),
                "action_id": "open_link",
                "url": "http://127.0.0.1:9/card",
            },
            {
                "type": "static_select",
                "action_id": "page_size",
                "options": [_option("10 a page", "10"), _option("20 a page", "20")],
            },
        ],
    },
    {"type": "divider"},
    {
        "type": "input",
        "block_id": "credits",
        "dispatch_action": True,
        "label": _plain("Number of credits"),
        "element": {
            "type": "plain_text_input",
            "action_id": "credits_input",
            "dispatch_action_config": {"trigger_actions_on": ["on_character_entered"]},
        },
    },
    {
        "type": "input",
        "block_id": "hours",
        "label": _plain("Number of hours"),
        "hint": _plain("In quarter hours."),
        "element": {"type": "number_input", "action_id": "hours_input", "is_decimal_allowed": True},
    },
    {
        "type": "input",
        "block_id": "country",
        "label": _plain("Country"),
        "element": {"type": "external_select", "action_id": "country_input", "min_query_length": 1},
    },
    {
        "type": "input",
        "block_id": "user",
        "label": _plain("Person"),
        "element": {"type": "users_select", "action_id": "user_input"},
    },
    {
        "type": "input",
        "block_id": "channel",
        "label": _plain("Finance channel"),
        "element": {
            "type": "conversations_select",
            "action_id": "channel_input",
            "initial_conversation": "C1",
        },
    },
    {
        "type": "input",
        "block_id": "pay",
        "optional": True,
        "label": _plain("Invoices to pay"),
        "element": {
            "type": "checkboxes",
            "action_id": "pay_input",
            "options": [
                {"text": {"type": "mrkdwn", "text": "*INV-000004* · £135.00"}, "value": "4"},
                {"text": {"type": "mrkdwn", "text": "*INV-000005* · £528.00"}, "value": "5"},
            ],
        },
    },
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "Price per credit: £0.90"}]},
    {"type": "rich_text", "elements": []},
]

_DRAW = """(blocks) => {
  window.used = [];
  window.asked = [];
  window.entered = {};
  const ctx = {
    where: {surface: "modal", view_id: "V1"}, key: "V1", entered: window.entered,
    initial: {}, errors: {hours: "Enter a number of hours, like 2 or 1.5."},
    people: [{id: "U1", name: "Alex Morgan"}, {id: "U2", name: "Fiona Grant"}],
    channels: [{id: "C1", name: "general"}, {id: "C2", name: "finance"}],
    userName: (id) => ({U1: "Alex Morgan", U2: "Fiona Grant"})[id] || null,
    channelName: (id) => ({C1: "general", C2: "finance"})[id] || null,
    act: (block, action, value) => window.used.push([block || "", action, value ?? null]),
    suggest: async (block, action, query) => {
      window.asked.push(query);
      return {option_groups: [{label: {type: "plain_text", text: "European Union"},
        options: [{text: {type: "plain_text", text: "Germany"}, value: "DE"}]}]};
    },
    confirm: async (c) => { window.confirmed = c.title.text; return true; },
  };
  const out = document.getElementById("out");
  out.append(SandboxBlocks.render(blocks, ctx));
}"""


def test_the_renderer_draws_every_block_and_element_the_app_uses(browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    asked_for: list[str] = []
    context.on("request", lambda request: asked_for.append(request.url))
    page.set_content('<!doctype html><html lang="en"><body><div id="out"></div></body></html>')
    for name in ("mrkdwn.js", "blocks.js"):
        page.add_script_tag(content=(STATIC / name).read_text())
    page.evaluate(_DRAW, EVERY_KIND)
    out = page.locator("#out")

    expect(out.get_by_role("heading", name="Invoices")).to_be_visible()
    text = out.locator(".block-section").first
    expect(text.locator("b")).to_have_text("Bold")
    expect(text.locator("i")).to_have_text("italic")
    expect(text.locator("s")).to_have_text("gone")
    expect(text.locator("code")).to_have_text("code")
    expect(text.get_by_role("link", name="a link")).to_have_attribute("target", "_blank")
    expect(text.locator(".mention")).to_have_text(["@Alex Morgan", "#general"])
    expect(text.get_by_role("img", name="white_check_mark")).to_be_visible()
    expect(text.locator("blockquote")).to_have_text("quoted")
    expect(text).to_contain_text("img src=x onerror=alert(1) <b>")  # shown as text, never run
    expect(out.locator("img")).to_have_count(0)
    expect(out.locator(".section-field")).to_have_text(["Credits650", "Plain & <safe>"])
    expect(out.locator(".section-field").first.locator("br")).to_have_count(1)
    expect(out.locator("hr.block-divider")).to_have_count(1)
    expect(out.locator(".block-context")).to_have_text("Price per credit: £0.90")
    expect(out.locator(".unsupported")).to_contain_text("rich_text")

    # Buttons, a confirm, a url button, a select and an overflow in actions send block_actions.
    out.get_by_role("button", name="View").click()
    out.get_by_role("button", name="Remove").click()
    out.get_by_role("button", name="Open card page").click()
    out.locator("select[data-action-id=page_size]").select_option("20")
    out.get_by_role("button", name="More actions").click()
    out.get_by_role("menuitem", name="Change role").click()
    assert page.evaluate("window.confirmed") == "Remove user?"
    assert page.evaluate("window.used") == [
        ["", "view", None],
        ["row", "remove", None],
        ["row", "open_link", None],
        ["row", "page_size", "20"],
        ["", "more", "role"],
    ]
    assert len(context.pages) == 2  # the url button opened its link in a new tab
    assert "http://127.0.0.1:9/card" in asked_for

    # Inputs: a dispatching text input (debounced), an error under its field, the pickers.
    credits = out.get_by_label("Number of credits")
    credits.press_sequentially("150", delay=30)
    page.wait_for_function("window.used.length === 6")
    assert page.evaluate("window.used[5]") == ["credits", "credits_input", "150"]
    hours = out.locator("[data-block-id=hours]")
    expect(hours.get_by_role("alert")).to_have_text("Enter a number of hours, like 2 or 1.5.")
    expect(hours.get_by_label("Number of hours")).to_have_attribute("aria-invalid", "true")
    expect(hours).to_contain_text("In quarter hours.")
    hours.get_by_label("Number of hours").fill("2.5")
    out.get_by_label("Country").press_sequentially("ger", delay=20)
    out.get_by_role("option", name="Germany").click()
    expect(out.get_by_label("Country")).to_have_value("Germany")
    out.get_by_label("Person").select_option(label="Fiona Grant")
    expect(out.get_by_label("Finance channel")).to_have_value("C1")  # initial_conversation
    out.get_by_role("checkbox", name="INV-000005 · £528.00").check()
    expect(out.locator("[data-block-id=pay]")).to_contain_text("(optional)")
    assert page.evaluate("window.entered") == {
        "row": {"page_size": "20"},  # a select in an actions block is part of the state too
        "credits": {"credits_input": "150"},
        "hours": {"hours_input": "2.5"},
        "country": {"country_input": {"value": "DE", "text": "Germany"}},
        "user": {"user_input": "U2"},
        "pay": {"pay_input": ["5"]},
    }
    assert page.evaluate("window.asked")[-1] == "ger"
    assert len(page.evaluate("window.used")) == 6  # input blocks without dispatch send nothing
    context.close()
