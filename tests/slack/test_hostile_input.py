"""Thousands of generated hostile payloads: no 500, no traceback to anyone, nothing changed.

Every payload is signed correctly (the signature check is tested on its own), so each one
reaches the listeners. They come from someone with no role on the account, or ask for
another account's invoices, so every one of them must be refused: the database is compared
byte for byte before and after the whole run.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from bot.invoices import create_invoice
from bot.pricing import quote_credits_for
from bot.ui.ids import Act, Cb
from store.enums import InvoiceKind
from store.models import Base
from tests.conftest import NOW, reset_database
from tests.factories import make_account
from tests.slack.conftest import ADMIN, STRANGER, Portal, text_of

HOSTILE_STRINGS = [
    "'; DROP TABLE invoices; --",
    '" OR 1=1 --',
    "<script>alert(1)</script>",
    "{{7*7}}${7*7}",
    "../../../../etc/passwd",
    "\x00\x01\x02",
    "\u202e\u200b\ufeff",
    "𝕳𝖔𝖘𝖙𝖎𝖑𝖊 💣",
    "A" * 20_000,
    "%s%s%s%n",
    "null",
    "-1",
    "9" * 40,
]
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/', "sqlalchemy.exc", "KeyError")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.sampled_from(HOSTILE_STRINGS),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
action_ids = st.one_of(
    st.sampled_from([str(a) for a in Act]), st.text(max_size=40), st.sampled_from(HOSTILE_STRINGS)
)
callback_ids = st.one_of(st.sampled_from([str(c) for c in Cb]), st.text(max_size=40))


def database_snapshot(engine: Engine) -> str:
    """Every row of every table, in a stable order, hashed: 'byte for byte as it was'."""
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = connection.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest.update(table.name.encode())
            digest.update(repr(rows).encode())
        connection.execute(text("SELECT 1"))
    return digest.hexdigest()


@pytest.fixture(scope="module")
def hostile_app(portal: Portal) -> Iterator[tuple[Portal, int]]:
    """An account with one admin and one invoice; the other account's invoice id is returned."""
    reset_database(portal.deps.engine)
    portal.make_account()
    with portal.session() as session:
        other = make_account(session, now=NOW, admin_user_id="UOTHERADMIN")
        quote = quote_credits_for(session=session, account=other, quantity=10, on=NOW.date())
        theirs = create_invoice(
            session=session,
            account=other,
            kind=InvoiceKind.SERVICES,
            quotes=[quote],
            actor="UOTHERADMIN",
            now=NOW,
        )
        theirs_id = theirs.id
    yield portal, theirs_id
    reset_database(portal.deps.engine)


