"""The VAT table: every treatment for the same quote, and references refused with a reason."""

from datetime import date
from decimal import Decimal

import pytest

from bot.countries import EU_MEMBER_STATES
from bot.errors import FieldError
from bot.money import Money
from bot.quotes import PriceTier, quote_credits
from bot.vat import normalise_vat_reference, uk_standard_rate, vat_rate, vat_treatment
from store.enums import VatTreatment

TODAY = date(2026, 11, 24)
TIERS = [
    PriceTier(1, 99, Money(100, "GBP")),
    PriceTier(100, 499, Money(90, "GBP")),
    PriceTier(500, None, Money(80, "GBP")),
]

# A valid VAT reference for each of the 27 EU member states (examples from the national rules).
VALID_EU_REFERENCES = {
    "AT": "ATU13585627",
    "BE": "BE0403019261",
    "BG": "BG175074752",
    "CY": "CY10259033P",
    "CZ": "CZ25123891",
    "DE": "DE136695976",
    "DK": "DK13585628",
    "EE": "EE100931558",
    "ES": "ESB58378431",
    "FI": "FI20774740",
    "FR": "FR40303265045",
    "GR": "EL094259216",
    "HR": "HR33392005961",
    "HU": "HU12892312",
    "IE": "IE6433435F",
    "IT": "IT00743110157",
    "LT": "LT119511515",
    "LU": "LU15027442",
    "LV": "LV40003521600",
    "MT": "MT11679112",
    "NL": "NL004495445B01",
    "PL": "PL8567346215",
    "PT": "PT501964843",
    "RO": "RO18547290",
    "SE": "SE123456789701",
    "SI": "SI50223054",
    "SK": "SK2022749619",
}


def quote_for(country: str, reference: str | None):  # type: ignore[no-untyped-def]
    normalised = normalise_vat_reference(country, reference)
    return quote_credits(150, tiers=TIERS, treatment=vat_treatment(country, normalised), on=TODAY)


def test_the_table_covers_all_27_member_states() -> None:
    assert set(VALID_EU_REFERENCES) == EU_MEMBER_STATES
    assert len(EU_MEMBER_STATES) == 27


@pytest.mark.parametrize("country", ["GB", "XI"])
def test_uk_customers_pay_uk_vat(country: str) -> None:
    quote = quote_for(country, None)
    assert quote.vat_treatment is VatTreatment.UK_STANDARD
    assert (quote.net, quote.vat, quote.gross) == (
        Money(13500, "GBP"),
        Money(2700, "GBP"),
        Money(16200, "GBP"),
    )


def test_uk_customer_with_a_vat_number_still_pays_uk_vat() -> None:
    quote = quote_for("GB", "GB980780684")
    assert quote.vat_treatment is VatTreatment.UK_STANDARD
    assert quote.vat == Money(2700, "GBP")


@pytest.mark.parametrize("country", sorted(VALID_EU_REFERENCES))
def test_eu_business_with_valid_reference_is_reverse_charged(country: str) -> None:
    quote = quote_for(country, VALID_EU_REFERENCES[country])
    assert quote.vat_treatment is VatTreatment.EU_REVERSE_CHARGE
    assert quote.vat_rate == 0
    assert quote.vat == Money(0, "GBP")
    assert quote.gross == Money(13500, "GBP")


@pytest.mark.parametrize("country", sorted(VALID_EU_REFERENCES))
def test_eu_customer_without_reference_pays_uk_vat(country: str) -> None:
    quote = quote_for(country, None)
    assert quote.vat_treatment is VatTreatment.EU_NO_VAT_REFERENCE
    assert quote.vat_rate == Decimal("0.20")
    assert quote.vat == Money(2700, "GBP")
    assert quote.gross == Money(16200, "GBP")


@pytest.mark.parametrize("country", ["US", "CH", "NO", "AU", "JP"])
def test_outside_uk_and_eu_is_outside_the_scope(country: str) -> None:
    quote = quote_for(country, None)
    assert quote.vat_treatment is VatTreatment.OUTSIDE_SCOPE
    assert quote.vat == Money(0, "GBP")
    assert quote.gross == Money(13500, "GBP")


def test_references_are_compacted_and_prefixed() -> None:
    assert normalise_vat_reference("DE", "de 136 695 976") == "DE136695976"
    assert normalise_vat_reference("DE", "136695976") == "DE136695976"
    assert normalise_vat_reference("GR", "094259216") == "EL094259216"
    assert normalise_vat_reference("GB", "980 7806 84") == "GB980780684"
    assert normalise_vat_reference("XI", "980780684") == "XI980780684"
    assert normalise_vat_reference("DE", "   ") is None


def test_wrong_checksum_is_refused_with_the_reason() -> None:
    with pytest.raises(FieldError, match="check digits") as caught:
        normalise_vat_reference("DE", "DE136695977")
    assert caught.value.field == "vat_reference"
    with pytest.raises(FieldError, match="check digits"):
        normalise_vat_reference("GB", "GB980780685")


def test_wrong_country_prefix_is_refused_with_the_reason() -> None:
    with pytest.raises(FieldError, match=r"starts with FR, but the account's country is Germany"):
        normalise_vat_reference("DE", "FR40303265045")
    with pytest.raises(FieldError, match="starts with GB"):
        normalise_vat_reference("GR", "GB980780684")


def test_wrong_length_and_format_are_refused() -> None:
    with pytest.raises(FieldError, match="different number of characters"):
        normalise_vat_reference("FR", "FR4030326504")
    with pytest.raises(FieldError, match="doesn't look like a VAT reference"):
        normalise_vat_reference("DE", "-- --")


def test_uk_rate_is_data_with_effective_dates() -> None:
    assert uk_standard_rate(date(2010, 6, 1)) == Decimal("0.175")
    assert uk_standard_rate(date(2011, 1, 3)) == Decimal("0.175")
    assert uk_standard_rate(date(2011, 1, 4)) == Decimal("0.20")
    assert vat_rate(VatTreatment.OUTSIDE_SCOPE, TODAY) == 0
    with pytest.raises(ValueError, match="no UK VAT rate"):
        uk_standard_rate(date(2000, 1, 1))
