"""One deployment, many workspaces: installs through OAuth, each served with its own token.

The app runs distributed (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET, no SLACK_BOT_TOKEN) against
the fake Slack, which keeps each workspace's people and channels apart: a call made with the
wrong workspace's token finds nobody and fails, as it would in Slack.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from slack_sdk.oauth.installation_store.models.bot import Bot
from sqlalchemy import select

from bot import jobs
from bot.deps import Deps, build_deps
from bot.installations import Installations, TokenSeal, new_token_key
from bot.invoices import create_invoice
from bot.pricing import quote_credits_for
from bot.sandbox.slack_api import FakeSlack, RecordedCall
from bot.sandbox.slack_requests import SlackRequestSender, external_select, plain_text
from bot.server import BackgroundServer, build_web
from bot.settings import Settings
from bot.ui.ids import Act, Blk, Cb
from store.db import make_engine, transaction
from store.enums import InvoiceKind
from store.migrate import upgrade_to_head
from store.models import Account, AuditEntry, Invoice, Workspace, slack_bots, slack_installations
from tests.conftest import NOW
from tests.served import serve_env, served
from tests.slack.conftest import SIGNING_SECRET, Clock, free_port, text_of

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "test-client-secret"
AUTHORIZE_URL = "https://slack.example/oauth/v2/authorize"


@dataclass(frozen=True)
class Team:
    team_id: str
    name: str
    token: str
    admin: str  # a workspace admin, who sets the account up
    viewer: str  # someone the admin adds as a viewer
    channel: str
    company: str
    country: str


ALPHA = Team("T0ALPHA", "Alpha", "xoxb-alpha-token", "UALPHAADM", "UALPHAVIEW", "CALPHA",
             "Alpha Widgets Ltd", "GB")  # fmt: skip
BRAVO = Team("T0BRAVO", "Bravo", "xoxb-bravo-token", "UBRAVOADM", "UBRAVOVIEW", "CBRAVO",
             "Bravo Maschinen GmbH", "DE")  # fmt: skip
TEAMS = (ALPHA, BRAVO)


@dataclass
class Distributed:
    fake: FakeSlack
    deps: Deps
    url: str
    clock: Clock
    senders: dict[str, SlackRequestSender]

    def read(self, fn: Callable[[Any], Any]) -> Any:
        with transaction(self.deps.session_factory) as session:
            return fn(session)


@pytest.fixture(scope="module")
def distributed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Distributed]:
    # The fake's own default workspace is one the app is never installed into.
    fake = FakeSlack(bot_token="xoxb-not-ours", team_id="T0NOBODY", team_name="Nobody").start()
    fake.client_credentials = (CLIENT_ID, CLIENT_SECRET)
    for team in TEAMS:
        fake.add_token("xoxb-unused-" + team.team_id, team.team_id, team_name=team.name)
        fake.add_user(team.admin, f"{team.name} Admin", is_admin=True, team_id=team.team_id)
        fake.add_user(team.viewer, f"{team.name} Viewer", team_id=team.team_id)
        fake.add_channel(team.channel, "general", team_id=team.team_id)
    fake.uninstall("T0ALPHA")  # only installs through OAuth give the app a working token
    fake.uninstall("T0BRAVO")
    database: Path = tmp_path_factory.mktemp("oauth") / "portal.db"
    port = free_port()
    settings = Settings(
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,  # type: ignore[arg-type]
        SLACK_TOKEN_KEY=new_token_key(),  # type: ignore[arg-type]
        SLACK_SIGNING_SECRET=SIGNING_SECRET,  # type: ignore[arg-type]
        SLACK_API_URL=fake.api_url,
        SLACK_AUTHORIZE_URL=AUTHORIZE_URL,
        DATABASE_URL=f"sqlite:///{database}",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
    )
    engine = make_engine(settings.DATABASE_URL)
    upgrade_to_head(engine)
    clock = Clock()
    deps = build_deps(settings, engine=engine, clock=clock)
    assert deps.installations is not None
    server = BackgroundServer(build_web(settings, deps), port=port).start()
    senders = {
        team.team_id: SlackRequestSender(
            f"{server.url}/slack/events", SIGNING_SECRET, team_id=team.team_id, fake=fake
        )
        for team in TEAMS
    }
    try:
        yield Distributed(fake=fake, deps=deps, url=server.url, clock=clock, senders=senders)
    finally:
        for sender in senders.values():
            sender.close()
        server.stop()
        fake.stop()
        engine.dispose()


# -- Helpers ---------------------------------------------------------------------------------


def install(url: str, fake: FakeSlack, team: Team, code: str, **grant: Any) -> requests.Response:
    """ "Add to Slack" as a browser does it: the install page, Slack's consent, the redirect."""
    browser = requests.Session()
    page = browser.get(f"{url}/slack/install", timeout=5)
    assert page.status_code == 200, page.text
    found = re.search(r'href="(https://[^"]+/oauth/v2/authorize\?[^"]+)"', page.text)
    assert found is not None, page.text
    href = unescape(found[1])
    assert href.startswith(AUTHORIZE_URL + "?")
    query = parse_qs(urlparse(href).query)
    assert query["client_id"] == [CLIENT_ID]
    assert set(query["scope"][0].split(",")) >= {"commands", "chat:write", "files:write"}
    assert query["redirect_uri"] == [f"{url}/slack/oauth_redirect"]
    fake.add_oauth_code(
        code, team.team_id, team.name, team.token, authed_user_id=team.admin, **grant
    )
    # Bolt's state cookie is `Secure`: a browser sends it back over https, as here by hand.
    cookie = page.headers["Set-Cookie"].split(";", 1)[0]
    assert "Secure" in page.headers["Set-Cookie"]
    return browser.get(
        f"{url}/slack/oauth_redirect",
        params={"code": code, "state": query["state"][0]},
        headers={"Cookie": cookie},
        timeout=5,
    )


