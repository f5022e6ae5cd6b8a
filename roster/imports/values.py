"""Field values as student information systems write them, read unambiguously or refused with a reason."""

import datetime
import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from roster.phone import normalize_phone

# What no field of a roster holds: C0 and C1 control characters (NUL, tab, line feed, carriage return…) and the
# Unicode line and paragraph separators. PostgreSQL refuses NUL; a line break in a name breaks an email's subject.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def control_character(text: str) -> str | None:
    """Why a field may not be stored, in words for whoever fixes the file: None when it may."""
    found = CONTROL.search(text)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        what = _("a NUL byte")
    elif char in "\n\r\x0b\x0c\x85\u2028\u2029":
        what = _("a line break")
    elif char == "\t":
        what = _("a tab")
    else:
        what = _("the control character U+%(code)04X") % {"code": ord(char)}
    return _("This field holds %(what)s, which no name, number or code may hold.") % {"what": what}


class BadValue(ValueError):
    """A value the import will not guess at; its message says what to write instead."""


ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:T.*)?")
SLASH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
DAY_FIRST, MONTH_FIRST = "day", "month"


def slash_order(texts: Iterable[str]) -> str:
    """How a file writes its slash dates, as only the file itself can say: a first number above 12 is a day
    (DAY_FIRST), a second one above 12 a day too (MONTH_FIRST). "" when the file does not settle it (no day above
    12, or both orders)."""
    orders = set()
    for text in texts:
        match = SLASH_DATE.fullmatch(text)
        if match:
            first, second = int(match.group(1)), int(match.group(2))
            if first > 12:
                orders.add(DAY_FIRST)
            elif second > 12:
                orders.add(MONTH_FIRST)
    return orders.pop() if len(orders) == 1 else ""


def parse_date(text: str, order: str = "") -> datetime.date | None:
    """Year-month-day, with or without leading zeros ("2023-5-1"). "1/05/2023" is 5 January in one country and
    1 May in another: read only in the `order` the file settles (slash_order), never guessed."""
    if not text:
        return None
    match = ISO_DATE.fullmatch(text)
    slash = SLASH_DATE.fullmatch(text) if match is None and order else None
    if not match and not slash:
        raise BadValue(
            _("“%(value)s” is not a date Homeroom can read for sure: write it year-month-day, as 2023-05-01.")
            % {"value": text}
        )
    try:
        if slash:
            first, second, year = (int(part) for part in slash.groups())
            day, month = (first, second) if order == DAY_FIRST else (second, first)
            return datetime.date(year, month, day)
        return datetime.date(*(int(part) for part in match.groups()))  # type: ignore[union-attr]
    except ValueError:
        raise BadValue(_("“%(value)s” is not a date that exists.") % {"value": text}) from None


TRUE = frozenset({"true", "yes", "y", "1"})
FALSE = frozenset({"false", "no", "n", "0"})


def parse_bool(text: str, *, default: bool) -> bool:
    """true or false in any case (TRUE, True, true), yes or no, 1 or 0; an empty field is the default."""
    value = text.lower()
    if not value:
        return default
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise BadValue(_("“%(value)s” should be true or false.") % {"value": text})


# OneRoster's grade vocabulary (CEDS). Homeroom serves pre-kindergarten (-1) to grade 12.
GRADES = {"IT": -1, "PR": -1, "PK": -1, "TK": -1, "KG": 0, "K": 0}
GRADES.update({str(n): n for n in range(1, 13)})
GRADES.update({f"{n:02d}": n for n in range(1, 13)})


def parse_grade(text: str) -> int | None:
    if not text:
        return None
    grade = GRADES.get(text.upper())
    if grade is None:
        raise BadValue(_("“%(value)s” is not a grade from pre-K to 12: use PK, KG, or 01 to 12.") % {"value": text})
    return grade


def parse_grades(text: str) -> int | None:
    """A list of grades (a class or a student may have several): the lowest."""
    grades = [grade for grade in (parse_grade(part) for part in parse_list(text)) if grade is not None]
    return min(grades) if grades else None


def parse_list(text: str) -> list[str]:
    """A OneRoster list: comma-separated in one quoted field. Spaces around items and empty items are dropped."""
    if "," not in text:  # most lists hold one item
        return [text.strip()] if text and not text.isspace() else []
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_email(text: str) -> str:
    if not text:
        return ""
    email = text.lower()
    try:
        validate_email(email)
    except ValidationError:
        raise BadValue(_("“%(value)s” is not an email address.") % {"value": text}) from None
    return email


def parse_phone(text: str) -> str:
    try:
        return normalize_phone(text)
    except ValidationError as error:
        raise BadValue(error.messages[0]) from None
