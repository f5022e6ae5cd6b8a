"""seed_district at a small size: the rows it reports are there, and they make a world the pages can trust."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Exists, OuterRef, Q

from accounts.models import User
from communication.models import ContactSummary, Interaction, InteractionStudent, Outcome
from communication.selectors import term_bounds
from roster.access import students_in_care_of
from roster.models import District, Enrollment, Guardian, Role, Section, StaffRole, Student, StudentGuardian, Term
from roster.phone import validate_e164
from seeding.district import (
    DISTRICT_NAME,
    TEACHER150_EMAIL,
    DistrictExistsError,
    DistrictReport,
    build_district,
)

NOW = datetime.datetime(2026, 11, 25, 15, 0, tzinfo=datetime.UTC)
STUDENTS, INTERACTIONS = 300, 3000


@pytest.fixture
def district(db: None) -> DistrictReport:
    return build_district(students=STUDENTS, interactions=INTERACTIONS, seed=7, now=NOW)


def test_it_builds_the_rows_it_reports(district: DistrictReport) -> None:
    assert district.students == Student.objects.count() == STUDENTS
    assert district.interactions == Interaction.objects.count() == INTERACTIONS
    assert district.interaction_students == InteractionStudent.objects.count()
    assert district.guardians == Guardian.objects.count()
    assert district.guardian_links == StudentGuardian.objects.count()
    assert district.sections == Section.objects.count()
    assert district.enrollments == Enrollment.objects.count() == STUDENTS + 150
    assert district.teachers == StaffRole.objects.filter(role=Role.TEACHER).count()
    assert district.schools == 1
    assert Term.objects.filter(is_current=True).count() == 1
    assert Term.objects.filter(is_current=False).count() == 1


def test_every_student_has_one_homeroom_and_a_contactable_guardian(district: DistrictReport) -> None:
    homerooms = Count("enrollments", filter=~Q(enrollments__section__code__startswith="SCI-"))
    assert set(Student.objects.annotate(homerooms=homerooms).values_list("homerooms", flat=True)) == {1}
    contactable = StudentGuardian.objects.filter(student=OuterRef("pk"), contact_allowed=True)
    assert not Student.objects.exclude(Exists(contactable)).exists()


def test_teacher150_has_150_students_in_their_care(district: DistrictReport) -> None:
    teacher = User.objects.get(email=TEACHER150_EMAIL)
    assert students_in_care_of(teacher).count() == 150
    assert sorted(teacher.sections_taught.annotate(size=Count("students")).values_list("size", flat=True)) == [30] * 5


def test_teacher150_has_families_to_reach_for_every_reason(district: DistrictReport) -> None:
    profile = district.teacher150
    assert profile.students == 150
    assert 0 < profile.not_contacted_this_term < 150
    assert 0 < profile.past_cadence < 150
    assert 0 < profile.follow_ups_due < 150


def test_summaries_agree_with_the_log(district: DistrictReport) -> None:
    busiest = Student.objects.annotate(n=Count("interaction_links")).order_by("-n", "id")[:5]
    quietest = Student.objects.annotate(n=Count("interaction_links")).order_by("n", "id")[:5]
    for student in [*busiest, *quietest]:
        for term in Term.objects.select_related("school"):
            summary = ContactSummary.objects.filter(student=student, term=term).first()
            assert _counts(summary) == _recount_from_log(student, term), (student.pk, term.name)


def _counts(summary: ContactSummary | None) -> dict[str, object] | None:
    if summary is None:
        return None
    names = ("attempts", "contacts", "positives", "neutrals", "concerns", "last_contact_at", "last_contact_tone")
    return {name: getattr(summary, name) for name in (*names, "last_attempt_at")}


def _recount_from_log(student: Student, term: Term) -> dict[str, object] | None:
    starts_at, ends_at = term_bounds(term, term.school)
    log = list(
        Interaction.objects.filter(
            student_links__student=student, occurred_at__gte=starts_at, occurred_at__lt=ends_at
        ).order_by("occurred_at", "id")
    )
    if not log:
        return None
    reached = [i for i in log if i.outcome == Outcome.REACHED]
    return {
        "attempts": len(log),
        "contacts": len(reached),
        "positives": sum(i.tone == "positive" for i in reached),
        "neutrals": sum(i.tone == "neutral" for i in reached),
        "concerns": sum(i.tone == "concern" for i in reached),
        "last_contact_at": reached[-1].occurred_at if reached else None,
        "last_contact_tone": reached[-1].tone if reached else "",
        "last_attempt_at": log[-1].occurred_at,
    }


def test_every_interaction_is_with_a_guardian_who_may_be_contacted_about_its_students(
    district: DistrictReport,
) -> None:
    allowed = StudentGuardian.objects.filter(
        student=OuterRef("student"), guardian=OuterRef("interaction__guardian"), contact_allowed=True
    )
    assert InteractionStudent.objects.filter(Exists(allowed)).count() == district.interaction_students
    assert InteractionStudent.objects.values("interaction").annotate(n=Count("id")).filter(n=2).exists()  # siblings


def test_every_interaction_is_logged_by_a_teacher_of_its_student(district: DistrictReport) -> None:
    teaches = Enrollment.objects.filter(
        student=OuterRef("student"), section__teachers=OuterRef("interaction__logged_by")
    )
    first_students = InteractionStudent.objects.filter(Exists(teaches)).values("interaction").distinct()
    assert first_students.count() == INTERACTIONS


def test_the_log_falls_within_the_terms_and_before_now(district: DistrictReport) -> None:
    previous = datetime.datetime(2025, 8, 25, 4, tzinfo=datetime.UTC)
    assert not Interaction.objects.filter(occurred_at__lt=previous).exists()
    assert not Interaction.objects.filter(occurred_at__gt=NOW).exists()
    assert not Interaction.objects.filter(created_at__gt=NOW).exists()
    summer = (
        datetime.datetime(2026, 6, 20, 4, tzinfo=datetime.UTC),
        datetime.datetime(2026, 8, 24, 4, tzinfo=datetime.UTC),
    )
    assert not Interaction.objects.filter(occurred_at__range=summer).exists()


def test_some_family_links_are_restricted(district: DistrictReport) -> None:
    restricted = StudentGuardian.objects.filter(contact_allowed=False, portal_access_allowed=False)
    assert restricted.count() == district.restricted_links > 0
    assert not restricted.filter(is_primary_contact=True).exists()


def test_family_details_are_stored_as_the_app_stores_them(district: DistrictReport) -> None:
    for phone in Guardian.objects.exclude(phone="").values_list("phone", flat=True)[:100]:
        validate_e164(phone)
    assert set(Guardian.objects.values_list("preferred_language", flat=True)) >= {"en", "es"}
    assert not Guardian.objects.exclude(email="").exclude(email__regex=r"^[a-z0-9.]+@[a-z.]+$").exists()


def test_it_refuses_to_build_the_district_twice(district: DistrictReport) -> None:
    assert District.objects.filter(name=DISTRICT_NAME).count() == 1
    with pytest.raises(DistrictExistsError):
        build_district(students=STUDENTS, interactions=10, seed=8, now=NOW)
    with pytest.raises(CommandError, match="already exists"):
        call_command("seed_district", students=STUDENTS, interactions=10, stdout=StringIO())
    assert Student.objects.count() == STUDENTS


def test_the_command_reports_what_it_built(db: None) -> None:
    assert not District.objects.exists()
    out = StringIO()
    call_command("seed_district", students=200, interactions=500, seed=3, stdout=out)
    assert "200 students" in out.getvalue()
    assert "500 interactions" in out.getvalue()
    assert TEACHER150_EMAIL in out.getvalue()
    assert Interaction.objects.count() == 500


def test_an_interaction_saved_after_seeding_gets_a_new_id(district: DistrictReport) -> None:
    # The log is written with explicit ids: PostgreSQL's sequence must have been moved past them.
    seeded = Interaction.objects.order_by("-id").first()
    assert seeded is not None
    later = Interaction.objects.create(
        guardian=seeded.guardian,
        logged_by=seeded.logged_by,
        channel="call",
        tone="positive",
        summary="Hi.",
        occurred_at=NOW,
    )  # an IntegrityError here: the sequence handed out an id the seed had used
    assert later.pk > seeded.pk
