from dataclasses import dataclass

from django.db.models import Count, Prefetch, QuerySet

from accounts.models import User
from roster.access import (
    CURRENT_SECTIONS,
    children_visible_to,
    guardian_links_visible_to,
    sections_visible_to,
    staff_guardian_links_visible_to,
    staff_students_visible_to,
)
from roster.models import RosterImport, Section, Student, StudentGuardian


def sections_for_user(*, user: User) -> QuerySet[Section]:
    """The current classes a user may open, with their size, teachers and school: one query each."""
    return (
        sections_visible_to(user)
        .select_related("term__school")
        .prefetch_related("teachers")
        .annotate(student_count=Count("enrollments"))
        .order_by("term__school__name", "grade_level", "name")
    )


def _family_links(user: User, *, as_staff: bool) -> QuerySet[StudentGuardian]:
    """The family links a user may see on a staff page or in the family portal, with their guardian, primary
    contact first."""
    links = staff_guardian_links_visible_to(user) if as_staff else guardian_links_visible_to(user)
    return links.select_related("guardian").order_by("-is_primary_contact", "guardian__last_name")


def class_list(*, user: User, section: Section) -> QuerySet[Student]:
    """A class's students with the families the user may see, in a fixed number of queries."""
    return (
        staff_students_visible_to(user)
        .filter(enrollments__section=section)
        .prefetch_related(
            Prefetch("guardian_links", queryset=_family_links(user, as_staff=True), to_attr="family_links")
        )
        .order_by("last_name", "first_name", "id")
    )


@dataclass(frozen=True)
class StudentProfile:
    student: Student
    family_links: list[StudentGuardian]
    sections: list[Section]


def student_profile(*, user: User, student: Student, as_staff: bool) -> StudentProfile:
    """A student's page, for staff or for the child's family: the family links this user may see there and the
    student's current classes and teachers."""
    links = list(_family_links(user, as_staff=as_staff).filter(student=student))
    sections = list(CURRENT_SECTIONS.filter(enrollments__student=student).prefetch_related("teachers").order_by("name"))
    return StudentProfile(student=student, family_links=links, sections=sections)


def children_of(*, user: User) -> QuerySet[Student]:
    """A signed-in guardian's own children, with their current classes and teachers."""
    current_sections = CURRENT_SECTIONS.prefetch_related("teachers").order_by("name")
    return (
        children_visible_to(user)
        .select_related("school")
        .prefetch_related(Prefetch("sections", queryset=current_sections, to_attr="current_sections"))
        .order_by("first_name")
    )


def recent_roster_imports(*, user: User, limit: int = 10) -> QuerySet[RosterImport]:
    """This user's own latest uploads, newest first."""
    return RosterImport.objects.filter(uploaded_by=user).select_related("school", "district")[:limit]