def reply_to(app: Distributed, user: str, contains: str, timeout: float = 5.0) -> RecordedCall:
    """The first private answer to `user` containing `contains`."""

    def matches(call: RecordedCall) -> bool:
        to_user = call.params.get("user") == user or call.params.get("channel") == user
        return to_user and contains in text_of(call.params)

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in app.fake.calls():
            answer = call.method in ("response_url", "chat.postEphemeral", "chat.postMessage")
            via_url = call.method == "response_url" and contains in text_of(call.params)
            if answer and (matches(call) or via_url):
                return call
        time.sleep(0.02)
    raise AssertionError(f"no answer to {user} containing {contains!r}")


def set_up_account(app: Distributed, team: Team) -> None:
    sender = app.senders[team.team_id]
    sender.slash_command(team.admin, channel_id=team.channel)
    reply_to(app, team.admin, "Set up account")
    sender.block_action(team.admin, Act.SET_UP_ACCOUNT)
    app.fake.wait_for("views.open", lambda c: c.params.get("trigger_id") is not None and
                      c.response.get("view", {}).get("callback_id") == Cb.SET_UP_ACCOUNT and
                      c.token == team.token)  # fmt: skip
    modal = app.fake.modal_stack(team.admin)[-1]
    values = {
        Blk.COMPANY_NAME: {Act.COMPANY_NAME_INPUT: plain_text(team.company)},
        Blk.COUNTRY: {Act.COUNTRY_INPUT: external_select(team.country)},
        Blk.EMAIL: {Act.EMAIL_INPUT: plain_text(f"billing@{team.name.lower()}.example")},
        Blk.VAT_REFERENCE: {Act.VAT_REFERENCE_INPUT: plain_text(None)},
    }
    response = sender.view_submission(team.admin, modal, values)
    assert response.status_code == 200, response.text
    reply_to(app, team.admin, "is set up, and you are its first admin")


