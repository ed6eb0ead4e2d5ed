import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.accounts import (
    account_for_team,
    parse_account_setup,
    set_finance_channel,
    set_vat_details,
    update_contact_details,
)
from bot.errors import FieldError
from store.models import Account, AuditEntry
from tests.conftest import NOW
from tests.factories import make_account


def test_setup_fields_are_validated_each_by_name() -> None:
    with pytest.raises(FieldError) as caught:
        parse_account_setup(
            company_name="  ", country="GB", contact_email="a@b.example", vat_reference=None
        )
    assert caught.value.field == "company_name"
    with pytest.raises(FieldError) as caught:
        parse_account_setup(
            company_name="Acme", country="ZZ", contact_email="a@b.example", vat_reference=None
        )
    assert caught.value.field == "country"
    with pytest.raises(FieldError) as caught:
        parse_account_setup(
            company_name="Acme", country="GB", contact_email="not-an-email", vat_reference=None
        )
    assert caught.value.field == "email"
    with pytest.raises(FieldError) as caught:
        parse_account_setup(
            company_name="Acme", country="DE", contact_email="a@b.example", vat_reference="DE1"
        )
    assert caught.value.field == "vat_reference"
    setup = parse_account_setup(
        company_name="  Müller   GmbH ",
        country="de",
        contact_email="Finanz@Mueller.example",
        vat_reference="136695976",
    )
    assert (setup.company_name, setup.country, setup.vat_reference) == (
        "Müller GmbH",
        "DE",
        "DE136695976",
    )
    assert setup.contact_email == "Finanz@mueller.example"


def test_account_is_found_by_its_workspace(session: Session) -> None:
    account = make_account(session, now=NOW)
    assert account_for_team(session=session, team_id=account.workspace.team_id) is account
    assert account_for_team(session=session, team_id="TUNKNOWN") is None


def test_contact_details_blank_keeps_and_bad_input_changes_nothing(session: Session) -> None:
    account = make_account(session, now=NOW)
    assert update_contact_details(
        session=session, account=account, email="", phone="020 7946 0018", actor="UADMIN", now=NOW
    )
    assert account.contact_email == "billing@acme.example"
    assert account.contact_phone == "+442079460018"
    for email, phone, field in [
        ("nope", "", "email"),
        ("", "12", "phone"),
        ("new@acme.example", "abc", "phone"),
    ]:
        with pytest.raises(FieldError) as caught:
            update_contact_details(
                session=session, account=account, email=email, phone=phone, actor="UADMIN", now=NOW
            )
        assert caught.value.field == field
    assert (account.contact_email, account.contact_phone) == (
        "billing@acme.example",
        "+442079460018",
    )


def test_vat_details_and_finance_channel_are_audited(session: Session) -> None:
    account = make_account(session, now=NOW)
    with pytest.raises(FieldError, match="check digits"):
        set_vat_details(
            session=session,
            account=account,
            country="DE",
            vat_reference="DE136695977",
            actor="UADMIN",
            now=NOW,
        )
    assert (account.country, account.vat_reference) == ("GB", None)
    set_vat_details(
        session=session,
        account=account,
        country="DE",
        vat_reference="DE 136 695 976",
        actor="UADMIN",
        now=NOW,
    )
    set_finance_channel(
        session=session, account=account, channel_id="CFINANCE", actor="UADMIN", now=NOW
    )
    session.flush()
    session.expire_all()
    stored = session.get_one(Account, account.id)
    assert (stored.country, stored.vat_reference, stored.finance_channel_id) == (
        "DE",
        "DE136695976",
        "CFINANCE",
    )
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.account_id == account.id).order_by(AuditEntry.id)
    ).all()
    assert actions == [
        "account.created",
        "account.vat_details_updated",
        "account.finance_channel_set",
    ]
