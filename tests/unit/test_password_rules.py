import pytest

from bot.errors import FieldError
from bot.passwords import check_strength, hash_password

COMPANY = "Acme Widgets Ltd"
EMAIL = "billing@acme.example"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1!", "at least 12 characters"),
        ("AcmeWidgets-2026!", "company name"),
        ("acme widgets ltd rocks", "company name"),
        ("billing@acme.example1", "email address"),
        ("my-billing-secret-99", "email address"),
        ("password1234", "too common"),
        ("Password123456!", "too common"),
        ("qwertyuiop12", "too common"),
        ("123456789012", "too common"),
        ("aaaaaaaaaaaaaaaa", "too common"),
        ("abcabcabcabcabc", "too common"),
        ("x" * 2000, "at most 1024"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, reason: str) -> None:
    with pytest.raises(FieldError, match=reason) as caught:
        check_strength(password, company_name=COMPANY, email=EMAIL)
    assert caught.value.field == "new_password"


@pytest.mark.parametrize(
    "password", ["correct horse battery", "Tulips-in-Amsterdam-42", "ünïcødé pässwörd £€"]
)
def test_reasonable_passwords_pass(password: str) -> None:
    check_strength(password, company_name=COMPANY, email=EMAIL)


def test_hashes_are_argon2id_and_salted() -> None:
    first, second = hash_password("Tulips-in-Amsterdam-42"), hash_password("Tulips-in-Amsterdam-42")
    assert first.startswith("$argon2id$")
    assert first != second
    assert "Tulips" not in first
