"""A class notice is not a conversation: what goes to many families at once in the same words is kept and shown,
but counts for nothing; a family's reply to it, and a letter written for one family, count as personal contact."""

import datetime
import re

import pytest
from django.apps import apps as installed_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from communication.conversations import reply_from_family
from communication.letters import default_letter
from communication.models import ContactSummary, Interaction, Tone
from communication.selectors import class_ratio, family_ratios, student_ratio, student_timeline
from communication.services import (
    recount_contact_summaries,
    send_family_introduction,
    send_introduction_letter,
    send_message,
)
from communication.tests.conftest import TODAY, days_ago, log
from communication.tests.test_today import pupil, with_follow_up_due
from communication.today import Reason, today_for
from delivery.models import Message, Thread
from roster.tests.factories import GuardianFactory, StudentGuardianFactory

pytestmark = pytest.mark.usefixtures("on_a_wednesday_in_november")

TODAY_URL = reverse("students:today")


def _field_trip(world, *, tone=Tone.POSITIVE):
    return send_message(
        sender=world.people["teacher"],
        section=world.section,
        subject="Field trip on Friday",
        body="We leave at 9:00. Please send a packed lunch.",
        tone=tone,
    )


def _form_letter(world):
    return send_introduction_letter(
        sender=world.people["teacher"],
        section=world.section,
        letters={code: default_letter(code) for code in ("en", "es")},
        how_to_reach="jordan@school.example.org",
        office_hours="Tuesdays 3:15 to 4:00 pm",
    )


# --- The rule ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("send", [_field_trip, _form_letter])
def test_a_notice_leaves_a_family_not_contacted_this_term(world, teacher, ana, send):
    [before] = today_for(user=teacher).rows
    assert before.reason is Reason.NOT_CONTACTED_THIS_TERM

    send(world)

    [after] = today_for(user=teacher).rows
    assert after.reason is Reason.NOT_CONTACTED_THIS_TERM
    assert (after.last_contact_on, after.failed_attempts) == (None, 0)
    assert not ContactSummary.objects.filter(student=ana).exists()


def test_a_notice_does_not_reset_the_cadence(world, teacher, ana, parent):
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.POSITIVE, occurred_at=days_ago(30))

    _field_trip(world)

    [row] = today_for(user=teacher).rows
    assert row.reason is Reason.PAST_CADENCE
    assert row.last_contact_on == TODAY - datetime.timedelta(days=30)


def test_a_notice_never_closes_a_follow_up(world, teacher, ana, parent):
    asked = with_follow_up_due(
        by=teacher, guardian=parent, student=ana, due_on=TODAY, logged_on=TODAY - datetime.timedelta(days=5)
    )

    _field_trip(world)
    _form_letter(world)

    asked.refresh_from_db()
    assert asked.follow_up_closed_at is None
    [row] = today_for(user=teacher).rows
    assert row.reason is Reason.FOLLOW_UP_DUE


def test_a_notice_does_not_move_the_ratio_of_the_child_the_family_or_the_class(world, teacher, ana, parent):
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.POSITIVE, occurred_at=days_ago(10))
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.CONCERN, occurred_at=days_ago(5))
    before = (
        student_ratio(ana),
        family_ratios(user=teacher, student=ana),
        class_ratio(section=world.section, students=[ana]),
    )

    _field_trip(world, tone=Tone.POSITIVE)
    _field_trip(world, tone=Tone.POSITIVE)

    after = (
        student_ratio(ana),
        family_ratios(user=teacher, student=ana),
        class_ratio(section=world.section, students=[ana]),
    )
    assert after == before
    assert (after[0].positives, after[0].concerns) == (1, 1)


def test_a_positive_notice_keeps_the_child_in_the_good_news_queue(world, teacher, ana):
    assert [due.student for due in today_for(user=teacher).good_news_queue] == [ana]

    _field_trip(world, tone=Tone.POSITIVE)

    today = today_for(user=teacher)
    assert [due.student for due in today.good_news_queue] == [ana]
    assert today.good_news_due == 1


def test_a_family_s_reply_to_a_notice_is_a_personal_contact_in_a_conversation_of_its_own(world, teacher, ana, parent):
    _field_trip(world)
    thread = Thread.objects.get(staff=teacher, guardian=parent)
    assert thread.last_personal_at is None

    reply_from_family(user=world.people["guardian"], thread=thread, body="Can Ana bring a sandwich instead?")

    reply = Interaction.objects.get(direction="from_family")
    assert reply.is_contact
    [row] = today_for(user=teacher).rows
    assert row.last_contact_on == TODAY
    thread.refresh_from_db()
    assert thread.last_personal_at is not None


