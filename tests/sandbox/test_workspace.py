"""The sandbox Slack's JSON API against the real app, in-process, and how it builds requests.

One sandbox (localstripe, the app on a fresh SQLite file, the page server) serves the whole
module; the tests talk to it as the page does — JSON over HTTP — and read back the state the
page would draw. They share its workspace, so each one looks only at what it caused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.sandbox import demo
from bot.sandbox.blockkit import (
    action_fields,
    chosen_option,
    escape_command_text,
    state_values,
)
from bot.sandbox.runner import Sandbox, SandboxOptions, SandboxStartError, sandbox_settings
from bot.ui.ids import Act, Blk, Cb
from store.db import transaction
from store.enums import Role
from store.models import AccountUser, Invoice
from tests.slack.conftest import text_of

ADMIN, FINANCE, VIEWER = demo.ADMIN.user_id, demo.FINANCE.user_id, demo.VIEWER.user_id
GENERAL, FINANCE_CHANNEL = demo.GENERAL.channel_id, demo.FINANCE_CHANNEL.channel_id
JsonDict = dict[str, Any]


# -- The running sandbox -------------------------------------------------------------------------


class Page:
    """What the sandbox page does: read the state, report what the person did."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.url = sandbox.url
        self.http = requests.Session()

    def state(self, user: str) -> JsonDict:
        answer = self.http.get(f"{self.url}/sandbox/state", params={"user": user}, timeout=5)
        assert answer.status_code == 200, answer.text
        body: JsonDict = answer.json()
        return body

    def post(self, path: str, user: str, **body: Any) -> requests.Response:
        return self.http.post(f"{self.url}/sandbox/{path}", json={"user": user, **body}, timeout=10)

    def do(self, path: str, user: str, **body: Any) -> JsonDict:
        answer = self.post(path, user, **body)
        assert answer.status_code == 200, answer.text
        result: JsonDict = answer.json()
        assert result["ok"] is True, result
        return result

    def type(self, user: str, text: str, channel: str = GENERAL) -> None:
        self.do("message", user, channel=channel, text=text)

    def wait(self, user: str, check: Callable[[JsonDict], Any], timeout: float = 5.0) -> Any:
        """Poll the state (as the page does) until `check` returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state(user)
            found = check(state)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"the page never showed it; last state: {state}")
            time.sleep(0.02)

    def new_message(self, user: str, place: str, after: int, contains: str) -> JsonDict:
        """The first message after the first `after` in `place` whose text holds `contains`."""

        def check(state: JsonDict) -> JsonDict | None:
            for message in state["messages"][place][after:]:
                if contains in text_of(message):
                    return message  # type: ignore[no-any-return]
            return None

        found: JsonDict = self.wait(user, check)
        return found

    def count(self, user: str, place: str) -> int:
        return len(self.state(user)["messages"][place])

    def top_modal(self, user: str, callback_id: str) -> JsonDict:
        def check(state: JsonDict) -> JsonDict | None:
            stack = state["modals"]
            return stack[-1] if stack and stack[-1]["callback_id"] == callback_id else None

        found: JsonDict = self.wait(user, check)
        return found

    def close_all(self, user: str) -> None:
        for view in reversed(self.state(user)["modals"]):
            self.do("close", user, view_id=view["id"], everything=True)
            break


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    database: Path = tmp_path_factory.mktemp("sandbox") / "sandbox.db"
    options = SandboxOptions.resolve(port=0, app_port=0, database=str(database), environ={})
    running = Sandbox(options).start().serve_in_background()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def page(sandbox: Sandbox) -> Iterator[Page]:
    client = Page(sandbox)
    yield client
    for person in (ADMIN, FINANCE, VIEWER):
        client.close_all(person)
    client.http.close()


# -- The demo workspace ----------------------------------------------------------------------


def test_the_demo_account_is_made_once_with_its_people(sandbox: Sandbox) -> None:
    assert sandbox.demo_created
    assert sandbox.deps is not None
    with transaction(sandbox.deps.session_factory) as session:
        account, made = demo.ensure_demo_account(session=session, now=sandbox.deps.clock())
        assert not made
        roles = {
            member.slack_user_id: member.role for member in session.scalars(select(AccountUser))
        }
        invoices = session.scalar(select(func.count()).select_from(Invoice))
    assert account.company_name == demo.COMPANY_NAME
    assert account.country == "GB"
    assert account.finance_channel_id == FINANCE_CHANNEL
    assert roles == {ADMIN: Role.ADMIN, FINANCE: Role.FINANCE, VIEWER: Role.VIEWER}
    assert invoices == len(demo.HISTORY)


def test_the_page_learns_who_can_be_switched_to(page: Page) -> None:
    about = page.http.get(f"{page.url}/sandbox/workspace", timeout=5).json()
    assert [p["id"] for p in about["people"]] == [ADMIN, FINANCE, VIEWER]
    assert about["default_person"] == ADMIN
    state = page.state(ADMIN)
    assert [c["name"] for c in state["channels"]] == ["general", "finance"]
    assert {p["name"] for p in state["people"]} >= {"Priya Patel", "Tom Baker"}  # to add
    assert state["app_dm"] == "D" + ADMIN
    assert any(demo.PASSWORD in note for note in state["notes"])


# -- Commands, messages and roles ------------------------------------------------------------


def test_typing_portal_as_the_admin_shows_the_menu_to_them_alone(page: Page) -> None:
    before = page.count(ADMIN, GENERAL)
    page.type(ADMIN, "/portal")
    menu = page.new_message(ADMIN, GENERAL, before, "Admin Portal — Bramble & Finch Ltd")
    assert menu["ephemeral"] is True
    assert menu["author"] is None  # the app
    text = text_of(menu["blocks"])
    assert "*Credits*\n650" in text  # 500 + 150 bought in the demo history
    assert "2 unpaid, £663.00" in text
    assert "Purchase credits" in text
    # Ephemeral: the viewer, in the same channel, does not see it.
    assert all(
        "Admin Portal — Bramble" not in text_of(m) for m in page.state(VIEWER)["messages"][GENERAL]
    )


def test_switching_people_shows_each_their_own_role(page: Page) -> None:
    before = page.count(VIEWER, GENERAL)
    page.type(VIEWER, "/portal")
    menu = page.new_message(VIEWER, GENERAL, before, "Admin Portal — Bramble & Finch Ltd")
    assert "*Your role*\nViewer" in text_of(menu["blocks"])
    assert "Purchase credits" not in text_of(menu["blocks"])

    page.type(VIEWER, "/portal vat")
    refusal = page.new_message(VIEWER, GENERAL, before, "Only an account admin can do that")
    assert refusal["ephemeral"] is True
    assert page.state(VIEWER)["modals"] == []


def test_a_member_without_a_role_is_refused_politely(page: Page) -> None:
    stranger = next(p.user_id for p in demo.PEOPLE if p.name == "Priya Patel")  # no role
    before = page.count(stranger, GENERAL)
    page.type(stranger, "/portal credits")
    page.new_message(stranger, GENERAL, before, "You don't have access")


def test_a_plain_message_is_posted_as_the_person(page: Page) -> None:
    before = page.count(FINANCE, GENERAL)
    page.type(FINANCE, "Morning all")
    said = page.new_message(ADMIN, GENERAL, before, "Morning all")  # everyone sees it
    assert said["author"] == FINANCE
    assert said["ephemeral"] is False


def test_an_unknown_command_gets_slackbot_s_answer(page: Page) -> None:
    before = page.count(ADMIN, GENERAL)
    page.type(ADMIN, "/weather london")
    note = page.new_message(ADMIN, GENERAL, before, "is not a valid command")
    assert note["author"] == "USLACKBOT"
    assert note["ephemeral"] is True


def test_a_menu_button_in_a_message_sends_block_actions(page: Page) -> None:
    before = page.count(ADMIN, GENERAL)
    page.type(ADMIN, "/portal")
    menu = page.new_message(ADMIN, GENERAL, before, "Admin Portal — Bramble")
    block_id = next(
        b["block_id"]
        for b in menu["blocks"]
        if b["type"] == "actions" and Act.MENU_INVOICES in text_of(b)
    )
    page.do(
        "action",
        ADMIN,
        surface="message",
        channel=GENERAL,
        ts=menu["ts"],
        block_id=block_id,
        action_id=Act.MENU_INVOICES,
    )
    invoices = page.new_message(ADMIN, GENERAL, before, "INV-000005")
    assert "Overdue" in text_of(invoices["blocks"])  # the demo's Training invoice
    assert "INV-000001" in text_of(invoices["blocks"])


# -- Modals ----------------------------------------------------------------------------------


def test_the_live_quote_and_a_field_error_under_the_right_field(page: Page) -> None:
    page.type(ADMIN, "/portal buy")
    modal = page.top_modal(ADMIN, Cb.PURCHASE_CREDITS)

    # Typing dispatches block_actions with the view's state; the app updates the modal.
    page.do(
        "action",
        ADMIN,
        surface="modal",
        view_id=modal["id"],
        block_id=Blk.CREDITS,
        action_id=Act.CREDITS_INPUT,
        entered="150",
        state={Blk.CREDITS: {Act.CREDITS_INPUT: "150"}},
    )

    def quoted(state: JsonDict) -> JsonDict | None:
        top = state["modals"][-1]
        return top if "£162.00" in text_of(top["blocks"]) else None

    updated = page.wait(ADMIN, quoted)
    text = text_of(updated["blocks"])
    for amount in ("£0.90", "£135.00", "£27.00", "£162.00"):
        assert amount in text
    assert updated["id"] == modal["id"]
    assert updated["state"][Blk.CREDITS][Act.CREDITS_INPUT]["value"] == "150"

    invoices_before = _invoice_count(page)
    page.do("submit", ADMIN, view_id=modal["id"], state={Blk.CREDITS: {Act.CREDITS_INPUT: "1.5"}})
    after = page.state(ADMIN)["modals"]
    assert [v["id"] for v in after] == [modal["id"]]  # still open, nothing pushed
    assert set(after[-1]["errors"]) == {Blk.CREDITS}
    assert "whole number" in after[-1]["errors"][Blk.CREDITS]
    assert _invoice_count(page) == invoices_before

    page.do("submit", ADMIN, view_id=modal["id"], state={Blk.CREDITS: {Act.CREDITS_INPUT: "150"}})
    confirm = page.top_modal(ADMIN, Cb.PURCHASE_CONFIRM)
    assert "£162.00" in text_of(confirm["blocks"])
    assert len(page.state(ADMIN)["modals"]) == 2  # pushed on top
    # Cancel goes back to the modal below; the close icon closes the whole stack.
    page.do("close", ADMIN, view_id=confirm["id"])
    assert [v["id"] for v in page.state(ADMIN)["modals"]] == [modal["id"]]
    page.do("close", ADMIN, view_id=modal["id"], everything=True)
    assert page.state(ADMIN)["modals"] == []


def _invoice_count(page: Page) -> int:
    deps = page.sandbox.deps
    assert deps is not None
    with transaction(deps.session_factory) as session:
        return int(session.scalar(select(func.count()).select_from(Invoice)) or 0)


def test_a_service_invoice_through_the_modal_stack(page: Page) -> None:
    page.type(FINANCE, "/portal services")
    form = page.top_modal(FINANCE, Cb.SERVICES)
    options = next(b for b in form["blocks"] if b.get("block_id") == Blk.SERVICE)["element"]
    consultancy = next(o["value"] for o in options["options"] if "Consultancy" in o["text"]["text"])

    # Left empty, a required field is refused by Slack's client itself, as in Slack.
    answer = page.do(
        "submit",
        FINANCE,
        view_id=form["id"],
        state={Blk.SERVICE: {Act.SERVICE_INPUT: consultancy}, Blk.HOURS: {Act.HOURS_INPUT: ""}},
    )
    assert answer["sent"] is False
    errors = page.state(FINANCE)["modals"][-1]["errors"]
    assert errors == {Blk.HOURS: "Please complete this required field."}
    # A bad value is the app's to refuse, under the field it names.
    answer = page.do(
        "submit",
        FINANCE,
        view_id=form["id"],
        state={Blk.SERVICE: {Act.SERVICE_INPUT: consultancy}, Blk.HOURS: {Act.HOURS_INPUT: "2.1"}},
    )
    assert answer["sent"] is True
    errors = page.state(FINANCE)["modals"][-1]["errors"]
    assert list(errors) == [Blk.HOURS]
    assert "quarter hours" in errors[Blk.HOURS]

    page.do(
        "submit",
        FINANCE,
        view_id=form["id"],
        state={Blk.SERVICE: {Act.SERVICE_INPUT: consultancy}, Blk.HOURS: {Act.HOURS_INPUT: "2"}},
    )
    confirm = page.top_modal(FINANCE, Cb.SERVICES_CONFIRM)
    assert "£228.00" in text_of(confirm["blocks"])
    before = _invoice_count(page)
    dm = "D" + FINANCE
    told_before = page.count(FINANCE, dm)
    page.do("submit", FINANCE, view_id=confirm["id"], state={})
    created = page.top_modal(FINANCE, Cb.INVOICE_CREATED)
    assert "has been created" in text_of(created["blocks"])
    assert _invoice_count(page) == before + 1
    # The success message went to the person's conversation with the app.
    page.new_message(FINANCE, dm, told_before, "has been created")


def test_a_country_search_asks_the_app_for_options(page: Page) -> None:
    page.type(ADMIN, "/portal vat")
    form = page.top_modal(ADMIN, Cb.VAT_DETAILS)
    answer = page.do(
        "suggest",
        ADMIN,
        surface="modal",
        view_id=form["id"],
        block_id=Blk.COUNTRY,
        action_id=Act.COUNTRY_INPUT,
        query="germ",
    )
    groups = answer["option_groups"]
    assert [o["text"]["text"] for g in groups for o in g["options"]] == ["Germany"]

    page.do(
        "submit",
        ADMIN,
        view_id=form["id"],
        state={
            Blk.COUNTRY: {Act.COUNTRY_INPUT: {"value": "DE", "text": "Germany"}},
            Blk.VAT_REFERENCE: {Act.VAT_REFERENCE_INPUT: "DE123"},
        },
    )
    errors = page.state(ADMIN)["modals"][-1]["errors"]
    assert list(errors) == [Blk.VAT_REFERENCE]
    assert sandbox_account_country(page) == "GB"  # nothing changed


def sandbox_account_country(page: Page) -> str:
    deps = page.sandbox.deps
    assert deps is not None
    with transaction(deps.session_factory) as session:
        account, _ = demo.ensure_demo_account(session=session, now=deps.clock())
        return account.country


def test_the_users_picker_and_a_confirm_protected_button(page: Page) -> None:
    before = page.count(ADMIN, GENERAL)
    page.type(ADMIN, "/portal users")
    users = page.new_message(ADMIN, GENERAL, before, "Added by")
    page.do(
        "action",
        ADMIN,
        surface="message",
        channel=GENERAL,
        ts=users["ts"],
        block_id="",
        action_id=Act.ADD_USER,
    )
    form = page.top_modal(ADMIN, Cb.ADD_USER)
    page.do(
        "submit",
        ADMIN,
        view_id=form["id"],
        state={Blk.USER: {Act.USER_INPUT: "U05TOM"}, Blk.ROLE: {Act.ROLE_INPUT: "viewer"}},
    )
    dm = "D" + ADMIN
    page.new_message(ADMIN, dm, 0, "<@U05TOM> has been added")
    deps = page.sandbox.deps
    assert deps is not None
    with transaction(deps.session_factory) as session:
        tom = session.scalar(select(AccountUser).where(AccountUser.slack_user_id == "U05TOM"))
        assert tom is not None
        assert tom.role is Role.VIEWER


# -- Files, refusals and the page itself -----------------------------------------------------


def test_a_file_the_app_uploads_opens_from_the_page(sandbox: Sandbox, page: Page) -> None:
    assert sandbox.settings is not None
    client = WebClient(token="xoxb-sandbox", base_url=sandbox.settings.SLACK_API_URL)
    client.files_upload_v2(
        channel=FINANCE_CHANNEL, content=b"%PDF-1.4 demo", filename="INV-000001.pdf"
    )
    message = page.new_message(FINANCE, FINANCE_CHANNEL, 0, "INV-000001.pdf")
    file = message["files"][0]
    assert file["url"].startswith(page.url + "/files/")
    download = page.http.get(file["url"], timeout=5)
    assert download.status_code == 200
    assert download.content == b"%PDF-1.4 demo"
    assert download.headers["Content-Type"] == "application/pdf"


def test_the_page_api_refuses_other_hosts_and_forms(page: Page) -> None:
    forged = page.http.get(
        f"{page.url}/sandbox/state",
        params={"user": ADMIN},
        headers={"Host": "attacker.example"},
        timeout=5,
    )
    assert forged.status_code == 403
    form = page.http.post(
        f"{page.url}/sandbox/message", data={"user": ADMIN, "channel": GENERAL, "text": "x"}
    )
    assert form.status_code == 415
    nobody = page.post("message", "UNOBODY", channel=GENERAL, text="/portal")
    assert nobody.status_code == 404
    gone = page.post("submit", ADMIN, view_id="V0GONE", state={})
    assert gone.status_code == 409
    assert gone.json()["error"] == "That modal is no longer open."


def test_the_page_and_its_scripts_are_served(page: Page) -> None:
    index = page.http.get(page.url + "/", timeout=5)
    assert index.status_code == 200
    assert "/static/workspace.js" in index.text
    for name in ("workspace.js", "blocks.js", "mrkdwn.js", "workspace.css"):
        assert page.http.get(f"{page.url}/static/{name}", timeout=5).status_code == 200


def test_the_home_tab_is_published_when_opened(page: Page) -> None:
    page.do("home", FINANCE)
    home = page.wait(FINANCE, lambda state: state["home"])
    assert "Admin Portal — Bramble & Finch Ltd" in text_of(home["blocks"])
    assert "*Your role*\nFinance" in text_of(home["blocks"])


def test_stopping_leaves_no_localstripe_behind(tmp_path: Path) -> None:
    options = SandboxOptions.resolve(
        port=0, app_port=0, database=str(tmp_path / "s.db"), environ={}
    )
    sandbox = Sandbox(options).start()
    pid = sandbox.stripe.pid
    assert pid is not None
    assert Path(f"/proc/{pid}").exists()
    sandbox.stop()
    assert not Path(f"/proc/{pid}").exists()
    assert options.stripe_state_file().exists()  # kept beside the database for next time


# -- Request building (pure) -----------------------------------------------------------------

SELECT = {
    "type": "static_select",
    "action_id": "role_input",
    "options": [
        {"text": {"type": "plain_text", "text": "Admin"}, "value": "admin"},
        {"text": {"type": "plain_text", "text": "Viewer"}, "value": "viewer"},
    ],
    "initial_option": {"text": {"type": "plain_text", "text": "Viewer"}, "value": "viewer"},
}
BLOCKS = [
    {
        "type": "input",
        "block_id": "hours",
        "label": {"type": "plain_text", "text": "Number of hours"},
        "element": {"type": "plain_text_input", "action_id": "hours_input", "initial_value": "2"},
    },
    {
        "type": "input",
        "block_id": "role",
        "label": {"type": "plain_text", "text": "Role"},
        "element": SELECT,
    },
    {
        "type": "input",
        "block_id": "who",
        "label": {"type": "plain_text", "text": "Person"},
        "element": {"type": "users_select", "action_id": "user_input"},
    },
    {
        "type": "input",
        "block_id": "pay",
        "label": {"type": "plain_text", "text": "Invoices"},
        "element": {
            "type": "checkboxes",
            "action_id": "pay_input",
            "options": [
                {"text": {"type": "mrkdwn", "text": "*INV-000001*"}, "value": "1"},
                {"text": {"type": "mrkdwn", "text": "*INV-000002*"}, "value": "2"},
            ],
        },
    },
    {"type": "section", "text": {"type": "mrkdwn", "text": "no state"}},
]


def test_state_values_follow_slack_s_format_with_initial_values() -> None:
    assert state_values(BLOCKS, None) == {
        "hours": {"hours_input": {"type": "plain_text_input", "value": "2"}},
        "role": {
            "role_input": {"type": "static_select", "selected_option": SELECT["initial_option"]}
        },
        "who": {"user_input": {"type": "users_select", "selected_user": None}},
        "pay": {"pay_input": {"type": "checkboxes", "selected_options": []}},
    }


def test_state_values_from_what_was_entered() -> None:
    values = state_values(
        BLOCKS,
        {
            "hours": {"hours_input": ""},
            "role": {"role_input": "admin"},
            "who": {"user_input": "U04PRIYA"},
            "pay": {"pay_input": ["2", "9"]},  # 9 is not an option: dropped
        },
    )
    assert values["hours"]["hours_input"]["value"] is None  # cleared: Slack sends null
    assert values["role"]["role_input"]["selected_option"]["value"] == "admin"
    assert values["role"]["role_input"]["selected_option"]["text"]["text"] == "Admin"
    assert values["who"]["user_input"]["selected_user"] == "U04PRIYA"
    assert [o["value"] for o in values["pay"]["pay_input"]["selected_options"]] == ["2"]


def test_an_external_select_choice_keeps_the_offered_text() -> None:
    element = {"type": "external_select", "action_id": "country_input"}
    assert chosen_option(element, {"value": "DE", "text": "Germany"}) == {
        "text": {"type": "plain_text", "text": "Germany", "emoji": True},
        "value": "DE",
    }
    assert chosen_option(SELECT, "nonsense") is None


def test_action_fields_per_element_type() -> None:
    assert action_fields({"type": "button", "action_id": "b", "value": "7"}, None) == {}
    assert action_fields(SELECT, "admin")["selected_option"]["value"] == "admin"
    assert action_fields({"type": "users_select"}, "U1") == {"selected_user": "U1"}
    assert action_fields({"type": "conversations_select"}, "C1") == {"selected_channel": "C1"}
    assert action_fields({"type": "plain_text_input"}, "15") == {"value": "15"}
    overflow = {"type": "overflow", "options": SELECT["options"]}
    assert action_fields(overflow, "viewer")["selected_option"]["value"] == "viewer"


def test_command_text_is_escaped_as_slack_does() -> None:
    escaped = escape_command_text(
        "finance #finance for @fiona.grant & <b> #nowhere",
        channels={"finance": "C02FINANCE"},
        users={"fiona.grant": "U02FIONA"},
    )
    assert escaped == (
        "finance <#C02FINANCE|finance> for <@U02FIONA|fiona.grant> &amp; &lt;b&gt; #nowhere"
    )


# -- Options and settings (pure) -----------------------------------------------------------------


def test_ports_and_database_come_from_flags_then_the_environment_then_defaults() -> None:
    default = SandboxOptions.resolve(environ={})
    assert (default.port, default.app_port) == (3000, 3001)
    assert default.database_url == "sqlite:///var/sandbox.db"
    assert default.stripe_state_file() == Path("var/sandbox.db.stripe.pickle")
    env = {"PORT": "4000", "DATABASE_URL": "sqlite:////srv/portal.db"}
    from_env = SandboxOptions.resolve(environ=env)
    assert (from_env.port, from_env.app_port) == (4000, 4001)
    assert from_env.database_url == "sqlite:////srv/portal.db"
    flags = SandboxOptions.resolve(port=5000, app_port=5100, database="/srv/x.db", environ=env)
    assert (flags.port, flags.app_port, flags.database_url) == (5000, 5100, "sqlite:////srv/x.db")
    free = SandboxOptions.resolve(port=0, environ={})
    assert free.port != 0
    assert free.app_port not in (0, free.port)
    with pytest.raises(SandboxStartError, match="PORT must be a port number"):
        SandboxOptions.resolve(environ={"PORT": "three thousand"})


def test_the_app_s_settings_point_at_the_sandbox_and_localstripe() -> None:
    options = SandboxOptions.resolve(port=3000, app_port=3001, environ={})
    settings = sandbox_settings(
        options, stripe_url="http://127.0.0.1:8420", signing_secret="s", webhook_secret="whsec_w"
    )
    assert settings.SLACK_API_URL == "http://127.0.0.1:3000/api/"
    assert settings.SLACK_BOT_TOKEN is not None
    assert settings.SLACK_BOT_TOKEN.get_secret_value() == "xoxb-sandbox"
    assert settings.SLACK_APP_TOKEN is None
    assert settings.STRIPE_API_BASE == "http://127.0.0.1:8420"
    assert settings.STRIPE_JS_URL == "http://127.0.0.1:8420/js.stripe.com/v3/"
    assert settings.STRIPE_PUBLISHABLE_KEY == "pk_test_sandbox"
    assert settings.PUBLIC_BASE_URL == "http://127.0.0.1:3001"
    assert settings.DATABASE_URL == "sqlite:///var/sandbox.db"
