"""Asking families about their children, tested on a fixed day: Wednesday 25 November 2026, noon in New York.

The world (conftest.py at the root): Maple Elementary's class 3A is taught by `teacher`; Ana is in it, with her
parent (`guardian`, contactable) and her other parent (`restricted_guardian`, whom a court order keeps the school
from contacting). Ben is in 3B (`other_teacher`), with his own family (`other_family`)."""

import datetime
import zoneinfo
from typing import TYPE_CHECKING, Any

import pytest

from accounts.models import User
from roster.models import Guardian, Section, Student

if TYPE_CHECKING:
    from conftest import World

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=NEW_YORK)
LINK_DAYS = 30
REMINDER_DAYS = 7


@pytest.fixture(autouse=True)
def intake_settings(settings: Any) -> None:
    """The link's lifetime and the reminder's delay pinned, whatever the environment says."""
    settings.HOMEROOM_INTAKE_LINK_DAYS = LINK_DAYS
    settings.HOMEROOM_INTAKE_REMINDER_DAYS = REMINDER_DAYS
    settings.HOMEROOM_TRANSLATION_BACKEND = "none"


@pytest.fixture
def section(world: "World") -> Section:
    return world.section


@pytest.fixture
def teacher(world: "World") -> User:
    return world.people["teacher"]


@pytest.fixture
def leader(world: "World") -> User:
    return world.people["leader"]


@pytest.fixture
def ana(world: "World") -> Student:
    return world.student


@pytest.fixture
def parent(world: "World") -> Guardian:
    """Ana's parent: the guardian the school may contact."""
    return Guardian.objects.get(user=world.people["guardian"])


@pytest.fixture
def restricted(world: "World") -> Guardian:
    """Ana's other parent, whom a court order keeps the school from contacting."""
    return Guardian.objects.get(user=world.people["restricted_guardian"])
