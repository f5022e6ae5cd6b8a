"""The one access policy: which students, classes, schools and family links a user may see.

Every query of student data for a user starts here. Yes/no answers are built from the querysets, so the two
can never disagree; "absent" and "not yours" raise the same 404.
"""

from typing import Any

from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from roster.models import (
    CaseloadAssignment,
    District,
    Enrollment,
    Guardian,
    Role,
    RosterImport,
    School,
    Section,
    StaffRole,
    Student,
    StudentGuardian,
)

SCHOOL_ADMIN_ROLES = frozenset({Role.LEADER, Role.DISTRICT_ADMIN})
# A query of ids, of any model: the parts of a UNION.
IdQuery = QuerySet[Any, Any]
# A student or class the student information system no longer lists is kept with its history, and seen by no one.
ACTIVE_STUDENTS = Student.objects.filter(is_active=True)
CURRENT_SECTIONS = Section.objects.filter(term__is_current=True, is_active=True)


def _signed_in(user: User) -> bool:
    return user.is_authenticated and user.is_active


def schools_led_by(user: User) -> QuerySet[School]:
    """Schools whose whole roster this user may see: a leader's school, a district administrator's district."""
    if not _signed_in(user):
        return School.objects.none()
    if user.is_superuser:
        return School.objects.all()
    roles = roles_of(user)
    # order_by(): a compound statement's parts may not be ordered, and these models have a default ordering.
    parts: list[IdQuery] = []
    if Role.LEADER in roles:
        parts.append(StaffRole.objects.filter(user=user, role=Role.LEADER).order_by().values("school_id"))
    if Role.DISTRICT_ADMIN in roles:
        parts.append(
            School.objects.filter(district__staff_roles__user=user, district__staff_roles__role=Role.DISTRICT_ADMIN)
            .order_by()
            .values("id")
        )
    return School.objects.filter(id__in=_union(parts)) if parts else School.objects.none()


def students_visible_to(user: User) -> QuerySet[Student]:
    if not _signed_in(user):
        return Student.objects.none()
    if user.is_superuser:
        return ACTIVE_STUDENTS.all()
    return ACTIVE_STUDENTS.filter(id__in=_union([_own_children_ids(user), *_staff_student_ids(user)]))


def children_visible_to(user: User) -> QuerySet[Student]:
    """A guardian's own children, as the family portal shows them: never a student the same person sees only
    as a member of staff."""
    if not _signed_in(user):
        return Student.objects.none()
    return ACTIVE_STUDENTS.filter(id__in=_own_children_ids(user))


def get_visible_child_or_404(user: User, student_id: int) -> Student:
    return get_object_or_404(children_visible_to(user), pk=student_id)


def _own_children_ids(user: User) -> IdQuery:
    # Custody: a guardian sees a child only while portal access is allowed.
    return (
        StudentGuardian.objects.filter(guardian__user=user, portal_access_allowed=True).order_by().values("student_id")
    )


def _staff_student_ids(user: User) -> list[IdQuery]:
    """Only the branches this user's roles open: each one left out is SQL not compiled or run on every page."""
    parts = _direct_student_ids(user)
    if roles_of(user) & SCHOOL_ADMIN_ROLES:
        parts.append(ACTIVE_STUDENTS.filter(school__in=schools_led_by(user)).order_by().values("id"))
    return parts


def _direct_student_ids(user: User) -> list[IdQuery]:
    roles = roles_of(user)
    parts: list[IdQuery] = []
    if Role.TEACHER in roles:
        parts.append(
            Enrollment.objects.filter(section__teachers=user, section__term__is_current=True, section__is_active=True)
            .order_by()
            .values("student_id")
        )
    if Role.COUNSELOR in roles:
        parts.append(CaseloadAssignment.objects.filter(counselor=user).order_by().values("student_id"))
    return parts


def students_in_care_of(user: User) -> QuerySet[Student]:
    """The students a member of staff works with directly, their current classes and caseload: a teacher's Today
    list, never the whole school a leader may also see."""
    if not _signed_in(user):
        return Student.objects.none()
    parts = _direct_student_ids(user)
    return ACTIVE_STUDENTS.filter(id__in=_union(parts)) if parts else Student.objects.none()


def staff_students_visible_to(user: User) -> QuerySet[Student]:
    """Students a user sees as a member of staff: the ones whose families they may log contacts with."""
    if not _signed_in(user):
        return Student.objects.none()
    if user.is_superuser:
        return ACTIVE_STUDENTS.all()
    parts = _staff_student_ids(user)
    return ACTIVE_STUDENTS.filter(id__in=_union(parts)) if parts else Student.objects.none()


