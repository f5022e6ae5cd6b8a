"""The demo's term of history makes every part of Keep in touch show something on first sign-in."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from communication.demo import DEMO_NOTICE
from communication.models import ContactSummary, Interaction, Outcome, Reply
from communication.selectors import SentToMany, ThreadSummary, class_ratio, messages_of_staff, threads_of_staff
from communication.services import recount_contact_summaries
from communication.today import Reason, today_for
from roster.models import School, Section, Term
from seeding.management.commands import seed_demo

pytestmark = pytest.mark.django_db

DEMO_NOW = datetime.datetime(2026, 11, 25, 14, 0, tzinfo=datetime.UTC)


@pytest.fixture
def demo() -> School:
    with time_machine.travel(DEMO_NOW, tick=False):
        seed_demo.Command().handle(if_empty=False)
    return School.objects.get()


def test_the_demo_teacher_has_families_in_every_bucket_of_today(demo: School) -> None:
    teacher = User.objects.get(email="teacher@example.org")

    today = today_for(user=teacher, now=DEMO_NOW)

    for reason in (
        Reason.FOLLOW_UP_DUE,
        Reason.NOT_CONTACTED_THIS_TERM,
        Reason.PAST_CADENCE,
        Reason.NO_POSITIVE_YET,
        Reason.UP_TO_DATE,
    ):
        assert today.counts_by_reason.get(reason.name, 0) > 0, reason
    # Most families have been reached: the overdue and never-contacted are the exception.
    behind = today.counts_by_reason["NOT_CONTACTED_THIS_TERM"] + today.counts_by_reason["PAST_CADENCE"]
    assert behind < today.total / 2
    assert [row.reason for row in today.rows] == sorted(row.reason for row in today.rows)


def test_the_demo_history_has_failed_attempts_and_classes_far_from_the_ratio_target(demo: School) -> None:
    assert Interaction.objects.exclude(outcome=Outcome.REACHED).exists()
    assert not Interaction.objects.filter(occurred_at__gt=DEMO_NOW).exists()

    ratios = {
        section.code: class_ratio(section=section, students=list(section.students.all()))
        for section in Section.objects.select_related("term__school")
    }

    assert not ratios["1-A"].ratio.meets_target
    assert ratios["1-A"].ratio.positives_needed > ratios["K-B"].ratio.positives_needed


def test_the_demo_summaries_agree_with_the_log(demo: School) -> None:
    before = {
        (s.student_id, s.positives, s.concerns, s.contacts, s.attempts, s.last_contact_at)
        for s in ContactSummary.objects.all()
    }

    ContactSummary.objects.all().delete()
    with time_machine.travel(DEMO_NOW, tick=False):
        recount_contact_summaries(term=Term.objects.get(is_current=True), students=demo.students.all())

    after = {
        (s.student_id, s.positives, s.concerns, s.contacts, s.attempts, s.last_contact_at)
        for s in ContactSummary.objects.all()
    }
    assert before == after
    assert len(after) > 250
    assert timezone.now() > DEMO_NOW  # the clock is back


def test_the_demo_teacher_has_answered_conversations_one_of_them_in_spanish(demo: School) -> None:
    teacher = User.objects.get(email="teacher@example.org")

    threads = threads_of_staff(staff=teacher)

    # Two families answered good news, one in Spanish (Ava's also answered the goal it was sent), and one family
    # the class notice.
    answered = [summary for summary in threads if summary.unread]
    assert sorted(summary.unread for summary in answered) == [1, 1, 2]
    assert {summary.thread.guardian.preferred_language for summary in answered} == {"en", "es"}


def test_the_demo_class_notice_is_one_entry_its_answer_a_conversation_and_the_follow_ups_stay_open(
    demo: School,
) -> None:
    teacher = User.objects.get(email="teacher@example.org")

    entries = messages_of_staff(staff=teacher)

    notices = [entry for entry in entries if isinstance(entry, SentToMany) and entry.message.kind == "note"]
    assert [entry.message.subject for entry in notices] == ["Field trip on Friday"]
    assert notices[0].families > 10
    answer = Reply.objects.get(body=DEMO_NOTICE[2])
    [answered] = [entry for entry in entries if isinstance(entry, ThreadSummary) and entry.thread == answer.thread]
    assert (answered.unread, answered.thread.guardian.preferred_language) == (1, "en")
    assert answer.thread.deliveries.filter(message=notices[0].message).exists()
    assert (
        Interaction.objects.filter(personal=False, delivery__message=notices[0].message).count() == notices[0].families
    )
    today = today_for(user=teacher, now=DEMO_NOW)
    assert today.counts_by_reason["FOLLOW_UP_DUE"] == 3