def account_of(app: Distributed, team: Team) -> Account:
    def read(session: Any) -> Account:
        account = session.scalar(
            select(Account).join(Workspace).where(Workspace.team_id == team.team_id)
        )
        session.expunge(account)
        return account  # type: ignore[no-any-return]

    return app.read(read)  # type: ignore[no-any-return]


def give_card_and_invoice(app: Distributed, team: Team, brand: str, last4: str) -> str:
    """A card on file and one open invoice, straight into the store; returns its number."""
    with transaction(app.deps.session_factory) as session:
        account = session.scalar(
            select(Account).join(Workspace).where(Workspace.team_id == team.team_id)
        )
        assert account is not None
        account.card_brand, account.card_last4 = brand, last4
        account.card_exp_month, account.card_exp_year = 12, 2030
        quote = quote_credits_for(session=session, account=account, quantity=100, on=NOW.date())
        invoice = create_invoice(
            session=session,
            account=account,
            kind=InvoiceKind.CREDITS,
            quotes=[quote],
            actor=team.admin,
            now=NOW,
        )
        return invoice.number


def invoice_id(app: Distributed, number: str) -> int:
    return app.read(lambda s: s.scalar(select(Invoice.id).where(Invoice.number == number)))  # type: ignore[no-any-return]


# -- The scenario ------------------------------------------------------------------------------


def test_two_workspaces_install_and_each_sees_only_its_own(distributed: Distributed) -> None:
    app = distributed
    for team, code in ((ALPHA, "code-alpha"), (BRAVO, "code-bravo")):
        done = install(app.url, app.fake, team, code)
        assert done.status_code == 200, done.text
        assert "Thank you" in done.text or "Slack" in done.text
    exchanges = app.fake.calls("oauth.v2.access")
    assert [c.params["code"] for c in exchanges] == ["code-alpha", "code-bravo"]
    assert all(c.response["ok"] for c in exchanges)

    # The tokens are kept sealed: never the token itself in the database.
    with app.deps.engine.connect() as connection:
        stored = connection.execute(select(slack_bots.c.team_id, slack_bots.c.bot_token)).all()
        stored += connection.execute(
            select(slack_installations.c.team_id, slack_installations.c.bot_token)
        ).all()
    assert {team for team, _ in stored} == {ALPHA.team_id, BRAVO.team_id}
    for _, sealed in stored:
        assert sealed.startswith("fernet:")
        assert "xoxb" not in sealed
    assert app.deps.installations is not None
    bot = app.deps.installations.find_bot_for_team(ALPHA.team_id)
    assert bot is not None
    assert bot.bot_token == ALPHA.token

    app.fake.clear()
    for team in TEAMS:
        set_up_account(app, team)
    numbers = {
        ALPHA.team_id: give_card_and_invoice(app, ALPHA, "visa", "4242"),
        BRAVO.team_id: give_card_and_invoice(app, BRAVO, "mastercard", "4444"),
    }
    assert account_of(app, ALPHA).company_name == ALPHA.company
    assert account_of(app, BRAVO).company_name == BRAVO.company

    # Each workspace sees its own account, card and invoices, and nothing of the other's.
    for team, other in ((ALPHA, BRAVO), (BRAVO, ALPHA)):
        sender = app.senders[team.team_id]
        sender.slash_command(team.admin, "account", channel_id=team.channel)
        shown = text_of(reply_to(app, team.admin, team.company).params)
        assert other.company not in shown
        sender.slash_command(team.admin, "card", channel_id=team.channel)
        mine = "Visa •••• 4242" if team is ALPHA else "Mastercard •••• 4444"
        theirs = "Mastercard •••• 4444" if team is ALPHA else "Visa •••• 4242"
        card = text_of(reply_to(app, team.admin, mine).params)
        assert theirs not in card
        sender.slash_command(team.admin, "invoices", channel_id=team.channel)
        listing = text_of(reply_to(app, team.admin, numbers[team.team_id]).params)
        assert numbers[other.team_id] not in listing

    # Asking for the other workspace's invoice by its id is refused and reveals nothing.
    app.fake.clear()
    bravo_invoice = invoice_id(app, numbers[BRAVO.team_id])
    app.senders[ALPHA.team_id].block_action(ALPHA.admin, Act.VIEW_INVOICE, value=str(bravo_invoice))
    refused = text_of(reply_to(app, ALPHA.admin, "").params)
    assert numbers[BRAVO.team_id] not in refused
    assert BRAVO.company not in refused

    # A PDF asked for in Alpha is uploaded with Alpha's token into Alpha's channel.
    app.fake.clear()
    alpha_invoice = invoice_id(app, numbers[ALPHA.team_id])
    app.senders[ALPHA.team_id].block_action(
        ALPHA.admin, Act.DOWNLOAD_INVOICE, value=str(alpha_invoice)
    )
    upload = app.fake.wait_for("files.completeUploadExternal", timeout=10)
    assert upload.token == ALPHA.token

    # Work outside any request (the overdue reminders job) uses each account's own token.
    app.clock.advance(days=60)
    app.fake.clear()
    jobs.send_reminders(app.deps)
    for team in TEAMS:
        told = app.fake.wait_for(
            "chat.postMessage", lambda c, team=team: c.params.get("channel") == team.admin
        )
        assert told.token == team.token
        assert told.response["ok"] is True


