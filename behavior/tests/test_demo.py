"""The demo school's behavior notes: two children to reach early, one pattern already talked through."""

import datetime

import pytest
import time_machine

from accounts.models import User
from behavior.models import BehaviorNote
from behavior.patterns import Kind
from behavior.selectors import behavior_of_student, reach_out_early_for
from seeding.management.commands import seed_demo

pytestmark = pytest.mark.django_db

DEMO_NOW = datetime.datetime(2026, 11, 25, 14, 0, tzinfo=datetime.UTC)


def test_the_demo_has_two_patterns_to_talk_through_and_one_resolved_after_an_early_call():
    with time_machine.travel(DEMO_NOW, tick=False):
        seed_demo.Command().handle(if_empty=False)
        teacher = User.objects.get(email="teacher@example.org")
        early = reach_out_early_for(user=teacher)
        students = {note.student for note in BehaviorNote.objects.select_related("student__school")}
        behaviors = {student: behavior_of_student(student=student, with_words=True) for student in students}

    assert len(early) == 2
    kinds = {pattern.kind for row in early for pattern in row.patterns}
    assert {Kind.CLUSTER, Kind.RISING, Kind.SUBJECT, Kind.SETTING} <= kinds
    resolved = [student for student, behavior in behaviors.items() if behavior.reached_out_on]
    assert len(resolved) == 1 and behaviors[resolved[0]].patterns
    assert resolved[0] not in {row.student for row in early}
