"""The Today list: who to reach first, through `today_for` and through the page a teacher opens each morning."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from audit.models import AccessEvent
from behavior.models import BehaviorNote, Cause
from communication.models import Outcome, Tone
from communication.tests.conftest import TODAY, at, days_ago, log
from communication.today import Reason, today_for
from roster.tests.factories import EnrollmentFactory, StudentGuardianFactory, enroll_class
from students.views import TODAY_PAGE_SIZE

pytestmark = pytest.mark.usefixtures("on_a_wednesday_in_november")

TODAY_URL = reverse("students:today")


def pupil(world, first_name, last_name, *, contactable=True):
    """A student of class 3A with one parent, whom the school may or may not contact."""
    enrollment = EnrollmentFactory(section=world.section, student__first_name=first_name, student__last_name=last_name)
    link = StudentGuardianFactory(student=enrollment.student, contact_allowed=contactable)
    return enrollment.student, link.guardian


def with_follow_up_due(*, by, guardian, student, due_on, logged_on):
    """A follow-up can only be set for today or later: set it on an earlier day, then come back."""
    with time_machine.travel(at(logged_on, 15), tick=False):
        return log(by=by, guardian=guardian, students=[student], occurred_at=at(logged_on, 14), follow_up_on=due_on)


@pytest.fixture
def one_per_reason(world, teacher, ana):
    """Six students of class 3A, one for each reason, named against the order they should come in."""
    zed, zed_parent = pupil(world, "Zed", "Zimmer")
    with_follow_up_due(
        by=teacher,
        guardian=zed_parent,
        student=zed,
        due_on=TODAY - datetime.timedelta(days=2),
        logged_on=TODAY - datetime.timedelta(days=7),
    )
    # Ana, with no contact this term.
    xia, xia_parent = pupil(world, "Xia", "Xu")
    log(by=teacher, guardian=xia_parent, students=[xia], tone=Tone.POSITIVE, occurred_at=days_ago(30))
    wes, wes_parent = pupil(world, "Wes", "Walsh")
    log(by=teacher, guardian=wes_parent, students=[wes], tone=Tone.CONCERN, occurred_at=days_ago(3))
    val, val_parent = pupil(world, "Val", "Vance")
    log(by=teacher, guardian=val_parent, students=[val], tone=Tone.POSITIVE, occurred_at=days_ago(3))
    abe, _ = pupil(world, "Abe", "Adams", contactable=False)
    return [zed, ana, xia, wes, val, abe]


def row_of(page, student):
    """The part of the Today page about one student."""
    rows = page.split("</ol>")[0].split('<li class="card today-row')[1:]
    [row] = [row for row in rows if student.display_name in row]
    return row


# --- Order -------------------------------------------------------------------------------------------------------


def test_today_puts_one_student_of_each_reason_in_order_of_urgency(teacher, one_per_reason):
    rows = today_for(user=teacher).rows

    assert [row.student for row in rows] == one_per_reason
    assert [row.reason for row in rows] == sorted(Reason)


def test_any_slice_of_the_rows_is_that_part_of_the_whole_order(teacher, one_per_reason):
    """Rows are built when read: a page's slice must still be the same students, in the same order."""
    rows = today_for(user=teacher).rows

    assert [row.student for row in rows[2:5]] == one_per_reason[2:5]
    assert rows[-1].student == one_per_reason[-1]
    assert rows[1] is rows[1]  # read twice, one row: family details added to a page stay on it


def test_the_today_page_lists_the_students_in_order_of_urgency(client, teacher, one_per_reason):
    client.force_login(teacher)

    response = client.get(TODAY_URL)

    assert response.status_code == 200
    assert [row.student for row in response.context["rows"]] == one_per_reason
    page = response.content.decode()
    the_list = page[page.index('class="cards today-list"') :]
    positions = [the_list.index(student.display_name) for student in one_per_reason]
    assert positions == sorted(positions)


def test_the_today_page_counts_the_families_of_each_reason(client, teacher, one_per_reason):
    client.force_login(teacher)

    counts = client.get(TODAY_URL).context["today"].counts_by_reason

    assert counts == {reason.name: 1 for reason in Reason}