def test_the_letter_written_for_one_family_is_a_personal_positive_contact(world, teacher, ana, parent):
    asked = with_follow_up_due(
        by=teacher, guardian=parent, student=ana, due_on=TODAY, logged_on=TODAY - datetime.timedelta(days=5)
    )

    send_family_introduction(
        sender=teacher, section=world.section, guardian_id=parent.pk, subject="Hello, Ana's family", body="Dear…"
    )

    letter = Interaction.objects.get(delivery__isnull=False)
    assert (letter.is_contact, letter.tone) == (True, Tone.POSITIVE)
    asked.refresh_from_db()
    assert asked.follow_up_closed_at is not None
    assert student_ratio(ana).positives == 2  # the follow-up's own contact and the letter
    assert not Message.objects.get().to_many


def test_the_form_letter_then_skips_the_family_who_had_their_own(world, teacher, ana, parent):
    _lia, other_parent = pupil(world, "Lia", "Lopez")
    send_family_introduction(sender=teacher, section=world.section, guardian_id=parent.pk, subject="Hi", body="Hello")

    assert _form_letter(world) == 1

    assert Interaction.objects.get(guardian=other_parent).is_notice
    assert Interaction.objects.get(guardian=parent).is_contact


def test_a_second_letter_for_a_family_who_had_one_is_refused(world, teacher, parent):
    send_family_introduction(sender=teacher, section=world.section, guardian_id=parent.pk, subject="Hi", body="Hello")

    with pytest.raises(Exception, match="has had your introduction letter"):
        send_family_introduction(
            sender=teacher, section=world.section, guardian_id=parent.pk, subject="Hi", body="Again"
        )


# --- Where notices still show -------------------------------------------------------------------------------------


def test_a_notice_shows_once_on_the_timeline_of_a_child_with_two_households(world, teacher, ana):
    other_home = GuardianFactory(first_name="Ravi", email="ravi@example.org")
    StudentGuardianFactory(student=ana, guardian=other_home, lives_with_student=False)

    _field_trip(world)

    assert Interaction.objects.filter(student_links__student=ana).count() == 2
    [entry] = student_timeline(student=ana)
    assert entry.is_notice


def test_the_student_page_marks_the_notice_as_to_the_whole_class(client, world, teacher, ana):
    _field_trip(world)
    client.force_login(teacher)

    page = client.get(reverse("students:student_detail", args=[ana.pk])).text

    timeline = page.split('id="timeline-heading"')[1].split("</section>")[0]
    assert timeline.count("Field trip on Friday") == 1
    assert "To the whole class" in timeline


def test_the_record_lists_the_notice_marked_as_one(client, world, ana, parent):
    _field_trip(world)
    client.force_login(world.people["leader"])

    page = client.get(reverse("records:record", args=[ana.pk]), {"for": parent.pk}).text

    assert "Field trip on Friday" in page and "Notice to many families" in page


# --- Pages ---------------------------------------------------------------------------------------------------------


def _today_list(page):
    counts = page.split('<ul class="today-counts">')[1].split("</ul>")[0]
    rows = page.split('<ol class="cards today-list"')[1].split("</ol>")[0]
    queue = page.split('id="good-news-heading"')[1].split("</section>")[0]
    return counts, rows, queue


def test_today_is_the_same_before_and_after_a_class_send(client, world, teacher, ana, parent):
    zed, zed_parent = pupil(world, "Zed", "Zimmer")
    with_follow_up_due(
        by=teacher, guardian=zed_parent, student=zed, due_on=TODAY, logged_on=TODAY - datetime.timedelta(days=7)
    )
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.CONCERN, occurred_at=days_ago(25))
    client.force_login(teacher)
    before = _today_list(client.get(TODAY_URL).text)

    _field_trip(world)
    _form_letter(world)

    assert _today_list(client.get(TODAY_URL).text) == before
    assert re.search(r"<strong>1</strong> follow-up due", before[0])


def test_messages_lists_a_class_message_once_and_a_reply_to_it_as_a_conversation(client, world, teacher, parent):
    for name in ("Lia", "Max", "Noa"):
        pupil(world, name, "Lopez")
    _field_trip(world)
    client.force_login(teacher)

    page = client.get(reverse("communication:conversations")).text
    assert page.count('class="card conversation') == 1
    assert "Field trip on Friday" in page and "to 4 families" in page

    reply_from_family(
        user=world.people["guardian"],
        thread=Thread.objects.get(staff=teacher, guardian=parent),
        body="Thank you, she is excited!",
    )

    page = client.get(reverse("communication:conversations")).text
    assert page.count('class="card conversation') == 2
    assert parent.display_name in page


def test_the_letter_page_offers_each_family_its_own_letter(client, world, teacher, parent):
    client.force_login(teacher)
    url = reverse("communication:family_introduction", args=[world.section.pk, parent.pk])

    assert url in client.get(reverse("communication:introduction_letter", args=[world.section.pk])).text
    form = client.get(url)
    assert form.status_code == 200 and "Ana" in form.context["form"].initial["body"]

    response = client.post(url, {"subject": "Hello from Ana's teacher", "body": "Dear family, I loved meeting Ana."})

    assert response.status_code == 302
    assert Interaction.objects.get().is_contact
    assert client.get(url).status_code == 404  # had it: the form letter's page no longer lists the family


