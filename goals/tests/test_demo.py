"""The demo school's goals show every status, a family that took part in Spanish, and check-ins due today."""

import datetime

import pytest
import time_machine
from django.utils import translation

from accounts.models import User
from goals.models import Goal
from goals.progress import Status
from goals.selectors import checkins_due_for, goals_of_student, replies_to_count, words_for
from seeding.management.commands import seed_demo

pytestmark = pytest.mark.django_db

DEMO_NOW = datetime.datetime(2026, 11, 25, 14, 0, tzinfo=datetime.UTC)


def test_the_demo_goals_are_on_track_at_risk_met_and_new_and_a_spanish_family_took_part():
    with time_machine.travel(DEMO_NOW, tick=False):
        seed_demo.Command().handle(if_empty=False)
        statuses = {
            progress.status for goal in Goal.objects.all() for progress in goals_of_student(student_id=goal.student_id)
        }
        due = checkins_due_for(user=User.objects.get(email="teacher@example.org"))

    assert statuses == {Status.ON_TRACK, Status.AT_RISK, Status.MET, Status.NOT_MEASURED}
    assert due
    mateo = Goal.objects.prefetch_related("translations").get(student__first_name="Mateo")
    assert mateo.acknowledged_by.user.email == "padre@example.org"
    assert words_for(mateo, "es").statement.startswith("Mateo leerá")
    home = mateo.checkins.get(by_guardian__isnull=False)
    assert home.activity is not None and "dinosaurios" in home.note
    ava = Goal.objects.get(student__first_name="Ava")
    assert ava.visible_to_family and ava.acknowledged_at is None and ava.family_told_at is not None
    assert replies_to_count(User.objects.get(email="teacher@example.org"), ava)  # an answer waits to be counted
    with translation.override("en"):
        assert mateo.activities.first().wording().startswith("Read together")