def get_staff_visible_student_or_404(user: User, student_id: int) -> Student:
    return get_object_or_404(staff_students_visible_to(user).select_related("school"), pk=student_id)


def can_log_contact(user: User, student: Student) -> bool:
    return contactable_links_for(user).filter(student=student).exists()


def contactable_links_for(user: User) -> QuerySet[StudentGuardian]:
    """Family links a member of staff may contact about a student: of students they see as staff, and never one a
    custody order or the school has closed."""
    return StudentGuardian.objects.filter(student__in=staff_students_visible_to(user), contact_allowed=True)


def family_may_read_from(*, guardian: str, staff: str) -> Exists:
    """Whether a family may still read what a member of staff wrote it (a conversation, its inbox), for a query
    whose rows name the guardian and the member of staff by the lookups `guardian` and `staff`: only while custody
    lets the guardian see a child at that person's school (or district). A custody change closes it at once."""
    staff_school = Q(student__school__staff_roles__user=OuterRef(staff)) | Q(
        student__school__district__staff_roles__user=OuterRef(staff)
    )
    return Exists(
        StudentGuardian.objects.filter(
            staff_school, guardian=OuterRef(guardian), portal_access_allowed=True, student__is_active=True
        )
    )


def family_links_sharing_records() -> QuerySet[StudentGuardian]:
    """Family links a child's record may be sent to without signing in (a goal, say): the school may contact the
    guardian, and custody lets them see the child."""
    return StudentGuardian.objects.filter(contact_allowed=True, portal_access_allowed=True)


def _union(parts: list[IdQuery]) -> IdQuery:
    # A UNION of small id queries; an OR across several joins is slow on PostgreSQL.
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def can_view_student(user: User, student: Student) -> bool:
    return students_visible_to(user).filter(pk=student.pk).exists()


def sections_visible_to(user: User) -> QuerySet[Section]:
    """Classes of the current term: the ones a teacher teaches, or every class of the schools a leader leads."""
    if not _signed_in(user):
        return Section.objects.none()
    current = CURRENT_SECTIONS
    if user.is_superuser:
        return current
    roles = roles_of(user)
    parts: list[IdQuery] = []
    if Role.TEACHER in roles:
        parts.append(current.filter(teachers=user).order_by().values("id"))
    if roles & SCHOOL_ADMIN_ROLES:
        parts.append(current.filter(term__school__in=schools_led_by(user)).order_by().values("id"))
    return Section.objects.filter(id__in=_union(parts)) if parts else Section.objects.none()


def sections_taught_by(user: User) -> QuerySet[Section]:
    """Current classes a user teaches: the ones they may write to all families of, in their own name."""
    if not _signed_in(user) or Role.TEACHER not in roles_of(user):
        return Section.objects.none()
    return CURRENT_SECTIONS.filter(teachers=user)


def get_visible_section_or_404(user: User, section_id: int) -> Section:
    return get_object_or_404(sections_visible_to(user).select_related("term__school"), pk=section_id)


def guardian_links_visible_to(user: User) -> QuerySet[StudentGuardian]:
    """Family links a user may see. Staff see every link of the students they see as staff, restrictions
    included, so they know whom not to contact; a guardian sees only their own links, never the other household's."""
    if not _signed_in(user):
        return StudentGuardian.objects.none()
    own = Q(guardian__user=user, portal_access_allowed=True)
    if user.is_superuser:
        return StudentGuardian.objects.all()
    staff_parts = _staff_student_ids(user)
    if not staff_parts:
        return StudentGuardian.objects.filter(own)
    # A member of staff who is also a parent sees, of their own child, only their own link: never the other
    # household's details through the staff pages.
    return StudentGuardian.objects.filter(own | Q(student_id__in=_union(staff_parts)))


def staff_guardian_links_visible_to(user: User) -> QuerySet[StudentGuardian]:
    """Family links shown on the staff pages: every link of the students this user sees as staff, restrictions
    included. A member of staff who is also a parent finds nothing of their own child here unless they teach them."""
    return StudentGuardian.objects.filter(student__in=staff_students_visible_to(user))


def needs_second_factor(user: User) -> bool:
    """Whether this person must sign in with an authenticator app as well: platform administrators, leaders and
    district administrators always (they see whole schools); teachers and counselors where their school says so.
    Families never: their emailed code is their way in."""
    if not _signed_in(user):
        return False
    if user.is_superuser or roles_of(user) & SCHOOL_ADMIN_ROLES:
        return True
    return StaffRole.objects.filter(user=user, school__teachers_need_second_factor=True).exists()


def is_staff_member(user: User) -> bool:
    return _signed_in(user) and (user.is_superuser or bool(roles_of(user)))