def test_every_web_api_call_carries_its_own_workspaces_token(distributed: Distributed) -> None:
    # Runs after the scenario: every call the app made went with a token of the workspace
    # whose people or channels it touched, and Slack refused none of them.
    app = distributed
    app.fake.clear()
    for team in TEAMS:
        app.senders[team.team_id].slash_command(team.admin, "invoices", channel_id=team.channel)
        app.senders[team.team_id].app_home_opened(team.admin)
    for team in TEAMS:
        app.fake.wait_for("views.publish", lambda c, team=team: c.params["user_id"] == team.admin)
        reply_to(app, team.admin, "Invoices")
    calls = [c for c in app.fake.calls() if c.method not in ("response_url", "oauth.v2.access")]
    assert calls
    owner = {ALPHA.token: ALPHA, BRAVO.token: BRAVO}
    for call in calls:
        assert call.token in owner, (call.method, call.token)
        team = owner[call.token]
        touched = {str(call.params[k]) for k in ("user", "user_id", "channel") if k in call.params}
        assert touched <= {team.admin, team.viewer, team.channel}, (call.method, touched)
        assert call.response.get("ok") is True, (call.method, call.response)


def test_a_forged_or_replayed_install_is_refused(distributed: Distributed) -> None:
    app = distributed
    before = app.read(lambda s: s.execute(select(slack_bots.c.id)).all())
    app.fake.add_oauth_code("code-forged", "T0EVIL", "Evil", "xoxb-evil")
    forged = requests.get(
        f"{app.url}/slack/oauth_redirect",
        params={"code": "code-forged", "state": "made-up-state"},
        timeout=5,
    )
    assert forged.status_code >= 400
    assert app.fake.calls("oauth.v2.access")[-1:] == [] or all(
        c.params.get("code") != "code-forged" for c in app.fake.calls("oauth.v2.access")
    )
    assert app.read(lambda s: s.execute(select(slack_bots.c.id)).all()) == before


