"""Goals in the small world of the root conftest.py: Ana is in 3A, taught by `teacher`; her parent (`guardian`)
sees her in the portal; her other parent (`restricted_guardian`) may not. Ben is in 3B with his own family."""

import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from django.utils import timezone

from goals.models import Goal
from goals.services import save_goal

if TYPE_CHECKING:
    from conftest import World

DAY = datetime.timedelta(days=1)


def goal_fields(**changes: Any) -> dict[str, Any]:
    """A good goal for Ana, begun two weeks ago and due in ten."""
    today = timezone.localdate()
    return {
        "area": "reading",
        "statement": "Ana will read a grade-level passage aloud at 60 words correct per minute.",
        "measure": "Words read correctly in one minute",
        "unit": "words per minute",
        "baseline": Decimal(40),
        "baseline_on": today - 14 * DAY,
        "target": Decimal(60),
        "due_on": today + 70 * DAY,
        "checkin_every_days": 14,
        "school_strategies": "Partner reading every day.",
        "home_strategies": "Read together for 15 minutes.",
        "visible_to_family": True,
        "families_may_measure": False,
        **changes,
    }


@pytest.fixture
def goal(world: "World") -> Goal:
    return save_goal(author=world.people["teacher"], student=world.student, fields=goal_fields())