def test_a_follow_up_comes_back_to_the_top_on_its_day(world, teacher, ana, parent):
    set_on = TODAY - datetime.timedelta(days=3)
    with_follow_up_due(by=teacher, guardian=parent, student=ana, due_on=TODAY, logged_on=set_on)
    [before] = today_for(user=teacher, now=at(TODAY - datetime.timedelta(days=1))).rows
    assert before.reason is Reason.UP_TO_DATE

    [row] = today_for(user=teacher).rows

    assert row.reason is Reason.FOLLOW_UP_DUE
    assert row.follow_up_on == TODAY


def test_a_failed_attempt_leaves_the_family_not_contacted_this_term(client, teacher, ana, parent):
    log(by=teacher, guardian=parent, students=[ana], outcome=Outcome.NO_ANSWER, occurred_at=days_ago(1))
    client.force_login(teacher)

    response = client.get(TODAY_URL)

    [row] = response.context["rows"]
    assert row.reason is Reason.NOT_CONTACTED_THIS_TERM
    assert "1 attempt that did not reach them" in row_of(response.content.decode(), ana)


# --- Cadence is the school's -------------------------------------------------------------------------------------


def test_a_shorter_school_cadence_moves_a_family_up_to_overdue(world, teacher, ana, parent):
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.POSITIVE, occurred_at=days_ago(10))
    [row] = today_for(user=teacher).rows
    assert row.reason is Reason.UP_TO_DATE

    world.school.contact_cadence_days = 10
    world.school.save(update_fields=["contact_cadence_days"])

    [row] = today_for(user=teacher).rows
    assert row.reason is Reason.PAST_CADENCE


def test_a_longer_school_cadence_moves_an_overdue_family_down(world, teacher, ana, parent):
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.POSITIVE, occurred_at=days_ago(25))
    [row] = today_for(user=teacher).rows
    assert row.reason is Reason.PAST_CADENCE

    world.school.contact_cadence_days = 30
    world.school.save(update_fields=["contact_cadence_days"])

    [row] = today_for(user=teacher).rows
    assert row.reason is Reason.UP_TO_DATE


# --- What a row shows --------------------------------------------------------------------------------------------


def test_a_student_whose_only_guardian_may_not_be_contacted_has_no_log_buttons(client, world, teacher, ana):
    abe, _ = pupil(world, "Abe", "Adams", contactable=False)
    client.force_login(teacher)

    page = client.get(TODAY_URL).content.decode()

    row = row_of(page, abe)
    assert "No family member we may contact" in row
    assert "No parent or guardian on file may be contacted about this student" in row
    assert "Share good news" not in row
    assert "Log a contact" not in row
    assert "Share good news" in row_of(page, ana)


def test_a_row_shows_how_and_when_to_reach_the_family_and_the_last_contact(client, teacher, ana, parent):
    parent.preferred_language = "es"
    parent.best_time_to_reach = "After 6 pm on weekdays"
    parent.save(update_fields=["preferred_language", "best_time_to_reach"])
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.POSITIVE, occurred_at=days_ago(3))
    client.force_login(teacher)

    row = row_of(client.get(TODAY_URL).content.decode(), ana)

    assert parent.display_name in row
    assert re.search(r'<span class="badge" lang="es">\s*Spanish\s*</span>', row)
    assert "After 6 pm on weekdays" in row
    assert "Last contact 22 Nov, 3 days ago" in row
    assert '<span class="tone tone-positive">Positive</span>' in row


def test_what_a_family_typed_is_shown_as_text_on_today(client, teacher, ana, parent):
    parent.best_time_to_reach = "<script>alert(1)</script> after 6"
    parent.save(update_fields=["best_time_to_reach"])
    client.force_login(teacher)

    row = row_of(client.get(TODAY_URL).content.decode(), ana)

    assert "&lt;script&gt;alert(1)&lt;/script&gt; after 6" in row
    assert "<script>" not in row


