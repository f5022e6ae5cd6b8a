"""The people of a small world, named after who they are: see roster/tests/factories.py for how it is built."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.core.cache import cache
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from accounts.models import User
from homeroom.testing import FakeLibreTranslate, Mailbox, free_port
from roster.models import Role, School, Section, Student
from roster.tests.factories import (
    CaseloadAssignmentFactory,
    EnrollmentFactory,
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffRoleFactory,
    StudentGuardianFactory,
    UserFactory,
)

# Property-based tests: the same examples every run (a failure in CI is a failure here), none kept on disk, no
# deadline (a query's time varies on a busy machine); a database fixture is shared by a test's examples on purpose.
hypothesis_settings.register_profile(
    "homeroom",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
hypothesis_settings.load_profile("homeroom")


@dataclass
class World:
    school: School
    other_school: School
    section: Section
    student: Student
    other_student: Student  # same school, another class and family
    far_student: Student  # another school of the same district
    people: dict[str, User]


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    # Rate limits (allauth's, the public pages') and login codes live in the in-process cache, which outlives a test.
    cache.clear()


@pytest.fixture
def world(db: None) -> World:
    school = SchoolFactory(name="Maple Elementary")
    other_school = SchoolFactory(name="Oak Middle", district=school.district)
    section = SectionFactory(term__school=school, name="3A")
    other_section = SectionFactory(term=section.term, name="3B")
    far_section = SectionFactory(term__school=other_school, name="7C")

    student = EnrollmentFactory(section=section, student__first_name="Ana").student
    other_student = EnrollmentFactory(section=other_section, student__first_name="Ben").student
    far_student = EnrollmentFactory(section=far_section, student__first_name="Cy").student

    def staff(email: str, role: str, **scope: object) -> User:
        return StaffRoleFactory(
            user__email=email, user__full_name=email.split("@")[0].replace(".", " ").title(), role=role, **scope
        ).user

    teacher = staff("teacher@example.org", Role.TEACHER, school=school)
    section.teachers.add(teacher)
    other_teacher = staff("other.teacher@example.org", Role.TEACHER, school=school)
    other_section.teachers.add(other_teacher)
    far_teacher = staff("far.teacher@example.org", Role.TEACHER, school=other_school)
    far_section.teachers.add(far_teacher)
    counselor = staff("counselor@example.org", Role.COUNSELOR, school=school)
    CaseloadAssignmentFactory(counselor=counselor, student=student)
    leader = staff("leader@example.org", Role.LEADER, school=school)
    other_leader = staff("other.leader@example.org", Role.LEADER, school=other_school)
    district_admin = staff("district@example.org", Role.DISTRICT_ADMIN, school=None, district=school.district)

    def family(email: str, child: Student, **link_flags: bool) -> User:
        guardian = GuardianFactory(email=email)
        guardian.user = UserFactory(email=email, full_name=guardian.display_name)
        guardian.save(update_fields=["user"])
        StudentGuardianFactory(student=child, guardian=guardian, **link_flags)
        return guardian.user

    guardian = family("guardian@example.org", student)
    restricted_guardian = family(
        "restricted@example.org", student, contact_allowed=False, portal_access_allowed=False, is_primary_contact=False
    )
    other_family = family("other.family@example.org", other_student)
    stranger = UserFactory(email="stranger@example.org")

    people = {
        "teacher": teacher,
        "other_teacher": other_teacher,
        "far_teacher": far_teacher,
        "counselor": counselor,
        "leader": leader,
        "other_leader": other_leader,
        "district_admin": district_admin,
        "guardian": guardian,
        "restricted_guardian": restricted_guardian,
        "other_family": other_family,
        "stranger": stranger,
    }
    return World(school, other_school, section, student, other_student, far_student, people)


@pytest.fixture
def people(world: World) -> dict[str, User]:
    return world.people


# --- Real SMTP: an aiosmtpd server on 127.0.0.1 that keeps what it is given ---------------------------------------


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[Controller, Mailbox], settings: Any) -> Mailbox:
    """Mail the live server sends goes over SMTP to the local server; returns what it received in this test."""
    controller, mailbox = smtp_server
    mailbox.messages.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    return mailbox


@pytest.fixture
def libretranslate(settings: Any) -> Iterator[FakeLibreTranslate]:
    """Machine translation by a LibreTranslate stand-in on 127.0.0.1."""
    fake = FakeLibreTranslate()
    settings.HOMEROOM_TRANSLATION_BACKEND = "libretranslate"
    settings.LIBRETRANSLATE_URL = fake.url
    yield fake
    fake.stop()
