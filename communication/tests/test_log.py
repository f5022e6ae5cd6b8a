"""Writing the communication log: what each contact counts for, in which term, for whom, and who may log it."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AccessEvent, AuditAction
from communication.forms import LogContactForm
from communication.models import ContactSummary, Interaction, Outcome, Tone
from communication.selectors import class_ratio, family_ratios, student_ratio
from communication.services import recount_contact_summaries
from communication.tests.conftest import NOW, TODAY, at, days_ago, log
from communication.today import today_for, with_family_links
from roster.models import Term
from roster.tests.factories import EnrollmentFactory, StudentGuardianFactory, TermFactory

pytestmark = pytest.mark.usefixtures("on_a_wednesday_in_november")


def current_summary(student):
    return ContactSummary.objects.filter(student=student, term__is_current=True).first()


def counts(summary):
    return {name: getattr(summary, name) for name in ("attempts", "contacts", "positives", "neutrals", "concerns")}


@pytest.fixture
def sibling(world, parent):
    """Ana's brother Leo, in the same class, with the same parent."""
    leo = EnrollmentFactory(section=world.section, student__first_name="Leo").student
    StudentGuardianFactory(student=leo, guardian=parent)
    return leo


@pytest.fixture
def previous_term(world):
    return TermFactory(
        school=world.school,
        name="2025-26",
        starts_on=datetime.date(2025, 8, 25),
        ends_on=datetime.date(2026, 6, 19),
        is_current=False,
    )


# --- What a contact counts for -----------------------------------------------------------------------------------


def test_a_positive_call_that_reached_the_family_is_counted_in_the_term_summary(teacher, ana, parent):
    assert current_summary(ana) is None

    call = log(by=teacher, guardian=parent, students=[ana], tone=Tone.POSITIVE, occurred_at=days_ago(2))

    summary = current_summary(ana)
    assert counts(summary) == {"attempts": 1, "contacts": 1, "positives": 1, "neutrals": 0, "concerns": 0}
    assert summary.last_contact_at == call.occurred_at
    assert summary.last_contact_tone == Tone.POSITIVE
    assert summary.term == Term.objects.get(school=ana.school, is_current=True)


def test_a_call_with_no_answer_is_kept_as_an_attempt_but_not_counted_as_a_contact(teacher, ana, parent):
    call = log(by=teacher, guardian=parent, students=[ana], outcome=Outcome.NO_ANSWER, occurred_at=days_ago(2))

    assert Interaction.objects.get() == call
    summary = current_summary(ana)
    assert counts(summary) == {"attempts": 1, "contacts": 0, "positives": 0, "neutrals": 0, "concerns": 0}
    assert summary.last_contact_at is None
    assert summary.last_contact_tone == ""
    assert summary.last_attempt_at == call.occurred_at


def test_the_last_contact_is_the_last_one_that_reached_the_family_not_the_last_attempt(teacher, ana, parent):
    reached = log(by=teacher, guardian=parent, students=[ana], tone=Tone.CONCERN, occurred_at=days_ago(5))
    attempt = log(by=teacher, guardian=parent, students=[ana], outcome=Outcome.VOICEMAIL, occurred_at=days_ago(1))

    summary = current_summary(ana)
    assert (summary.last_contact_at, summary.last_contact_tone) == (reached.occurred_at, Tone.CONCERN)
    assert summary.last_attempt_at == attempt.occurred_at


def test_a_neutral_contact_counts_as_a_contact_but_not_in_the_ratio(teacher, ana, parent):
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.NEUTRAL)

    assert current_summary(ana).neutrals == 1
    ratio = student_ratio(ana)
    assert (ratio.positives, ratio.concerns, ratio.has_contacts) == (0, 0, False)


def test_a_call_about_two_siblings_counts_for_each_of_them(teacher, ana, sibling, parent):
    log(by=teacher, guardian=parent, students=[ana, sibling], tone=Tone.POSITIVE)

    assert current_summary(ana).positives == 1
    assert current_summary(sibling).positives == 1
    assert student_ratio(sibling).positives == 1