def test_the_last_contact_is_dated_by_the_schools_calendar(client, world, teacher, ana, parent):
    world.school.time_zone = "America/Los_Angeles"
    world.school.save(update_fields=["time_zone"])
    # 23:30 on the 22nd in Los Angeles is the 23rd in New York and in UTC.
    log(
        by=teacher,
        guardian=parent,
        students=[ana],
        occurred_at=at(datetime.date(2026, 11, 22), 23, 30, zone="America/Los_Angeles"),
    )
    client.force_login(teacher)

    row = row_of(client.get(TODAY_URL).content.decode(), ana)

    assert "Last contact 22 Nov, 3 days ago" in row


def test_a_row_never_shows_the_guardian_the_school_may_not_contact(client, teacher, ana, parent, restricted):
    client.force_login(teacher)

    row = row_of(client.get(TODAY_URL).content.decode(), ana)

    assert parent.display_name in row
    assert restricted.display_name not in row
    assert restricted.phone not in row


def test_a_follow_up_due_tomorrow_leaves_the_row_as_it_was(client, teacher, ana, parent):
    log(by=teacher, guardian=parent, students=[ana], follow_up_on=TODAY + datetime.timedelta(days=1), summary="Ask.")
    client.force_login(teacher)

    row = row_of(client.get(TODAY_URL).content.decode(), ana)

    assert "Up to date" in row
    assert "Follow-up due" not in row


# --- Pages -------------------------------------------------------------------------------------------------------


def test_the_today_page_shows_a_page_of_families_at_a_time(client, world, teacher):
    assert TODAY_PAGE_SIZE == 10
    enroll_class(section=world.section, size=14)  # and Ana: 15
    client.force_login(teacher)

    first = client.get(TODAY_URL)
    second = client.get(TODAY_URL, {"page": 2})

    assert len(first.context["rows"]) == 10
    assert "Page 1 of 2" in first.content.decode()
    assert len(second.context["rows"]) == 5
    assert '<ol class="cards today-list" start="11">' in second.content.decode()
    shown = [row.student for row in [*first.context["rows"], *second.context["rows"]]]
    assert len(set(shown)) == 15


@pytest.mark.parametrize("size", [3, 30])
def test_the_today_page_reads_a_fixed_number_of_queries_whatever_the_class_size(
    client, django_assert_num_queries, world, teacher, size
):
    students = [world.student, *enroll_class(section=world.section, size=size - 1)]
    for n, student in enumerate(students):
        guardian = student.guardian_links.filter(contact_allowed=True).first().guardian
        log(by=teacher, guardian=guardian, students=[student], occurred_at=days_ago(n % 40 + 1))
        log(by=teacher, guardian=guardian, students=[student], outcome=Outcome.NO_ANSWER, follow_up_on=TODAY)
        for day in range(3):  # a pattern for each: on the list to reach out early
            BehaviorNote.objects.create(
                student=student, author=teacher, behavior="Left his seat.", occurred_at=days_ago(day)
            ).causes.create(cause=Cause.AVOIDING)
    client.force_login(teacher)
    # session, user, roles, students, summaries, follow-ups, family links of the page, one audit INSERT, the goals
    # whose check-in may be due, the behavior notes of four weeks with their causes and the talks about behavior
    with django_assert_num_queries(12):
        response = client.get(TODAY_URL)
    assert len(response.context["rows"]) == min(size, TODAY_PAGE_SIZE)


def test_opening_today_logs_one_view_per_student_shown(client, world, teacher):
    enroll_class(section=world.section, size=19)
    client.force_login(teacher)

    client.get(TODAY_URL)

    assert AccessEvent.objects.filter(actor=teacher, what="Today list").count() == TODAY_PAGE_SIZE


# --- Who has a Today list ----------------------------------------------------------------------------------------


def test_a_family_may_not_open_today(client, world):
    client.force_login(world.people["guardian"])

    assert client.get(TODAY_URL).status_code == 403


def test_a_counselor_sees_the_families_of_their_caseload(client, world):
    client.force_login(world.people["counselor"])

    response = client.get(TODAY_URL)

    assert response.status_code == 200
    assert [row.student for row in response.context["rows"]] == [world.student]


def test_a_leader_who_teaches_no_class_has_an_empty_today_not_the_whole_school(client, world):
    client.force_login(world.people["leader"])

    response = client.get(TODAY_URL)

    assert response.status_code == 200
    assert response.context["rows"] == []
    assert "You have no students in a class or caseload this term." in response.content.decode()