def test_uninstalling_one_workspace_removes_its_tokens_and_keeps_the_other(
    distributed: Distributed,
) -> None:
    app = distributed
    assert app.deps.installations is not None
    app.fake.uninstall(BRAVO.team_id)
    response = app.senders[BRAVO.team_id].event({"type": "app_uninstalled"})
    assert response.status_code == 200, response.text
    assert app.deps.installations.find_bot_for_team(BRAVO.team_id) is None
    alpha = app.deps.installations.find_bot_for_team(ALPHA.team_id)
    assert alpha is not None
    assert alpha.bot_token == ALPHA.token
    with app.deps.engine.connect() as connection:
        teams = {
            row.team_id
            for table in (slack_bots, slack_installations)
            for row in connection.execute(select(table.c.team_id))
        }
    assert teams == {ALPHA.team_id}
    # Bravo's account (and its invoices) are kept; the audit log says what happened.
    assert account_of(app, BRAVO).company_name == BRAVO.company
    actions = app.read(
        lambda s: [a.action for a in s.scalars(select(AuditEntry).where(
            AuditEntry.action == "slack.app_uninstalled"))]
    )  # fmt: skip
    assert actions == ["slack.app_uninstalled"]
    # Alpha goes on working.
    app.fake.clear()
    app.senders[ALPHA.team_id].slash_command(ALPHA.admin, "account", channel_id=ALPHA.channel)
    reply_to(app, ALPHA.admin, ALPHA.company)
    # A job for Bravo's account no longer reaches Slack with any token.
    assert app.deps.slack_for_account(account_of(app, BRAVO).id).token is None

    # Installing again brings the kept account back into use, with the new token.
    assert install(app.url, app.fake, BRAVO, "code-bravo-again").status_code == 200
    app.fake.clear()
    app.senders[BRAVO.team_id].slash_command(BRAVO.admin, "account", channel_id=BRAVO.channel)
    reply_to(app, BRAVO.admin, BRAVO.company)
    assert {c.token for c in app.fake.calls() if c.method != "response_url"} <= {BRAVO.token}


CHARLIE = Team("T0CHARLIE", "Charlie", "xoxb-charlie-first", "UCHARLIEADM", "UCHARLIEVIEW",
               "CCHARLIE", "Charlie Software Ltd", "GB")  # fmt: skip


def test_a_rotating_token_is_refreshed_before_it_expires(distributed: Distributed) -> None:
    app = distributed
    app.fake.add_token("xoxb-unused-charlie", CHARLIE.team_id, team_name=CHARLIE.name)
    app.fake.uninstall(CHARLIE.team_id)
    app.fake.add_user(CHARLIE.admin, "Charlie Admin", is_admin=True, team_id=CHARLIE.team_id)
    app.fake.add_channel(CHARLIE.channel, "general", team_id=CHARLIE.team_id)
    # Slack's token rotation on: the token lives an hour, less than the 2 hours the app keeps
    # in hand, so the first request refreshes it.
    assert install(app.url, app.fake, CHARLIE, "code-charlie", expires_in=3600).status_code == 200
    assert app.deps.installations is not None
    first = app.deps.installations.find_bot_for_team(CHARLIE.team_id)
    assert first is not None
    assert first.bot_token == CHARLIE.token
    assert first.bot_refresh_token is not None
    app.fake.clear()

    app.senders[CHARLIE.team_id] = sender = SlackRequestSender(
        f"{app.url}/slack/events", SIGNING_SECRET, team_id=CHARLIE.team_id, fake=app.fake
    )
    sender.slash_command(CHARLIE.admin, channel_id=CHARLIE.channel)
    reply_to(app, CHARLIE.admin, "Set up account")
    [refresh] = app.fake.calls("oauth.v2.access")
    assert refresh.params["grant_type"] == "refresh_token"
    assert refresh.params["refresh_token"] == first.bot_refresh_token
    new_token = refresh.response["access_token"]
    assert new_token != CHARLIE.token
    users_info = app.fake.wait_for("users.info")
    assert users_info.token == new_token  # the request was served with the fresh token
    stored = app.deps.installations.find_bot_for_team(CHARLIE.team_id)
    assert stored is not None
    assert stored.bot_token == new_token
    with app.deps.engine.connect() as connection:
        sealed = connection.execute(
            select(slack_bots.c.bot_token, slack_bots.c.bot_refresh_token).where(
                slack_bots.c.team_id == CHARLIE.team_id
            )
        ).all()
    assert all(value.startswith("fernet:") for row in sealed for value in row if value)

    # Work outside a request refreshes too, and the old token has stopped being used.
    app.fake.clear()
    client = app.deps.slack_for(CHARLIE.team_id)
    [again] = app.fake.calls("oauth.v2.access")
    assert again.params["refresh_token"] == stored.bot_refresh_token
    assert client.token == again.response["access_token"]
    assert client.auth_test()["team_id"] == CHARLIE.team_id