@pytest.mark.parametrize(
    ("person", "status"),
    [("other_teacher", 404), ("counselor", 404), ("leader", 404), ("guardian", 403), ("stranger", 403)],
)
def test_no_one_but_the_class_s_teacher_writes_its_letter_for_a_family(client, world, parent, person, status):
    client.force_login(world.people[person])

    url = reverse("communication:family_introduction", args=[world.section.pk, parent.pk])

    assert client.get(url).status_code == status
    assert client.post(url, {"subject": "Hi", "body": "Hello"}).status_code == status
    assert not Interaction.objects.exists()


def test_the_class_s_teacher_cannot_write_to_a_family_outside_the_class(client, world, teacher):
    outsider = GuardianFactory()
    client.force_login(teacher)

    url = reverse("communication:family_introduction", args=[world.section.pk, outsider.pk])

    assert client.post(url, {"subject": "Hi", "body": "Hello"}).status_code == 404
    assert not Interaction.objects.exists()


# --- The migration -------------------------------------------------------------------------------------------------


def test_marking_existing_copies_as_notices_recounts_as_a_fresh_recount_would(world, teacher, ana, parent):
    """The state before the migration: broadcast copies logged as contacts and counted. Marking them must leave the
    summaries exactly as recounting from scratch does."""
    migration = __import__("communication.migrations.0016_notices_count_for_nothing", fromlist=["mark_notices"])
    zed, zed_parent = pupil(world, "Zed", "Zimmer")
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.CONCERN, occurred_at=days_ago(4))
    asked = with_follow_up_due(
        by=teacher, guardian=zed_parent, student=zed, due_on=TODAY, logged_on=TODAY - datetime.timedelta(days=5)
    )
    _field_trip(world)
    sent_at = Interaction.objects.filter(personal=False).values_list("occurred_at", flat=True).first()
    Interaction.objects.filter(pk=asked.pk).update(follow_up_closed_at=sent_at)  # the old sending closed it
    _form_letter(world)
    send_message(
        sender=teacher, guardian_ids=[parent.pk, zed_parent.pk], subject="Picture day", body="Smile!", tone="neutral"
    )
    Message.objects.update(to_many=False)
    Interaction.objects.update(personal=True)
    Thread.objects.update(last_personal_at=None)  # the column the migration before it adds
    term = ana.school.terms.get(is_current=True)
    recount_contact_summaries(term=term, students=[ana.pk, zed.pk])
    assert ContactSummary.objects.get(student=ana).contacts == 4  # the old counting: every copy a contact

    migration.mark_notices(installed_apps, None)

    after = {s.student_id: s for s in ContactSummary.objects.filter(student__in=[ana, zed])}
    recount_contact_summaries(term=term, students=[ana.pk, zed.pk])
    fresh = {s.student_id: s for s in ContactSummary.objects.filter(student__in=[ana, zed])}
    fields = ("attempts", "contacts", "positives", "neutrals", "concerns", "last_contact_at", "last_contact_tone")
    assert {k: [getattr(v, f) for f in fields] for k, v in after.items()} == {
        k: [getattr(v, f) for f in fields] for k, v in fresh.items()
    }
    assert after[ana.pk].contacts == 1 and after[zed.pk].contacts == 1
    asked.refresh_from_db()
    assert asked.follow_up_closed_at is None
    assert set(Message.objects.values_list("to_many", flat=True)) == {True}
    assert not Interaction.objects.filter(personal=True, delivery__isnull=False).exists()
    assert list(Thread.objects.values_list("last_personal_at", flat=True)) == [None] * Thread.objects.count()


def _student_page_queries(client, ana):
    client.get(reverse("students:student_detail", args=[ana.pk]))  # warm the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("students:student_detail", args=[ana.pk]))
    assert response.status_code == 200
    return len(queries)


def test_the_student_page_reads_a_fixed_number_of_queries_whatever_its_notices_and_contacts(
    client, world, teacher, ana, parent
):
    client.force_login(teacher)
    log(by=teacher, guardian=parent, students=[ana], occurred_at=days_ago(3))
    _field_trip(world)
    few = _student_page_queries(client, ana)

    for days in range(4, 10):
        log(by=teacher, guardian=parent, students=[ana], occurred_at=days_ago(days))
        _field_trip(world, tone=Tone.NEUTRAL)

    assert _student_page_queries(client, ana) == few


def test_the_family_sees_the_notice_in_its_conversation_marked_as_to_the_whole_class(client, world, parent):
    _field_trip(world)
    client.force_login(world.people["guardian"])

    page = client.get(reverse("portal:conversation", args=[Thread.objects.get(guardian=parent).pk])).text

    assert "Field trip on Friday" in page and "To the whole class" in page
