"""Pay for services: the catalogue, hours, the Create Invoice confirmation, OK exactly once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.pricing import active_services
from bot.sandbox.slack_requests import plain_text, static_select
from bot.ui.ids import Act, Blk, Cb
from store.enums import InvoiceKind, InvoiceStatus, VatTreatment
from store.models import Invoice, Service
from tests.slack.conftest import (
    ADMIN,
    FINANCE,
    GENERAL,
    STRANGER,
    VIEWER,
    Portal,
    action_ids,
    text_of,
)

REFUSED = "Only an account admin or finance can do that; you are a viewer."


def service_ids(app: Portal) -> dict[str, int]:
    return dict(app.read(lambda s: {svc.name: svc.id for svc in active_services(session=s)}))


def invoices(app: Portal) -> list[tuple[str, int, int, int, InvoiceKind, InvoiceStatus]]:
    def read(session: Session) -> list[tuple[str, int, int, int, InvoiceKind, InvoiceStatus]]:
        return [
            (i.number, i.net_minor, i.vat_minor, i.gross_minor, i.kind, i.status)
            for i in session.scalars(select(Invoice).order_by(Invoice.sequence))
        ]

    return list(app.read(read))


def form_values(service_id: int | str | None, hours: str | None) -> dict[str, Any]:
    chosen = None if service_id is None else str(service_id)
    return {
        Blk.SERVICE: {Act.SERVICE_INPUT: static_select(chosen)},
        Blk.HOURS: {Act.HOURS_INPUT: plain_text(hours)},
    }


def open_services(app: Portal, user: str = ADMIN) -> dict[str, Any]:
    app.command(user, "services")
    app.fake.wait_for("views.open")
    [modal] = app.fake.modal_stack(user)
    assert modal["callback_id"] == Cb.SERVICES
    return modal


def to_confirmation(app: Portal, hours: str, user: str = ADMIN) -> dict[str, Any]:
    """Open the form, choose Consultancy and `hours`, press Create Invoice."""
    modal = open_services(app, user)
    response = app.sender.view_submission(
        user, modal, form_values(service_ids(app)["Consultancy"], hours)
    )
    assert response.json()["response_action"] == "push"
    confirm = app.fake.modal_stack(user)[-1]
    assert confirm["callback_id"] == Cb.SERVICES_CONFIRM
    return confirm


def test_the_form_lists_each_service_with_its_hourly_rate(app: Portal) -> None:
    app.make_account()
    modal = open_services(app)
    service, hours = modal["blocks"]
    labels = [option["text"]["text"] for option in service["element"]["options"]]
    assert labels == [
        "Consultancy — £95.00 an hour",
        "Development — £110.00 an hour",
        "Training — £75.00 an hour",
    ]
    assert service["label"]["text"] == "Service"
    assert hours["label"]["text"] == "Number of hours"
    assert modal["submit"]["text"] == "Create Invoice"


def test_create_invoice_ok_view_invoice(app: Portal) -> None:
    app.make_account()
    confirm = to_confirmation(app, "2.5")
    text = text_of(confirm)
    for expected in (
        "*Service*\nConsultancy",
        "*Number of hours*\n2.5",
        "*Hourly rate*\n£95.00",
        "*Net total*\n£237.50",
        "*VAT at 20%*\n£47.50",
        "*Gross total*\n£285.00",
    ):
        assert expected in text
    assert confirm["submit"]["text"] == "OK"
    assert json.loads(confirm["private_metadata"]) == {
        "service_id": service_ids(app)["Consultancy"],
        "hours": "2.50",
        "channel": GENERAL,  # where /portal services was typed: "Download PDF" posts there
    }
    assert invoices(app) == []  # nothing exists until OK

    response = app.sender.view_submission(ADMIN, confirm, {})
    assert response.json()["response_action"] == "update"
    created = app.fake.modal_stack(ADMIN)[-1]
    assert created["callback_id"] == Cb.INVOICE_CREATED
    assert "Invoice INV-000001 has been created." in text_of(created)
    assert "*Gross total:* £285.00" in text_of(created)
    assert Act.PAY_INVOICE in action_ids(created)  # "Pay now": the pay modal, this one ticked
    [(number, net, vat, gross, kind, status)] = invoices(app)
    assert (number, net, vat, gross, kind, status) == (
        "INV-000001",
        23750,
        4750,
        28500,
        InvoiceKind.SERVICES,
        InvoiceStatus.OPEN,
    )
    told = app.wait_reply("Invoice INV-000001 has been created.")
    assert Act.RETURN_TO_ACCOUNT in action_ids(told.params)

    app.sender.block_action(ADMIN, Act.VIEW_INVOICE, view=created)
    app.fake.wait_for("views.push")
    detail = app.fake.modal_stack(ADMIN)[-1]
    assert detail["callback_id"] == Cb.INVOICE_DETAIL
    text = text_of(detail)
    for expected in (
        "*Invoice number*\nINV-000001",
        "*Status*\nUnpaid",
        "*Issue date*\n24 Nov 2026",
        "*Due date*\n8 Dec 2026",
        "2.5 hours × £95.00 = £237.50",
        "*VAT at 20%:* £47.50",
        "*Gross total:* £285.00",
        "UK VAT at the standard rate",
    ):
        assert expected in text


def test_ok_pressed_twice_or_resent_creates_one_invoice(app: Portal) -> None:
    app.make_account()
    confirm = to_confirmation(app, "1")
    first = app.sender.view_submission(ADMIN, confirm, {}, apply_response=False)
    again = app.sender.view_submission(ADMIN, confirm, {}, apply_response=False)
    resent = app.sender.view_submission(ADMIN, confirm, {}, retry_num=1, apply_response=False)
    for response in (first, again, resent):
        assert "Invoice INV-000001 has been created." in text_of(response.json()["view"])
    assert [row[0] for row in invoices(app)] == ["INV-000001"]
    app.wait_reply("Invoice INV-000001 has been created.")
    told = [c for c in app.replies(ADMIN) if "has been created" in text_of(c.params)]
    assert len(told) == 1


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("0", "Enter at least 0.25 hours (a quarter of an hour)."),
        ("0.1", "Enter at least 0.25 hours (a quarter of an hour)."),
        ("1.3", "Hours are sold in quarter hours: enter a multiple of 0.25, like 1.75."),
        ("1000.25", "You can buy at most 1,000 hours on one invoice."),
        ("x", "Enter a number of hours, like 2 or 1.5."),
    ],
)
def test_bad_hours_answer_under_the_field(app: Portal, hours: str, message: str) -> None:
    app.make_account()
    modal = open_services(app)
    response = app.sender.view_submission(
        ADMIN, modal, form_values(service_ids(app)["Training"], hours)
    )
    assert response.json() == {"response_action": "errors", "errors": {Blk.HOURS: message}}
    assert app.fake.modal_stack(ADMIN)[0]["errors"] == {Blk.HOURS: message}
    assert invoices(app) == []


def test_a_missing_service_and_bad_hours_are_both_reported(app: Portal) -> None:
    app.make_account()
    modal = open_services(app)
    response = app.sender.view_submission(ADMIN, modal, form_values(None, ""))
    assert response.json() == {
        "response_action": "errors",
        "errors": {
            Blk.SERVICE: "Choose a service from the list.",
            Blk.HOURS: "Enter a number of hours, like 2 or 1.5.",
        },
    }
    for unknown in ("9999", "consultancy"):  # withdrawn meanwhile, or a crafted value
        response = app.sender.view_submission(ADMIN, modal, form_values(unknown, "2"))
        assert response.json()["errors"] == {Blk.SERVICE: "Choose a service from the list."}
    assert invoices(app) == []


def test_finance_can_create_a_service_invoice(app: Portal) -> None:
    app.make_account()
    confirm = to_confirmation(app, "0.25", user=FINANCE)
    app.sender.view_submission(FINANCE, confirm, {})
    app.wait_reply("Invoice INV-000001 has been created.")
    assert [(n, g) for n, _, _, g, _, _ in invoices(app)] == [("INV-000001", 2850)]


def test_a_reverse_charge_customer_is_invoiced_without_vat(app: Portal) -> None:
    app.make_account(country="DE", vat_reference="DE136695976")
    confirm = to_confirmation(app, "2")
    assert "*VAT (reverse charge)*\n£0.00" in text_of(confirm)
    app.sender.view_submission(ADMIN, confirm, {})
    created = app.fake.modal_stack(ADMIN)[-1]
    app.sender.block_action(ADMIN, Act.VIEW_INVOICE, view=created)
    app.fake.wait_for("views.push")
    detail = text_of(app.fake.modal_stack(ADMIN)[-1])
    assert "Reverse charge: customer to account for VAT (customer VAT number DE136695976)" in detail
    assert "*Gross total:* £190.00" in detail
    treatment = app.read(lambda s: s.scalars(select(Invoice.vat_treatment)).one())
    assert treatment is VatTreatment.EU_REVERSE_CHARGE


def test_a_viewer_cannot_create_an_invoice_any_way_in(app: Portal) -> None:
    app.make_account()
    app.command(VIEWER, "services")
    app.wait_reply(REFUSED)
    app.fake.clear()
    app.sender.block_action(VIEWER, Act.MENU_SERVICES)
    app.fake.wait_for("response_url", lambda c: REFUSED in text_of(c.params))
    assert app.fake.calls("views.open") == []

    # A crafted "Create Invoice" and a crafted OK, with everything an admin would send.
    consultancy = service_ids(app)["Consultancy"]
    form = {"type": "modal", "callback_id": Cb.SERVICES, "blocks": []}
    answer = app.sender.view_submission(VIEWER, form, form_values(consultancy, "2")).json()
    assert answer["response_action"] == "update"
    assert REFUSED in text_of(answer["view"])
    confirm = {
        "type": "modal",
        "callback_id": Cb.SERVICES_CONFIRM,
        "blocks": [],
        "private_metadata": json.dumps({"service_id": consultancy, "hours": "2"}),
    }
    for user in (VIEWER, STRANGER):
        answer = app.sender.view_submission(user, confirm, {}).json()
        assert answer["response_action"] == "update"
        assert "Invoice" not in text_of(answer["view"])
    assert invoices(app) == []


def test_a_tampered_confirmation_creates_nothing(app: Portal) -> None:
    app.make_account()
    confirm = to_confirmation(app, "2")
    for metadata, message in (
        ("not json", "This confirmation can no longer be used."),
        (json.dumps({"service_id": "x", "hours": "2"}), "This confirmation can no longer be used."),
        (json.dumps({"service_id": 9999, "hours": "2"}), "Choose a service from the list."),
        (
            json.dumps({"service_id": service_ids(app)["Training"], "hours": "0.1"}),
            "Enter at least 0.25 hours",
        ),
    ):
        tampered = {**confirm, "private_metadata": metadata}
        answer = app.sender.view_submission(ADMIN, tampered, {}, apply_response=False).json()
        assert answer["response_action"] == "update", metadata
        assert message in text_of(answer["view"]), metadata
    assert invoices(app) == []


def test_no_services_on_sale(app: Portal) -> None:
    app.make_account()

    def withdraw(session: Session) -> None:
        for service in active_services(session=session):
            service.active = False

    app.read(withdraw)
    try:
        app.command(ADMIN, "services")
        app.wait_reply("No services are on sale at the moment.")
        assert app.fake.calls("views.open") == []
    finally:  # the catalogue is seeded once for the whole session: put it back
        app.read(lambda s: [setattr(svc, "active", True) for svc in s.scalars(select(Service))])