def roles_of(user: User) -> frozenset[str]:
    if not _signed_in(user):
        return frozenset()
    # Kept on the user object, which lives for one request: the page and its navigation ask once.
    cached: frozenset[str] | None = getattr(user, "_homeroom_roles", None)
    if cached is None:
        cached = frozenset(StaffRole.objects.filter(user=user).values_list("role", flat=True))
        user._homeroom_roles = cached  # type: ignore[attr-defined]  # a per-request memo, not a field
    return cached


def guardian_of(user: User) -> Guardian | None:
    if not _signed_in(user):
        return None
    return Guardian.objects.filter(user=user).first()


def districts_administered_by(user: User) -> QuerySet[District]:
    """Districts whose whole roster this user may import at once, creating and deactivating schools."""
    if not _signed_in(user):
        return District.objects.none()
    return District.objects.filter(staff_roles__user=user, staff_roles__role=Role.DISTRICT_ADMIN).distinct()


def people_administering(*, district: District, school: School | None = None) -> QuerySet[User]:
    """Who may import or export a district's roster (its administrators), or one school's (its leaders too)."""
    leaders = Q(staff_roles__school=school, staff_roles__role=Role.LEADER) if school else Q(pk__in=[])
    administrators = Q(staff_roles__district=district, staff_roles__role=Role.DISTRICT_ADMIN)
    return User.objects.filter(leaders | administrators, is_active=True).distinct()


def roster_imports_visible_to(user: User) -> QuerySet[RosterImport]:
    """Someone's own uploads; a school's imports to its leaders; a district's, whole or by school, to its
    administrators."""
    if not _signed_in(user):
        return RosterImport.objects.none()
    if user.is_superuser:
        return RosterImport.objects.all()
    return RosterImport.objects.filter(
        Q(uploaded_by=user) | Q(school__in=schools_led_by(user)) | Q(district__in=districts_administered_by(user))
    )


def get_visible_roster_import_or_404(user: User, import_id: int) -> RosterImport:
    return get_object_or_404(roster_imports_visible_to(user).select_related("school", "district"), pk=import_id)


# --- The admin site: the same policy, for every list, form field, filter and search -----------------------------

# The way from each record a leader administers to its school. A model not named here is administered by the
# platform's superusers alone: its rows are listed to no one else and offered as a choice to no one else.
ADMIN_SCHOOL_PATHS: dict[str, str] = {
    "roster.school": "id",
    "roster.term": "school",
    "roster.section": "term__school",
    "roster.student": "school",
    "roster.guardian": "student_links__student__school",
    "roster.studentguardian": "student__school",
    "roster.enrollment": "section__term__school",
    "roster.staffrole": "school",
    "roster.caseloadassignment": "student__school",
    "audit.accessevent": "student__school",
}


def staff_administered_by(user: User) -> QuerySet[User]:
    """Accounts a leader may name as a class's teacher, a counselor or the holder of a role: staff with a role at a
    school they lead, or (district administrators) in their district. Never every account of the installation."""
    if not _signed_in(user):
        return User.objects.none()
    if user.is_superuser:
        return User.objects.all()
    parts: list[IdQuery] = [StaffRole.objects.filter(school__in=schools_led_by(user)).order_by().values("user_id")]
    if Role.DISTRICT_ADMIN in roles_of(user):
        parts.append(
            StaffRole.objects.filter(district__in=districts_administered_by(user)).order_by().values("user_id")
        )
    return User.objects.filter(id__in=_union(parts))


def admin_rows(user: User, model: type[Model]) -> QuerySet[Any]:
    """The records of `model` a user may list and open in the admin site: those of the schools they lead. A
    leader sees their district (to read; only its administrators change it); accounts are for superusers."""
    manager = model._default_manager
    if not _signed_in(user):
        return manager.none()
    if user.is_superuser:
        return manager.all()
    if model is District:
        return manager.filter(id__in=schools_led_by(user).order_by().values("district_id"))
    if model is User:
        return manager.none()
    path = ADMIN_SCHOOL_PATHS.get(model._meta.label_lower)
    if path is None:
        return manager.none()
    # An id subquery, not distinct(): a bulk delete cannot run on a distinct queryset.
    ids = manager.filter(**{f"{path}__in": schools_led_by(user)}).order_by().values("pk")
    return manager.filter(pk__in=ids)


def admin_choices(user: User, model: type[Model]) -> QuerySet[Any]:
    """The records of `model` an admin form, filter or search may offer a user: the same as `admin_rows`, except
    that a district is picked only by its administrators, and an account only among the staff of one's schools."""
    if _signed_in(user) and not user.is_superuser:
        if model is District:
            return District.objects.filter(id__in=districts_administered_by(user).order_by().values("id"))
        if model is User:
            return staff_administered_by(user)
    return admin_rows(user, model)