def test_a_call_about_two_siblings_in_one_class_counts_once_in_the_class_ratio(world, teacher, ana, sibling, parent):
    log(by=teacher, guardian=parent, students=[ana, sibling], tone=Tone.POSITIVE)
    log(by=teacher, guardian=parent, students=[ana, sibling], tone=Tone.CONCERN)

    ratio = class_ratio(section=world.section, students=[ana, sibling]).ratio
    assert (ratio.positives, ratio.concerns) == (1, 1)


def test_the_service_refuses_a_contact_more_than_five_minutes_ahead(teacher, ana, parent):
    with pytest.raises(ValidationError) as refused:
        log(by=teacher, guardian=parent, students=[ana], occurred_at=NOW + datetime.timedelta(minutes=6))
    assert "occurred_at" in refused.value.message_dict
    assert not Interaction.objects.exists()

    log(by=teacher, guardian=parent, students=[ana], occurred_at=NOW + datetime.timedelta(minutes=4))
    assert Interaction.objects.count() == 1


def test_a_contact_about_no_student_is_refused(teacher, parent):
    with pytest.raises(ValidationError):
        log(by=teacher, guardian=parent, students=[])
    assert not Interaction.objects.exists()


def test_a_parent_of_two_children_in_the_class_is_one_choice_and_both_children_are_offered(
    teacher, ana, sibling, parent
):
    form = LogContactForm(user=teacher, student=ana)

    assert list(form.fields["guardian"].queryset) == [parent]
    assert set(form.fields["students"].queryset) == {ana, sibling}
    assert form.fields["students"].initial == [ana.pk]


# --- Which term a contact belongs to -----------------------------------------------------------------------------


@pytest.fixture
def pacific(world):
    """The school moved to Pacific time: three hours behind the server's New York."""
    world.school.time_zone = "America/Los_Angeles"
    world.school.save(update_fields=["time_zone"])
    return "America/Los_Angeles"


def test_a_contact_late_on_the_last_day_of_the_previous_term_counts_in_that_term(
    teacher, ana, parent, previous_term, pacific
):
    # 23:30 in Los Angeles on 19 June is already 20 June in New York and in UTC.
    log(by=teacher, guardian=parent, students=[ana], occurred_at=at(previous_term.ends_on, 23, 30, zone=pacific))

    assert ContactSummary.objects.get(student=ana).term == previous_term


def test_a_contact_late_on_the_day_before_the_term_starts_counts_in_no_term(teacher, ana, parent, pacific):
    # 23:30 in Los Angeles on 23 August is already 24 August, the term's first day, in New York and in UTC.
    log(by=teacher, guardian=parent, students=[ana], occurred_at=at(datetime.date(2026, 8, 23), 23, 30, zone=pacific))

    assert Interaction.objects.count() == 1
    assert not ContactSummary.objects.exists()


def test_a_contact_just_after_midnight_on_the_first_day_of_the_term_counts_in_it(teacher, ana, parent, pacific):
    log(by=teacher, guardian=parent, students=[ana], occurred_at=at(datetime.date(2026, 8, 24), 0, 30, zone=pacific))

    assert current_summary(ana).positives == 1
    assert student_ratio(ana).positives == 1


def test_a_contact_in_the_summer_holidays_counts_in_no_term(teacher, ana, parent, previous_term):
    log(by=teacher, guardian=parent, students=[ana], occurred_at=at(datetime.date(2026, 7, 15)))

    assert Interaction.objects.count() == 1
    assert not ContactSummary.objects.exists()
    assert student_ratio(ana).has_contacts is False


