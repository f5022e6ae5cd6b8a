import pytest
from django.core.exceptions import ValidationError

from roster.phone import format_phone, normalize_phone
from roster.services import create_guardian


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("(617) 253-1000", "+16172531000"),
        ("617.253.1000", "+16172531000"),
        ("+1 617 253 1000", "+16172531000"),
        ("+52 55 5086 4100", "+525550864100"),
        ("", ""),
    ],
)
def test_phone_numbers_are_stored_in_e164(typed, stored):
    assert normalize_phone(typed) == stored


@pytest.mark.parametrize("typed", ["not a number", "123", "+1 555 0100"])
def test_a_number_that_is_not_a_phone_number_is_refused_with_a_clear_message(typed):
    with pytest.raises(ValidationError) as error:
        normalize_phone(typed)
    assert "phone number" in str(error.value)


def test_numbers_at_home_are_shown_in_national_form_and_others_internationally():
    assert format_phone("+16172531000") == "(617) 253-1000"
    assert format_phone("+525550864100") == "+52 55 5086 4100"


@pytest.mark.django_db
def test_a_guardian_email_is_normalised_and_phone_stored_in_e164():
    guardian = create_guardian(
        first_name=" Rosa ", last_name="Díaz", email=" Rosa.Diaz@Example.ORG ", phone="617-253-1000"
    )
    assert (guardian.first_name, guardian.email, guardian.phone) == ("Rosa", "rosa.diaz@example.org", "+16172531000")


@pytest.mark.django_db
def test_the_database_refuses_an_unknown_family_language_even_past_the_forms():
    from django.db import IntegrityError

    from roster.tests.factories import GuardianFactory

    with pytest.raises(IntegrityError):
        GuardianFactory(preferred_language="xx")
