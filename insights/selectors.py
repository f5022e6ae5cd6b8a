from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from accounts.models import User
from roster.access import schools_led_by, staff_guardian_links_visible_to, staff_students_visible_to
from roster.languages import FAMILY_LANGUAGE_NAMES
from roster.models import School, Section


@dataclass
class LanguageShare:
    code: str
    name: str
    students: int


@dataclass
class SchoolSummary:
    school: School
    students: int = 0
    families_reachable: int = 0
    portal_accounts: int = 0
    contact_restrictions: int = 0
    families_to_invite: int = 0
    languages: list[LanguageShare] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    @property
    def reachable_percent(self) -> int:
        return round(100 * self.families_reachable / self.students) if self.students else 0


def school_overview(*, user: User) -> list[SchoolSummary]:
    """Each school a leader leads: size, how reachable its families are, and in which languages.
    A fixed number of grouped queries however many schools and students."""
    schools = list(schools_led_by(user).order_by("name"))
    summaries = {school.id: SchoolSummary(school=school) for school in schools}
    students = staff_students_visible_to(user).filter(school__in=schools)

    reachable = Q(guardian_links__contact_allowed=True) & (
        ~Q(guardian_links__guardian__email="") | ~Q(guardian_links__guardian__phone="")
    )
    for row in students.values("school_id").annotate(
        total=Count("id", distinct=True),
        reachable=Count("id", filter=reachable, distinct=True),
        portal=Count("id", filter=Q(guardian_links__guardian__user__isnull=False), distinct=True),
    ):
        summary = summaries[row["school_id"]]
        summary.students, summary.families_reachable, summary.portal_accounts = (
            row["total"],
            row["reachable"],
            row["portal"],
        )

    links = staff_guardian_links_visible_to(user).filter(student__school__in=schools)
    for row in links.filter(contact_allowed=False).values("student__school_id").annotate(n=Count("id")):
        summaries[row["student__school_id"]].contact_restrictions = row["n"]

    invitable = links.filter(
        contact_allowed=True, portal_access_allowed=True, guardian__portal_invited_at__isnull=True
    ).exclude(guardian__email="")
    for row in invitable.values("student__school_id").annotate(n=Count("guardian_id", distinct=True)):
        summaries[row["student__school_id"]].families_to_invite = row["n"]

    primary = links.filter(is_primary_contact=True)
    for row in (
        primary.values("student__school_id", "guardian__preferred_language")
        .annotate(n=Count("student_id", distinct=True))
        .order_by("-n")
    ):
        code = row["guardian__preferred_language"]
        summaries[row["student__school_id"]].languages.append(
            LanguageShare(code=code, name=str(FAMILY_LANGUAGE_NAMES.get(code, code)), students=row["n"])
        )

    for section in _sections_of(schools):
        summaries[section.term.school_id].sections.append(section)
    return list(summaries.values())


def _sections_of(schools: list[School]) -> QuerySet[Section]:
    return (
        Section.objects.filter(term__is_current=True, is_active=True, term__school__in=schools)
        .select_related("term")
        .prefetch_related("teachers")
        .annotate(student_count=Count("enrollments"))
        .order_by("grade_level", "name")
    )
