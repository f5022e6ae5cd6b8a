"""Ids typed into an address: a row id is a plain ASCII number that fits the database's 64-bit keys. Anything
else (a superscript `²`, Arabic digits, a number beyond 64 bits) names no row: a 404 or an ignored choice,
never a 500 from the database."""

import re

# 18 digits always fit a signed 64-bit key, on SQLite and PostgreSQL alike.
ID_PATTERN = "[0-9]{1,18}"
_ID = re.compile(rf"\A{ID_PATTERN}\Z")


def parse_id(value: object) -> int | None:
    """The row id `value` spells, or None when it can name no row."""
    return int(value) if isinstance(value, str) and _ID.match(value) else None


class IdConverter:
    """`<id:student_id>` in a URL pattern: like `<int:…>`, but bounded, so a 30-digit id is a 404."""

    regex = ID_PATTERN

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