def test_serve_under_gunicorn_installs_and_answers_a_workspace(tmp_path: Path) -> None:
    """As deployed: two gunicorn workers share the OAuth state and installations in the DB."""
    port = free_port()
    team = Team("T0DELTA", "Delta", "xoxb-delta-token", "UDELTAADM", "UDELTAVIEW", "CDELTA",
                "Delta Ltd", "GB")  # fmt: skip
    with FakeSlack(bot_token="xoxb-not-ours", team_id="T0NOBODY") as fake:
        fake.client_credentials = (CLIENT_ID, CLIENT_SECRET)
        fake.add_token("xoxb-unused-delta", team.team_id, team_name=team.name)
        fake.uninstall(team.team_id)
        fake.add_user(team.admin, "Delta Admin", is_admin=True, team_id=team.team_id)
        env = serve_env(
            port=port,
            database=tmp_path / "served.db",
            slack_api_url=fake.api_url,
            SLACK_CLIENT_ID=CLIENT_ID,
            SLACK_CLIENT_SECRET=CLIENT_SECRET,
            SLACK_TOKEN_KEY=new_token_key(),
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_AUTHORIZE_URL=AUTHORIZE_URL,
        )
        with served(env, workers=2, threads=2) as base:
            # Several tries, so that the install page and the redirect meet both workers.
            for attempt in range(4):
                done = install(base, fake, team, f"code-delta-{attempt}")
                assert done.status_code == 200, done.text
            with SlackRequestSender(
                f"{base}/slack/events", SIGNING_SECRET, team_id=team.team_id, fake=fake
            ) as sender:
                assert sender.slash_command(team.admin, "help").status_code == 200
                answer = fake.wait_for("response_url", timeout=10)
                assert "Admin Portal commands" in text_of(answer.params)
                sender.slash_command(team.admin)
                offer = fake.wait_for("users.info", timeout=10)
                assert offer.token == team.token
                assert offer.response["ok"] is True


def test_a_token_another_process_just_refreshed_is_used(distributed: Distributed) -> None:
    app = distributed
    assert app.deps.installations is not None
    stale = app.deps.installations.find_bot_for_team(CHARLIE.team_id)
    assert stale is not None
    # Another process refreshes first, and Slack revokes the refresh token `stale` holds.
    other = app.deps.slack_for(CHARLIE.team_id)
    assert other.token != stale.bot_token

    class ReadBeforeTheOtherProcessSaved(Installations):
        """This process's first read happened just before the other process saved."""

        reads = 0

        def find_bot_for_team(self, team_id: str) -> Bot | None:
            self.reads += 1
            return stale if self.reads == 1 else super().find_bot_for_team(team_id)

    key = app.deps.settings.SLACK_TOKEN_KEY
    assert key is not None
    racing = dataclasses.replace(
        app.deps,
        installations=ReadBeforeTheOtherProcessSaved(
            client_id=CLIENT_ID, engine=app.deps.engine, seal=TokenSeal(key.get_secret_value())
        ),
    )
    app.fake.clear()
    client = racing.slack_for(CHARLIE.team_id)
    [refused] = app.fake.calls("oauth.v2.access")
    assert refused.response["error"] == "invalid_refresh_token"
    assert client.token == other.token  # the token the other process saved
    assert client.auth_test()["ok"] is True
