"""Factories that build valid worlds: related rows stay in one school unless a test says otherwise."""

import datetime

import factory
from factory.django import DjangoModelFactory

from accounts.models import User
from roster.models import (
    CaseloadAssignment,
    District,
    Enrollment,
    Guardian,
    Relationship,
    Role,
    School,
    Section,
    StaffRole,
    Student,
    StudentGuardian,
    Term,
)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name")
    password = factory.django.Password("correct horse battery")


class DistrictFactory(DjangoModelFactory):
    class Meta:
        model = District

    name = factory.Sequence(lambda n: f"District {n}")


class SchoolFactory(DjangoModelFactory):
    class Meta:
        model = School

    district = factory.SubFactory(DistrictFactory)
    name = factory.Sequence(lambda n: f"School {n}")


class TermFactory(DjangoModelFactory):
    class Meta:
        model = Term

    school = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"Term {n}")
    starts_on = datetime.date(2026, 8, 24)
    ends_on = datetime.date(2027, 6, 18)
    is_current = True


class SectionFactory(DjangoModelFactory):
    class Meta:
        model = Section

    term = factory.SubFactory(TermFactory)
    name = factory.Sequence(lambda n: f"Class {n}")
    code = factory.Sequence(lambda n: f"C{n}")
    grade_level = 3


class StudentFactory(DjangoModelFactory):
    class Meta:
        model = Student

    school = factory.SubFactory(SchoolFactory)
    student_number = factory.Sequence(lambda n: f"S{n:05d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    grade_level = 3


class EnrollmentFactory(DjangoModelFactory):
    class Meta:
        model = Enrollment

    section = factory.SubFactory(SectionFactory)
    student = factory.SubFactory(StudentFactory, school=factory.SelfAttribute("..section.term.school"))


class GuardianFactory(DjangoModelFactory):
    class Meta:
        model = Guardian

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"family{n}@example.org")
    phone = factory.Sequence(lambda n: f"+1617555{n % 10000:04d}")


class StudentGuardianFactory(DjangoModelFactory):
    class Meta:
        model = StudentGuardian

    student = factory.SubFactory(StudentFactory)
    guardian = factory.SubFactory(GuardianFactory)
    relationship = Relationship.PARENT
    is_primary_contact = True


class StaffRoleFactory(DjangoModelFactory):
    class Meta:
        model = StaffRole

    user = factory.SubFactory(UserFactory)
    role = Role.TEACHER
    school = factory.SubFactory(SchoolFactory)


class CaseloadAssignmentFactory(DjangoModelFactory):
    class Meta:
        model = CaseloadAssignment

    counselor = factory.SubFactory(UserFactory)
    student = factory.SubFactory(StudentFactory)


def enroll_class(*, section: Section, size: int) -> list[Student]:
    """A class of `size` students, each with one contactable guardian."""
    students = []
    for _ in range(size):
        student = EnrollmentFactory(section=section).student
        StudentGuardianFactory(student=student)
        students.append(student)
    return students
