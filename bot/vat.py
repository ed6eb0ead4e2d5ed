"""UK VAT for the vendor's invoices: which treatment applies, at what rate, and whether a VAT
reference is valid (checked offline with python-stdnum).

The simplifications are written down in docs/adr/0002-vat-treatments.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError
from stdnum.gb import vat as gb_vat

from bot.countries import EU_MEMBER_STATES, UK, country_name
from bot.errors import FieldError
from store.enums import VatTreatment

VAT_REFERENCE_FIELD = "vat_reference"


@dataclass(frozen=True, slots=True)
class VatRate:
    rate: Decimal
    effective_from: date


# The UK standard rate over time, newest last. A rate change is one new row here.
UK_STANDARD_RATES: tuple[VatRate, ...] = (
    VatRate(Decimal("0.175"), date(2010, 1, 1)),
    VatRate(Decimal("0.20"), date(2011, 1, 4)),
)

TREATMENT_WORDING: dict[VatTreatment, str] = {
    VatTreatment.UK_STANDARD: "UK VAT at the standard rate",
    VatTreatment.EU_NO_VAT_REFERENCE: (
        "UK VAT at the standard rate (no EU VAT reference has been provided)"
    ),
    VatTreatment.EU_REVERSE_CHARGE: "Reverse charge: customer to account for VAT",
    VatTreatment.OUTSIDE_SCOPE: "Outside the scope of UK VAT",
}


def uk_standard_rate(on: date) -> Decimal:
    """The UK standard VAT rate in force on `on`."""
    in_force = [row for row in UK_STANDARD_RATES if row.effective_from <= on]
    if not in_force:
        raise ValueError(f"no UK VAT rate is recorded for {on.isoformat()}")
    return max(in_force, key=lambda row: row.effective_from).rate


def vat_treatment(country: str, vat_reference: str | None) -> VatTreatment:
    """The treatment for a customer in `country` with an already-validated `vat_reference`."""
    if country in UK:
        return VatTreatment.UK_STANDARD
    if country in EU_MEMBER_STATES:
        return VatTreatment.EU_REVERSE_CHARGE if vat_reference else VatTreatment.EU_NO_VAT_REFERENCE
    return VatTreatment.OUTSIDE_SCOPE


def vat_rate(treatment: VatTreatment, on: date) -> Decimal:
    if treatment in (VatTreatment.UK_STANDARD, VatTreatment.EU_NO_VAT_REFERENCE):
        return uk_standard_rate(on)
    return Decimal(0)


def _allowed_prefixes(country: str) -> tuple[str, ...]:
    """The prefixes a reference for `country` may carry; the first is added when none is."""
    if country == "XI":
        return ("XI", "GB")  # Northern Ireland traders hold one number under both prefixes
    if country == "GB":
        return ("GB", "XI")
    return ("EL",) if country == "GR" else (country,)


def normalise_vat_reference(country: str, raw: str | None) -> str | None:
    """Validate `raw` as a VAT reference for `country` and return it compact, with its prefix.

    Blank means "no VAT reference". Raises `FieldError` on `vat_reference` saying what is wrong.
    """
    text = (raw or "").strip()
    if not text:
        return None
    compact = "".join(ch for ch in text.upper() if ch.isalnum())
    if not compact or len(compact) > 20:
        raise FieldError(VAT_REFERENCE_FIELD, "This doesn't look like a VAT reference.")
    if country not in UK and country not in EU_MEMBER_STATES:
        return compact  # kept for the invoice; it does not change the VAT treatment

    allowed = _allowed_prefixes(country)
    given_prefix = compact[:2] if compact[:2].isalpha() else None
    if given_prefix is None:
        compact = allowed[0] + compact
    elif given_prefix not in allowed:
        raise FieldError(
            VAT_REFERENCE_FIELD,
            f"This VAT reference starts with {given_prefix}, but the account's country is "
            f"{country_name(country)}: a VAT reference from there starts with {allowed[0]}.",
        )
    try:
        if country in UK:
            gb_vat.validate(compact[2:])
        else:
            eu_vat.validate(compact)
    except InvalidChecksum as exc:
        raise FieldError(
            VAT_REFERENCE_FIELD,
            "The check digits of this VAT reference are wrong: please copy it again from "
            "your VAT registration.",
        ) from exc
    except InvalidLength as exc:
        raise FieldError(
            VAT_REFERENCE_FIELD,
            f"A VAT reference from {country_name(country)} has a different number of "
            "characters: please check it.",
        ) from exc
    except ValidationError as exc:
        raise FieldError(
            VAT_REFERENCE_FIELD,
            f"This is not in the format of a VAT reference from {country_name(country)}.",
        ) from exc
    return compact