def test_a_contact_of_the_previous_term_leaves_this_terms_list_saying_not_contacted(
    teacher, ana, parent, previous_term
):
    log(by=teacher, guardian=parent, students=[ana], occurred_at=at(datetime.date(2026, 6, 1)))

    [row] = [row for row in today_for(user=teacher).rows if row.student == ana]
    assert row.reason.name == "NOT_CONTACTED_THIS_TERM"
    assert row.last_contact_on is None


# --- Two households ----------------------------------------------------------------------------------------------


def test_each_household_has_its_own_ratio_while_the_student_ratio_counts_both(teacher, ana, parent):
    other_home = StudentGuardianFactory(student=ana, is_primary_contact=False, lives_with_student=False).guardian
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.POSITIVE)
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.POSITIVE)
    log(by=teacher, guardian=other_home, students=[ana], tone=Tone.CONCERN)

    by_guardian = {family.guardian: family.ratio for family in family_ratios(user=teacher, student=ana)}
    assert (by_guardian[parent].positives, by_guardian[parent].concerns) == (2, 0)
    assert (by_guardian[other_home].positives, by_guardian[other_home].concerns) == (0, 1)
    ratio = student_ratio(ana)
    assert (ratio.positives, ratio.concerns) == (2, 1)


# --- Who may be contacted, and by whom ---------------------------------------------------------------------------


def test_a_contact_with_a_guardian_the_school_may_not_contact_is_refused(teacher, ana, parent, restricted):
    with pytest.raises(PermissionDenied):
        log(by=teacher, guardian=restricted, students=[ana])
    assert not Interaction.objects.exists()

    log(by=teacher, guardian=parent, students=[ana])
    assert Interaction.objects.count() == 1


def test_a_teacher_who_does_not_see_the_student_may_not_log_a_contact(world, teacher, ana, parent):
    with pytest.raises(PermissionDenied):
        log(by=world.people["other_teacher"], guardian=parent, students=[ana])
    assert not Interaction.objects.exists()

    log(by=teacher, guardian=parent, students=[ana])
    assert Interaction.objects.count() == 1


def test_a_call_about_two_children_is_refused_when_the_teacher_sees_only_one(world, teacher, ana, parent):
    ben = world.other_student  # in 3B, another teacher's class
    StudentGuardianFactory(student=ben, guardian=parent, is_primary_contact=False)

    with pytest.raises(PermissionDenied):
        log(by=teacher, guardian=parent, students=[ana, ben])
    assert not Interaction.objects.exists()


def test_the_restricted_guardian_has_no_ratio_of_their_own(teacher, ana, parent, restricted):
    log(by=teacher, guardian=parent, students=[ana])

    assert [family.guardian for family in family_ratios(user=teacher, student=ana)] == [parent]


def test_the_restricted_guardian_is_not_a_choice_on_the_log_form(teacher, ana, parent, restricted):
    form = LogContactForm(user=teacher, student=ana)

    assert list(form.fields["guardian"].queryset) == [parent]


def test_the_restricted_guardian_is_not_on_the_today_row(teacher, ana, parent, restricted):
    rows = with_family_links(rows=today_for(user=teacher).rows)

    [row] = [row for row in rows if row.student == ana]
    assert [link.guardian for link in row.family_links] == [parent]


# --- Follow-ups --------------------------------------------------------------------------------------------------


def test_a_contact_that_reached_the_family_closes_the_teachers_open_follow_up(teacher, ana, parent):
    asked = log(by=teacher, guardian=parent, students=[ana], follow_up_on=TODAY, summary="Call back about reading.")
    assert asked.follow_up_closed_at is None

    done = log(by=teacher, guardian=parent, students=[ana], occurred_at=days_ago(0, hour=9))

    asked.refresh_from_db()
    assert asked.follow_up_closed_at == done.occurred_at


