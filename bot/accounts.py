"""Accounts: set-up, contact details, VAT details and the finance channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import audit
from bot.countries import country_name, is_country
from bot.errors import FieldError
from bot.vat import normalise_vat_reference
from store.enums import Role
from store.models import Account, AccountUser, Workspace

EMAIL_FIELD = "email"
PHONE_FIELD = "phone"
COMPANY_FIELD = "company_name"
COUNTRY_FIELD = "country"


def parse_email(text: str, *, field: str = EMAIL_FIELD) -> str:
    try:
        # Offline: syntax and domain shape only, no DNS look-up on the request path.
        return str(validate_email(text.strip(), check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise FieldError(
            field, f"Enter a valid email address, like name@example.com ({exc})."
        ) from exc


def parse_phone(text: str, *, country: str, field: str = PHONE_FIELD) -> str:
    """A contact number in E.164 form; national numbers are read in the account's country."""
    region = "GB" if country == "XI" else country
    try:
        number = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise FieldError(
            field, "Enter a phone number, like 020 7946 0018 or +44 20 7946 0018."
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise FieldError(
            field,
            f"That is not a valid phone number for {country_name(region)}: include the country "
            "code (like +44) if it is from elsewhere.",
        )
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def parse_country(code: str, *, field: str = COUNTRY_FIELD) -> str:
    code = code.strip().upper()
    if not is_country(code):
        raise FieldError(field, "Choose a country from the list.")
    return code


def parse_company_name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise FieldError(COMPANY_FIELD, "Enter the company name.")
    if len(name) > 200:
        raise FieldError(COMPANY_FIELD, "Use at most 200 characters for the company name.")
    return name


def billing_address_lines(account: Account) -> tuple[str, ...]:
    """The billing address as an invoice prints it: attention line, street, town, postcode."""
    attention = " ".join(
        part for part in (account.billing_forename, account.billing_surname) if part
    )
    lines = (
        attention,
        account.billing_line1,
        account.billing_line2,
        account.billing_town,
        account.billing_postcode,
    )
    return tuple(line.strip() for line in lines if line and line.strip())


def account_for_team(*, session: Session, team_id: str) -> Account | None:
    return session.scalar(select(Account).join(Workspace).where(Workspace.team_id == team_id))


@dataclass(frozen=True, slots=True)
class AccountSetup:
    """What "Set up account" asks for, already parsed."""

    company_name: str
    country: str
    contact_email: str
    vat_reference: str | None


def parse_account_setup(
    *, company_name: str, country: str, contact_email: str, vat_reference: str | None
) -> AccountSetup:
    """Validate every field; raise the first `FieldError` (each names its field)."""
    parsed_country = parse_country(country)
    return AccountSetup(
        company_name=parse_company_name(company_name),
        country=parsed_country,
        contact_email=parse_email(contact_email),
        vat_reference=normalise_vat_reference(parsed_country, vat_reference),
    )


def set_up_account(
    *,
    session: Session,
    team_id: str,
    team_name: str,
    setup: AccountSetup,
    admin_user_id: str,
    now: datetime,
) -> Account:
    """Create the workspace's account with its first admin. One account per workspace."""
    workspace = session.scalar(select(Workspace).where(Workspace.team_id == team_id))
    if workspace is None:
        workspace = Workspace(team_id=team_id, name=team_name, created_at=now)
        session.add(workspace)
        session.flush()
    elif workspace.account is not None:
        raise FieldError(COMPANY_FIELD, "This workspace already has an account.")
    account = Account(
        workspace_id=workspace.id,
        company_name=setup.company_name,
        country=setup.country,
        vat_reference=setup.vat_reference,
        contact_email=setup.contact_email,
        currency="GBP",
        autopay=True,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    session.flush()
    session.add(
        AccountUser(
            account_id=account.id,
            slack_user_id=admin_user_id,
            role=Role.ADMIN,
            added_by=admin_user_id,
            added_at=now,
        )
    )
    audit.record(
        session=session,
        account_id=account.id,
        actor=admin_user_id,
        action="account.created",
        now=now,
        company_name=account.company_name,
        country=account.country,
    )
    return account


def update_contact_details(
    *, session: Session, account: Account, email: str, phone: str, actor: str, now: datetime
) -> bool:
    """Blank keeps the current value. Both fields are validated before anything changes."""
    new_email = parse_email(email) if email.strip() else None
    new_phone = parse_phone(phone, country=account.country) if phone.strip() else None
    changed = []
    if new_email is not None and new_email != account.contact_email:
        account.contact_email = new_email
        changed.append("email")
    if new_phone is not None and new_phone != account.contact_phone:
        account.contact_phone = new_phone
        changed.append("phone")
    if changed:
        account.updated_at = now
        audit.record(
            session=session,
            account_id=account.id,
            actor=actor,
            action="account.contact_details_updated",
            now=now,
            fields=changed,
        )
    return bool(changed)


def set_vat_details(
    *,
    session: Session,
    account: Account,
    country: str,
    vat_reference: str | None,
    actor: str,
    now: datetime,
) -> None:
    """Change the country and VAT reference together, validated offline before acceptance."""
    parsed_country = parse_country(country)
    reference = normalise_vat_reference(parsed_country, vat_reference)
    account.country = parsed_country
    account.vat_reference = reference
    account.updated_at = now
    audit.record(
        session=session,
        account_id=account.id,
        actor=actor,
        action="account.vat_details_updated",
        now=now,
        country=parsed_country,
        vat_reference=reference,
    )


def set_finance_channel(
    *, session: Session, account: Account, channel_id: str | None, actor: str, now: datetime
) -> None:
    account.finance_channel_id = channel_id
    account.updated_at = now
    audit.record(
        session=session,
        account_id=account.id,
        actor=actor,
        action="account.finance_channel_set",
        now=now,
        channel=channel_id,
    )
