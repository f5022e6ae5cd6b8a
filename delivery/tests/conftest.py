"""Delivery is tested on the same fixed day and with the same family as keep in touch (communication/tests)."""

from communication.tests.conftest import (  # noqa: F401 - fixtures, found by pytest by their name here
    ana,
    on_a_wednesday_in_november,
    parent,
    restricted,
    teacher,
)
