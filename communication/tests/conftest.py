"""Keep in touch, tested on a fixed day: Wednesday 25 November 2026, noon at Maple Elementary (New York).

The current term of the world's school runs 2026-08-24 to 2027-06-18 (roster/tests/factories.py)."""

import datetime
import zoneinfo
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest
import time_machine

from accounts.models import User
from communication.models import Interaction
from communication.services import log_interaction
from roster.models import Guardian, Student

if TYPE_CHECKING:
    from conftest import World

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
TODAY = datetime.date(2026, 11, 25)
NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=NEW_YORK)


def at(day: datetime.date, hour: int = 12, minute: int = 0, zone: str = "America/New_York") -> datetime.datetime:
    """A moment on a day, in a school's time zone."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zoneinfo.ZoneInfo(zone))


def days_ago(days: int, hour: int = 12) -> datetime.datetime:
    return at(TODAY - datetime.timedelta(days=days), hour)


@pytest.fixture
def on_a_wednesday_in_november() -> Iterator[None]:
    """The clock stopped at NOW: use it with pytestmark = pytest.mark.usefixtures("on_a_wednesday_in_november")."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def teacher(world: "World") -> User:
    return world.people["teacher"]


@pytest.fixture
def ana(world: "World") -> Student:
    return world.student


@pytest.fixture
def parent(world: "World") -> Guardian:
    """Ana's parent: the guardian the school may contact, and her primary contact."""
    return Guardian.objects.get(user=world.people["guardian"])


@pytest.fixture
def restricted(world: "World") -> Guardian:
    """Ana's other parent, whom a court order keeps the school from contacting."""
    return Guardian.objects.get(user=world.people["restricted_guardian"])


def log(
    *,
    by: User,
    guardian: Guardian,
    students: Sequence[Student],
    tone: str = "positive",
    occurred_at: datetime.datetime | None = None,
    **fields: Any,
) -> Interaction:
    """One contact through the service, with a sentence about it."""
    return log_interaction(
        logged_by=by,
        students=list(students),
        guardian=guardian,
        tone=tone,
        summary=fields.pop("summary", f"A {tone} word about {', '.join(s.first_name for s in students)}."),
        occurred_at=occurred_at or days_ago(1),
        **fields,
    )
