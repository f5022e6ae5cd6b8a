"""The education record a family may ask to inspect (FERPA §99.10): everything Homeroom holds about a student,
the behavior notes the family portal never shows included, and who read or changed it (§99.32)."""

import datetime
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from accounts.models import User
from audit.models import AccessEvent
from audit.selectors import access_log
from behavior.models import BehaviorNote
from behavior.selectors import notes_of_student
from communication.models import Interaction
from communication.selectors import interactions_of_student
from goals.selectors import GoalProgress, goals_of_student
from intake.selectors import FamilyAnswers, what_the_family_told_us
from roster.access import SCHOOL_ADMIN_ROLES, family_links_sharing_records, roles_of, schools_led_by
from roster.models import Enrollment, Student, StudentGuardian


def may_produce_record(user: User, student: Student) -> bool:
    """Leaders of the child's school and district administrators answer a family's request to inspect the record.
    The staff who work with the child read much of it, but do not produce it."""
    # Roles are kept for the request: a teacher's student page asks this without a query.
    if not (user.is_superuser or roles_of(user) & SCHOOL_ADMIN_ROLES):
        return False
    return schools_led_by(user).filter(pk=student.school_id).exists()


def links_that_may_receive_record(student: Student) -> QuerySet[StudentGuardian]:
    """The child's family members the record may be given to. Custody: never one whose access to the child's
    records is restricted, nor one the school may not contact."""
    return (
        family_links_sharing_records()
        .filter(student=student)
        .select_related("guardian")
        .order_by("guardian__last_name", "guardian__first_name", "guardian_id")
    )


@dataclass(frozen=True)
class EducationRecord:
    student: Student
    time_zone: str  # the school's: every moment of the record is shown in it
    produced_at: datetime.datetime
    produced_by: User
    produced_for: StudentGuardian  # the family member who asked, and how they stand to the child
    classes: list[Enrollment]  # every class on file, the latest term first, with its term and teachers
    family: list[StudentGuardian]  # every family member on file: names and relationships only
    family_answers: list[FamilyAnswers]
    goals: list[GoalProgress]
    interactions: list[Interaction]  # oldest first
    behavior_notes: list[BehaviorNote]  # oldest first
    access_events: list[AccessEvent]  # oldest first, all of them


def education_record(
    *, student: Student, produced_by: User, produced_for: StudentGuardian, produced_at: datetime.datetime
) -> EducationRecord:
    """The whole record in a fixed number of queries, however long its history. The caller has checked that
    `produced_by` may produce it and `produced_for` may receive it."""
    classes = (
        Enrollment.objects.filter(student=student)
        .select_related("section__term")
        .prefetch_related(Prefetch("section__teachers", queryset=User.objects.order_by("full_name", "id")))
        .order_by("-section__term__starts_on", "section__name", "id")
    )
    family = (
        StudentGuardian.objects.filter(student=student)
        .select_related("guardian")
        .order_by("-is_primary_contact", "guardian__last_name", "guardian__first_name", "guardian_id")
    )
    # Custody: what a family member whose access to the child's records is restricted said or was told stays out,
    # whoever asks; each family member who may receive the record reads the others' entries, as FERPA gives both.
    sharing = set(links_that_may_receive_record(student).values_list("guardian_id", flat=True))
    return EducationRecord(
        student=student,
        time_zone=student.school.time_zone,
        produced_at=produced_at,
        produced_by=produced_by,
        produced_for=produced_for,
        classes=list(classes),
        family=list(family),
        family_answers=[
            answers for answers in what_the_family_told_us(student_id=student.pk) if answers.guardian.pk in sharing
        ],
        goals=goals_of_student(student_id=student.pk),
        interactions=list(interactions_of_student(student=student).filter(guardian_id__in=sharing)),
        behavior_notes=notes_of_student(student=student),
        access_events=list(access_log(student=student)),
    )
