import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from accounts.models import User
from roster.access import students_visible_to
from roster.models import CaseloadAssignment, Guardian, Role, School, Section, StaffRole, Student, StudentGuardian
from roster.phone import normalize_phone
from roster.tests.factories import SchoolFactory, UserFactory

SIX_LANGUAGES = {"en", "es", "zh-hans", "vi", "ar", "ht"}


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_demo_school_is_the_same_on_every_run_with_every_kind_of_family() -> None:
    # One seed for all these facts: the seed takes seconds.
    assert not School.objects.exists()

    output = run("seed_demo")

    assert "Seeded Riverside Elementary & Middle School: 300 students, 12 classes," in output
    school = School.objects.get()
    assert (school.name, school.district.name, school.time_zone) == (
        "Riverside Elementary & Middle School",
        "Riverside Unified School District",
        "America/New_York",
    )
    assert school.terms.get(is_current=True).name == "2026\u201327"

    # Classes: 300 students in 12 classes, each student in one class, each class with a teacher, some with two.
    assert Student.objects.count() == 300
    sections = Section.objects.annotate(
        n_students=Count("students", distinct=True), n_teachers=Count("teachers", distinct=True)
    )
    assert len(sections) == 12
    assert all(section.n_students >= 20 for section in sections)
    assert all(section.n_teachers >= 1 for section in sections)
    assert sum(section.n_teachers == 2 for section in sections) == 3
    assert sorted({section.grade_level for section in sections}) == list(range(9))
    assert not Student.objects.annotate(n=Count("enrollments")).exclude(n=1).exists()

    # Determinism: fixed names and a fixed seed give the same students in the same order.
    by_number = Student.objects.order_by("student_number")
    assert [s.display_name for s in by_number[:6]] == [
        "Ava Johnson",
        "Noah Johnson",
        "Mateo Hernández",
        "Lily Miller",
        "Santiago Ruiz",
        "Isaiah Wilson",
    ]
    assert (by_number.last().student_number, by_number.last().display_name) == ("260300", "Victoria Díaz")

    # Families: six languages, a way to reach every guardian, siblings, two households, one no-contact order.
    assert set(Guardian.objects.values_list("preferred_language", flat=True)) == SIX_LANGUAGES
    assert not Guardian.objects.filter(email="", phone="").exists()
    assert all(
        normalize_phone(phone) == phone for phone in Guardian.objects.exclude(phone="").values_list("phone", flat=True)
    )
    assert Guardian.objects.annotate(n=Count("student_links")).filter(n=2).exists()
    assert StudentGuardian.objects.filter(lives_with_student=False).count() > 10
    no_contact = StudentGuardian.objects.get(contact_allowed=False)
    assert (no_contact.guardian.email, no_contact.portal_access_allowed, no_contact.lives_with_student) == (
        "restricted@example.org",
        False,
        False,
    )
    assert no_contact.student.guardian_links.filter(contact_allowed=True, lives_with_student=True).exists()

    # Staff: one shared password, the right roles, a caseload of 15.
    staff = {
        role: User.objects.get(email=f"{role}@example.org") for role in ("teacher", "counselor", "leader", "district")
    }
    assert all(user.check_password("homeroom-demo") for user in staff.values())
    assert StaffRole.objects.get(user=staff["district"]).role == Role.DISTRICT_ADMIN
    assert StaffRole.objects.get(user=staff["district"]).school is None
    assert StaffRole.objects.get(user=staff["leader"]).role == Role.LEADER
    assert staff["leader"].is_staff
    assert not staff["teacher"].is_staff
    assert CaseloadAssignment.objects.filter(counselor=staff["counselor"]).count() == 15

    # What the named people see.
    parent, padre, restricted = (User.objects.get(email=f"{n}@example.org") for n in ("parent", "padre", "restricted"))
    assert (parent.language, padre.language) == ("en", "es")
    assert {s.display_name for s in students_visible_to(parent)} == {"Ava Johnson", "Noah Johnson"}
    assert {s.display_name for s in students_visible_to(padre)} == {"Mateo Hernández"}
    assert not students_visible_to(restricted).exists()
    assert students_visible_to(staff["teacher"]).filter(pk=no_contact.student.pk).exists()
    assert students_visible_to(staff["leader"]).count() == 300

    # make run prints the sign-ins.
    signins = run("demo_signins")
    for email in ("teacher", "counselor", "leader", "district", "parent", "padre", "restricted"):
        assert f"{email}@example.org" in signins
    assert "homeroom-demo" in signins


@pytest.mark.django_db
def test_if_empty_leaves_a_database_with_a_school_alone() -> None:
    SchoolFactory()

    output = run("seed_demo", "--if-empty")

    assert output == "The database already has a school; demo not loaded.\n"
    assert School.objects.count() == 1
    assert not Student.objects.exists()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_without_if_empty_a_database_with_a_school_is_an_error() -> None:
    SchoolFactory()

    with pytest.raises(CommandError, match="already has a school"):
        run("seed_demo")

    assert not Student.objects.exists()


@pytest.mark.django_db
def test_demo_signins_prints_nothing_without_the_demo_school() -> None:
    SchoolFactory()

    assert run("demo_signins") == ""


@pytest.mark.django_db
def test_a_taken_demo_email_stops_the_seed_with_nothing_written() -> None:
    UserFactory(email="leader@example.org")

    with pytest.raises(CommandError, match="could not be loaded"):
        run("seed_demo")

    assert not School.objects.exists()
    assert User.objects.count() == 1