def _mutate(base: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """Drop, replace and add fields of a well-formed payload."""
    payload = json.loads(json.dumps(base))
    for key in data.draw(
        st.lists(st.sampled_from(sorted(payload)), max_size=3, unique=True), label="drop"
    ):
        payload.pop(key, None)
    for key in data.draw(
        st.lists(st.sampled_from(sorted(base)), max_size=3, unique=True), label="retype"
    ):
        payload[key] = data.draw(json_values, label=f"value of {key}")
    extra = data.draw(st.dictionaries(st.text(max_size=10), json_values, max_size=3), label="extra")
    payload.update(extra)
    return payload


def _send_payload(portal: Portal, payload: dict[str, Any]) -> Any:
    return portal.sender.send_payload(payload)


def _check(response: Any) -> None:
    assert response.status_code != 500, response.text[:500]
    for marker in TRACEBACK_MARKERS:
        assert marker not in response.text


SLACK_EXAMPLES = 1500
WEBHOOK_EXAMPLES = 500
tried = {"slack": 0, "webhook": 0}


@settings(
    max_examples=SLACK_EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    database=None,
)
@given(data=st.data())
def test_hostile_slack_payloads_are_refused_without_trace(
    hostile_app: tuple[Portal, int], data: st.DataObject
) -> None:
    portal, theirs = hostile_app
    kind = data.draw(
        st.sampled_from(["command", "action", "submission", "suggestion", "event", "raw"]),
        label="kind",
    )
    user = data.draw(st.sampled_from([STRANGER, "UNKNOWN", ADMIN]), label="user")
    if kind == "command":
        words = st.sampled_from(
            ["", "buy", "invoices", "pay", "users", "vat", "finance", "account", "statement"]
        )
        text_value = data.draw(
            st.one_of(st.text(max_size=200), st.sampled_from(HOSTILE_STRINGS)), label="args"
        )
        who = (
            STRANGER if user == ADMIN else user
        )  # an admin's command may legitimately change things
        response = portal.sender.slash_command(
            who, f"{data.draw(words)} {text_value}".strip()[:3000]
        )
    elif kind == "action":
        action_id = data.draw(action_ids, label="action_id")
        value = data.draw(
            st.one_of(st.just(str(theirs)), st.text(max_size=100), st.sampled_from(HOSTILE_STRINGS))
        )
        if user == ADMIN:
            # The admin may only ask, with another account's invoice id, to see or pay it.
            action_id = data.draw(
                st.sampled_from(
                    [a for a in Act if "invoice" in a.value.lower()] or [Act.VIEW_INVOICE]
                )
            )
            value = str(theirs)
        response = portal.sender.block_action(user, action_id, value=value[:2000])
    elif kind == "submission":
        view = {
            "id": "VHOSTILE",
            "type": "modal",
            "callback_id": data.draw(callback_ids, label="callback_id"),
            "hash": "1.x",
            "private_metadata": data.draw(
                st.one_of(st.text(max_size=200), st.just(json.dumps({"invoice_ids": [theirs]})))
            ),
            "blocks": [],
            "title": {"type": "plain_text", "text": "x"},
        }
        values = data.draw(
            st.dictionaries(
                st.text(max_size=20),
                st.dictionaries(st.text(max_size=20), json_values, max_size=2),
                max_size=3,
            )
        )
        who = STRANGER if user == ADMIN else user
        response = portal.sender.view_submission(who, view, values, apply_response=False)
    elif kind == "suggestion":
        response = portal.sender.block_suggestion(
            user, data.draw(action_ids), data.draw(st.text(max_size=200))
        )
    elif kind == "event":
        event = {
            "type": data.draw(st.one_of(st.text(max_size=30), st.just("message"))),
            "user": user,
        }
        response = portal.sender.event(_mutate(event, data))
    else:
        base = {
            "type": "block_actions",
            "user": {"id": STRANGER, "team_id": "T0001"},
            "team": {"id": "T0001"},
            "actions": [{"action_id": str(Act.MENU_USERS), "value": "x"}],
            "trigger_id": "1.2.3",
            "response_url": portal.fake.new_response_url(),
            "view": {"id": "V1", "callback_id": str(Cb.ADD_USER), "state": {"values": {}}},
        }
        response = _send_payload(portal, _mutate(base, data))
    tried["slack"] += 1
    _check(response)


@settings(
    max_examples=WEBHOOK_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
@given(
    body=st.one_of(st.binary(max_size=2000), json_values.map(lambda v: json.dumps(v).encode())),
    signature=st.one_of(
        st.none(),
        st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=200),
        st.just("t=1,v1=" + "0" * 64),
    ),
)
def test_hostile_webhooks_get_400(
    hostile_app: tuple[Portal, int], body: bytes, signature: str | None
) -> None:
    portal, _ = hostile_app
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    response = portal.sender.session.post(
        f"{portal.url}/stripe/webhook", data=body, headers=headers, timeout=10
    )
    tried["webhook"] += 1
    assert response.status_code in (400, 404, 503), response.status_code
    _check(response)


def test_nothing_changed_and_nobody_saw_a_traceback(hostile_app: tuple[Portal, int]) -> None:
    """Runs after the two generators (file order): the database is as the fixture left it."""
    portal, _ = hostile_app
    time.sleep(1.0)  # let listeners still running after their ack finish
    before = HOSTILE_BASELINE.get("snapshot")
    assert before is not None, "the baseline snapshot was not taken"
    assert database_snapshot(portal.deps.engine) == before
    said = text_of([call.params for call in portal.fake.calls()])
    for marker in TRACEBACK_MARKERS:
        assert marker not in said
    print(f"hostile payloads tried: Slack {tried['slack']}, Stripe webhook {tried['webhook']}")


HOSTILE_BASELINE: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def baseline(hostile_app: tuple[Portal, int]) -> None:
    HOSTILE_BASELINE["snapshot"] = database_snapshot(hostile_app[0].deps.engine)
