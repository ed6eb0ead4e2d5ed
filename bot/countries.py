"""Countries as the portal knows them: ISO 3166 codes, English names, UK and EU membership."""

from __future__ import annotations

from functools import cache

from babel import Locale

UK = frozenset({"GB", "XI"})  # XI: Northern Ireland, part of the UK for VAT on services
EU_MEMBER_STATES = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    }
)  # fmt: skip
_EXTRA_NAMES = {"XI": "Northern Ireland"}


@cache
def country_names() -> dict[str, str]:
    """Every country code the portal accepts, with its English name."""
    territories = Locale("en", "GB").territories
    names = {
        code: str(name)
        for code, name in territories.items()
        if len(code) == 2 and code.isalpha() and code not in {"ZZ", "EU", "EZ", "UN", "QO"}
    }
    names.update(_EXTRA_NAMES)
    return names


def country_name(code: str) -> str:
    return country_names().get(code, code)


def is_country(code: str) -> bool:
    return code in country_names()
