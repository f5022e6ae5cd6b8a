import functools

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DEFAULT_REGION = "US"


def normalize_phone(raw: str, *, region: str = DEFAULT_REGION) -> str:
    """A phone number as typed ("(617) 555-0123") in E.164 ("+16175550123"); ValidationError if it is none."""
    raw = raw.strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(_("Enter a phone number, e.g. +1 617 555 0123."), code="invalid_phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("%(number)s is not a valid phone number.") % {"number": raw}, code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    if value and normalize_phone(value) != value:
        raise ValidationError(_("Store phone numbers in E.164 form, e.g. +16175550123."), code="not_e164")


@functools.lru_cache(maxsize=4096)  # a pure function, called for every number on a class page
def format_phone(value: str) -> str:
    """E.164 shown the way people read it: national form at home, international otherwise."""
    if not value:
        return ""
    number = phonenumbers.parse(value, None)
    if phonenumbers.region_code_for_number(number) == DEFAULT_REGION:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
