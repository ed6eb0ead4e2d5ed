"""Brute force on the secure pages: posts limited per link and per client address, 429s.

Requests go through Flask's test client into the real app (or the pages' blueprint), with the
real database; the limiter's clock is a hand-moved one, so the window can pass without waiting.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from bot import pages, rate_limit
from bot.deps import build_deps
from bot.rate_limit import SecurePostLimiter, SlidingWindow
from bot.sandbox.slack_api import FakeSlack
from bot.server import build_web
from store.db import transaction
from store.enums import LinkPurpose
from store.models import PasswordWindow
from tests.pages.conftest import PASSWORD, SecurePagesServer, seed_account

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
WINDOW_SECONDS = 600


@dataclass
class Ticker:
    """The limiter's clock, in seconds, moved by hand."""

    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server(engine: Engine, fake_slack: FakeSlack) -> Iterator[SecurePagesServer]:
    """Links and seeded accounts for these tests (its own pages are not used here)."""
    from tests.conftest import reset_database  # noqa: PLC0415 - the shared helper

    reset_database(engine)
    running = SecurePagesServer(engine, fake_slack)
    yield running
    running.stop()
    reset_database(engine)


def password_pages(server: SecurePagesServer, limiter: SecurePostLimiter) -> FlaskClient:
    app = Flask(__name__)
    app.register_blueprint(pages.blueprint(server.settings, server.deps, limiter=limiter))
    return app.test_client()


def whole_app(server: SecurePagesServer, **settings: object) -> FlaskClient:
    """The real web app (`build_web`), with these settings changed."""
    changed = server.settings.model_copy(update=settings)
    deps = build_deps(changed, engine=server.deps.engine, clock=server.clock)
    return build_web(changed, deps).test_client()


