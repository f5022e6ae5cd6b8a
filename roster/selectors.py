from dataclasses import dataclass

from django.db.models import Count, Prefetch, QuerySet

from accounts.models import User
from roster.access import guardian_links_visible_to, sections_visible_to, students_visible_to
from roster.models import Section, Student, StudentGuardian


def sections_for_user(*, user: User) -> QuerySet[Section]:
    """The current classes a user may open, with their size, teachers and school: one query each."""
    return (
        sections_visible_to(user)
        .select_related("term__school")
        .prefetch_related("teachers")
        .annotate(student_count=Count("enrollments"))
        .order_by("term__school__name", "grade_level", "name")
    )


def _family_links(user: User) -> Prefetch:
    links = (
        guardian_links_visible_to(user)
        .select_related("guardian")
        .order_by("-is_primary_contact", "guardian__last_name")
    )
    return Prefetch("guardian_links", queryset=links, to_attr="family_links")


def class_list(*, user: User, section: Section) -> QuerySet[Student]:
    """A class's students with the families the user may see, in a fixed number of queries."""
    return (
        students_visible_to(user)
        .filter(enrollments__section=section)
        .prefetch_related(_family_links(user))
        .order_by("last_name", "first_name", "id")
    )


@dataclass(frozen=True)
class StudentProfile:
    student: Student
    family_links: list[StudentGuardian]
    sections: list[Section]


def student_profile(*, user: User, student: Student) -> StudentProfile:
    """A student's page: the family links this user may see and the student's current classes and teachers."""
    links = list(
        guardian_links_visible_to(user)
        .filter(student=student)
        .select_related("guardian")
        .order_by("-is_primary_contact", "guardian__last_name")
    )
    sections = list(
        Section.objects.filter(enrollments__student=student, term__is_current=True)
        .prefetch_related("teachers")
        .order_by("name")
    )
    return StudentProfile(student=student, family_links=links, sections=sections)


def children_of(*, user: User) -> QuerySet[Student]:
    """A signed-in guardian's own children (never one under a portal restriction), with current classes."""
    current_sections = Section.objects.filter(term__is_current=True).prefetch_related("teachers").order_by("name")
    return (
        students_visible_to(user)
        .filter(guardian_links__guardian__user=user, guardian_links__portal_access_allowed=True)
        .select_related("school")
        .prefetch_related(Prefetch("sections", queryset=current_sections, to_attr="current_sections"))
        .distinct()
        .order_by("first_name")
    )