def test_a_contact_does_not_close_another_staff_members_follow_up(world, teacher, ana, parent):
    counselor = world.people["counselor"]  # Ana is on their caseload
    theirs = log(by=counselor, guardian=parent, students=[ana], follow_up_on=TODAY)

    log(by=teacher, guardian=parent, students=[ana], occurred_at=days_ago(0, hour=9))

    theirs.refresh_from_db()
    assert theirs.follow_up_closed_at is None


def test_a_failed_attempt_does_not_close_a_follow_up(teacher, ana, parent):
    asked = log(by=teacher, guardian=parent, students=[ana], follow_up_on=TODAY)

    log(by=teacher, guardian=parent, students=[ana], outcome=Outcome.NO_ANSWER, occurred_at=days_ago(0, hour=9))

    asked.refresh_from_db()
    assert asked.follow_up_closed_at is None


def test_a_contact_logged_with_a_follow_up_keeps_its_own_follow_up_open(teacher, ana, parent):
    contact = log(by=teacher, guardian=parent, students=[ana], follow_up_on=TODAY)

    contact.refresh_from_db()
    assert contact.follow_up_closed_at is None


def test_a_contact_back_dated_before_a_follow_up_was_set_does_not_close_it(teacher, ana, parent):
    asked = log(by=teacher, guardian=parent, students=[ana], occurred_at=days_ago(1), follow_up_on=TODAY)

    log(by=teacher, guardian=parent, students=[ana], occurred_at=days_ago(10), summary="Forgot to log this one.")

    asked.refresh_from_db()
    assert asked.follow_up_closed_at is None


# --- Audit -------------------------------------------------------------------------------------------------------


def test_logging_a_contact_writes_one_access_event_per_student(teacher, ana, sibling, parent):
    assert not AccessEvent.objects.filter(actor=teacher).exists()

    log(by=teacher, guardian=parent, students=[ana, sibling])

    events = AccessEvent.objects.filter(actor=teacher)
    assert sorted(event.student_id for event in events) == sorted([ana.pk, sibling.pk])
    assert {event.action for event in events} == {AuditAction.CHANGED}


def test_a_refused_contact_writes_no_access_event(teacher, ana, restricted):
    with pytest.raises(PermissionDenied):
        log(by=teacher, guardian=restricted, students=[ana])

    assert not AccessEvent.objects.filter(actor=teacher).exists()


# --- Recounting --------------------------------------------------------------------------------------------------


def summary_rows():
    return list(
        ContactSummary.objects.order_by("student_id", "term_id").values(
            "student_id",
            "term_id",
            "attempts",
            "contacts",
            "positives",
            "neutrals",
            "concerns",
            "last_contact_at",
            "last_contact_tone",
            "last_attempt_at",
        )
    )


@pytest.fixture
def busy_term(world, teacher, ana, sibling, parent):
    log(by=teacher, guardian=parent, students=[ana, sibling], tone=Tone.POSITIVE, occurred_at=days_ago(30))
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.CONCERN, occurred_at=days_ago(20))
    log(by=teacher, guardian=parent, students=[sibling], tone=Tone.NEUTRAL, occurred_at=days_ago(10))
    log(by=teacher, guardian=parent, students=[ana], outcome=Outcome.WRONG_NUMBER, occurred_at=days_ago(2))
    return Term.objects.get(school=world.school, is_current=True)


def test_recounting_twice_changes_nothing(busy_term, ana, sibling):
    before = summary_rows()

    assert recount_contact_summaries(term=busy_term, students=[ana.pk, sibling.pk]) == 2
    assert recount_contact_summaries(term=busy_term, students=[ana.pk, sibling.pk]) == 2

    assert summary_rows() == before


def test_the_summaries_kept_while_logging_match_a_recount_from_scratch(busy_term, ana, sibling):
    kept = summary_rows()
    ContactSummary.objects.all().delete()

    recount_contact_summaries(term=busy_term, students=[ana.pk, sibling.pk])

    assert summary_rows() == kept
    assert [(row["attempts"], row["contacts"]) for row in kept] == [(3, 2), (2, 2)]