def csrf_of(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return csrf_in(page.text)


def csrf_in(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found is not None
    return found.group(1)


def path_of(url: str) -> str:
    return url.split("://", 1)[1].partition("/")[2].join(("/", ""))


def window_open(server: SecurePagesServer) -> bool:
    with transaction(server.deps.session_factory) as session:
        return session.scalars(select(PasswordWindow)).first() is not None


def test_guessing_on_one_link_is_stopped_with_429_and_retry_after(
    server: SecurePagesServer,
) -> None:
    ticker = Ticker()
    client = password_pages(server, SecurePostLimiter(ticker, link_limit=10))
    account_id = seed_account(server)
    path = path_of(server.link(LinkPurpose.CONFIRM_PASSWORD, account_id))
    csrf = csrf_of(client, path)

    # Ten posts in the window are answered as usual (an empty password: no lockout counted).
    for _ in range(10):
        ticker.now += 1
        answered = client.post(path, data={"csrf_token": csrf, "password": ""})
        assert answered.status_code == 422
        assert "Enter your password" in answered.text
        csrf = csrf_in(answered.text)  # each form page comes with a fresh token
    # The eleventh, even with the right password, is refused before anything is checked.
    refused = client.post(path, data={"csrf_token": csrf, "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(WINDOW_SECONDS - 10 + 1)
    assert "Too many attempts" in refused.text
    assert "Wait 10 minutes" in refused.text
    assert refused.headers["X-Frame-Options"] == "DENY"  # still a secure page
    assert refused.headers["Cache-Control"] == "no-store"
    assert not window_open(server)
    csrf = csrf_of(client, path)  # opening the page is not a post: it still opens

    # Once the first posts leave the window, the page takes posts again.
    ticker.now += WINDOW_SECONDS - 9
    accepted = client.post(path, data={"csrf_token": csrf, "password": PASSWORD})
    assert accepted.status_code == 200
    assert window_open(server)


def test_another_link_from_the_same_address_is_not_held_up_by_the_first(
    server: SecurePagesServer,
) -> None:
    client = password_pages(server, SecurePostLimiter(Ticker(), link_limit=3, address_limit=50))
    account_id = seed_account(server)
    first = path_of(server.link(LinkPurpose.CONFIRM_PASSWORD, account_id))
    second = path_of(server.link(LinkPurpose.CONFIRM_PASSWORD, account_id))
    statuses = [client.post(first, data={}).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]  # no CSRF token: refused, and still counted
    assert client.post(second, data={}).status_code == 400


def test_one_address_is_limited_across_every_secure_page(server: SecurePagesServer) -> None:
    """The whole app: one count for the password, card and payment pages."""
    client = whole_app(server, SECURE_POSTS_PER_ADDRESS=12)
    account_id = seed_account(server)
    paths = [
        path_of(server.link(LinkPurpose.CONFIRM_PASSWORD, account_id)),
        "/secure/add-card/not-a-real-link",
        "/secure/pay/not-a-real-link",
        "/secure/no-such-page",
    ]
    answers = [client.post(paths[n % len(paths)], data={}).status_code for n in range(12)]
    assert 429 not in answers
    for path in paths:
        refused = client.post(path, data={})
        assert refused.status_code == 429, path
        assert int(refused.headers["Retry-After"]) > 0
        assert "Too many attempts" in refused.text
    # Another address is not affected.
    other = client.post(paths[0], data={}, environ_base={"REMOTE_ADDR": "192.0.2.77"})
    assert other.status_code == 400


def test_the_payment_page_limits_posts_per_link(server: SecurePagesServer) -> None:
    client = whole_app(server, SECURE_POSTS_PER_LINK=5)
    path = "/secure/pay/some-link-someone-keeps-trying"
    assert [client.post(path, data={}).status_code for _ in range(5)] == [400] * 5
    refused = client.post(path, data={})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(WINDOW_SECONDS)
    assert "Too many attempts" in refused.text


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(server: SecurePagesServer) -> None:
    client = whole_app(server, SECURE_POSTS_PER_ADDRESS=5)
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for n in range(5):
        forged = {"X-Forwarded-For": f"198.51.100.{n}"}
        client.post("/secure/no-such-page", headers=forged, environ_base=proxy)
    # A new X-Forwarded-For does not make a new client: the connecting address is counted.
    again = {"X-Forwarded-For": "198.51.100.99"}
    refused = client.post("/secure/no-such-page", headers=again, environ_base=proxy)
    assert refused.status_code == 429


def test_behind_a_trusted_proxy_each_forwarded_client_is_counted(
    server: SecurePagesServer,
) -> None:
    client = whole_app(server, SECURE_POSTS_PER_ADDRESS=5, TRUSTED_PROXY_HOPS=1)
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    first = {"X-Forwarded-For": "203.0.113.5"}
    answers = [
        client.post("/secure/no-such-page", headers=first, environ_base=proxy).status_code
        for _ in range(6)
    ]
    assert answers == [404] * 5 + [429]
    # The proxy's other clients go on; a client cannot pass itself off as another by
    # prepending addresses, since only the last hop (the proxy's own entry) is believed.
    second = {"X-Forwarded-For": "203.0.113.6"}
    assert (
        client.post("/secure/no-such-page", headers=second, environ_base=proxy).status_code == 404
    )
    spoofed = {"X-Forwarded-For": "198.51.100.1, 203.0.113.5"}
    assert (
        client.post("/secure/no-such-page", headers=spoofed, environ_base=proxy).status_code == 429
    )


# -- The sliding window itself ----------------------------------------------------------------


def test_the_window_slides_and_refused_hits_are_not_counted() -> None:
    ticker = Ticker(now=0.0)
    window = SlidingWindow(2, rate_limit.WINDOW, ticker)
    assert window.hit("a") is None
    ticker.now = 300.0
    assert window.hit("a") is None
    ticker.now = 400.0
    assert window.hit("a") == pytest.approx(200.0)  # the first hit leaves at 600
    ticker.now = 600.0
    assert window.hit("a") is None  # the refused hit at 400 did not count
    assert window.hit("a") == pytest.approx(300.0)
    assert window.hit("b") is None  # keys are separate


def test_invented_keys_cannot_grow_memory_without_end() -> None:
    window = SlidingWindow(1, rate_limit.WINDOW, Ticker(), max_keys=50)
    for n in range(1_000):
        window.hit(f"198.51.100.{n}")
    assert len(window) == 50
    assert window.hit("198.51.100.999") is not None  # the most recent are kept


def test_links_are_kept_only_as_digests() -> None:
    limiter = SecurePostLimiter(Ticker())
    token = "1.UADMIN.secret-part-of-the-link.signature"
    limiter.check("192.0.2.1", token)
    keys = list(limiter.by_link._hits)
    assert keys
    assert all(token not in key and "secret-part" not in key for key in keys)


def test_waits_are_said_in_words() -> None:
    assert rate_limit.wait_in_words(1) == "1 second"
    assert rate_limit.wait_in_words(45) == "45 seconds"
    assert rate_limit.wait_in_words(61) == "2 minutes"
    assert rate_limit.wait_in_words(60) == "1 minute"
