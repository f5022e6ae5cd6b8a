"""Goals as school and family see them: where each stands, what is due, and the words in the family's
language."""

import datetime
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from communication.models import Reply
from delivery.compose import absolute_url
from delivery.translation import language_name
from goals.models import TRANSLATED_FIELDS, CheckIn, Goal, GoalTranslation, HomeActivity
from goals.progress import Chart, Plan, Point, Status, chart, projection, status
from intake.models import Answer
from roster.access import (
    children_visible_to,
    family_links_sharing_records,
    staff_students_visible_to,
    students_in_care_of,
)
from roster.models import Guardian, Section, Student, Term

LINK_SALT = "goals.family-link"


def plan_of(goal: Goal) -> Plan:
    return Plan(goal.baseline, goal.baseline_on, goal.target, goal.due_on)


def next_checkin_on(goal: Goal, checkins: Iterable[CheckIn]) -> datetime.date:
    """School's next look: a cadence after its latest check-in, or after the goal was set."""
    from_school = [checkin.on for checkin in checkins if not checkin.from_home]
    last = max(from_school, default=goal.baseline_on or timezone.localdate(goal.created_at))
    return last + datetime.timedelta(days=goal.checkin_every_days)


@dataclass
class GoalProgress:
    goal: Goal
    checkins: list[CheckIn]
    status: str
    projected: float | None
    next_checkin_on: datetime.date
    chart: Chart | None

    @property
    def status_label(self) -> str:
        return str(Status(self.status).label)

    @property
    def checkin_due(self) -> bool:
        return self.status not in {Status.MET, Status.NOT_MET} and self.next_checkin_on <= timezone.localdate()

    @property
    def activities(self) -> list[tuple[HomeActivity, int]]:
        """Each home activity, with how many times the family said they did it."""
        done = Counter(checkin.activity_id for checkin in self.checkins if checkin.activity_id)
        return [(activity, done[activity.pk]) for activity in self.goal.activities.all()]


def progress_of(goal: Goal, checkins: list[CheckIn], today: datetime.date) -> GoalProgress:
    points = [Point(checkin.on, checkin.value, checkin.from_home) for checkin in checkins if checkin.value is not None]
    plan = plan_of(goal)
    return GoalProgress(
        goal=goal,
        checkins=checkins,
        status=status(plan, points, today),
        projected=projection(plan, points),
        next_checkin_on=next_checkin_on(goal, checkins),
        chart=chart(plan, points),
    )


def _with_history(goals: QuerySet[Goal]) -> QuerySet[Goal]:
    return goals.select_related("student", "author", "acknowledged_by").prefetch_related(
        Prefetch("checkins", queryset=CheckIn.objects.select_related("by_staff", "by_guardian", "activity")),
        "activities",
        Prefetch("builds_on", queryset=Answer.objects.select_related("question")),
        "translations",
    )


def _progress(goals: QuerySet[Goal], today: datetime.date | None = None) -> list[GoalProgress]:
    today = today or timezone.localdate()
    return [progress_of(goal, list(goal.checkins.all()), today) for goal in _with_history(goals)]


def goals_of_student(*, student_id: int, family_only: bool = False) -> list[GoalProgress]:
    """The caller has checked the user may see the student."""
    goals = Goal.objects.filter(student_id=student_id)
    return _progress(goals.filter(visible_to_family=True) if family_only else goals)


def _one(goals: QuerySet[Goal]) -> GoalProgress:
    """The one goal with its history, read once; one 404 for "absent" and "not yours"."""
    found = _progress(goals)
    if not found:
        raise Http404
    return found[0]


def goal_for_staff(user: User, goal_id: int) -> GoalProgress:
    return _one(Goal.objects.filter(pk=goal_id, student__in=staff_students_visible_to(user)))


def goal_for_family(user: User, goal_id: int) -> GoalProgress:
    """A family sees its own children's goals that school shares with it, and nothing else."""
    return _one(Goal.objects.filter(pk=goal_id, student__in=children_visible_to(user), visible_to_family=True))


def family_link(goal: Goal, guardian: Guardian) -> str:
    """The address that opens the goal for one family member without a password: signed and dated, so nobody
    can make one, and it stops working after HOMEROOM_GOAL_LINK_DAYS."""
    token = signing.dumps([goal.pk, guardian.pk], salt=LINK_SALT)
    return absolute_url(reverse("goals:link_goal", args=[token]))


def goal_of_link(token: str) -> tuple[GoalProgress, Guardian] | None:
    """The goal and the family member a link was made for, while it works: in date, the goal still shared with
    the family, and the guardian still one the child's record may be sent to. None whatever the reason."""
    try:
        goal_id, guardian_id = signing.loads(
            token, salt=LINK_SALT, max_age=datetime.timedelta(days=settings.HOMEROOM_GOAL_LINK_DAYS)
        )
    except (signing.BadSignature, TypeError, ValueError):
        return None
    link = (
        family_links_sharing_records()
        .filter(guardian_id=guardian_id, student__goals__id=goal_id)
        .select_related("guardian")
        .first()
    )
    if link is None:
        return None
    found = _progress(Goal.objects.filter(pk=goal_id, visible_to_family=True))
    return (found[0], link.guardian) if found else None


@dataclass(frozen=True)
class FamilySharing:
    members: list[Guardian]  # who "tell the family" sends the goal to
    untranslated: list[str]  # the names of their languages with no approved translation: they get the teacher's words


def family_sharing(goal: Goal) -> FamilySharing:
    members = list(
        Guardian.objects.filter(
            student_links__in=family_links_sharing_records().filter(student_id=goal.student_id)
        ).order_by("last_name", "first_name", "id")
    )
    approved = {translation.language for translation in goal.translations.all()} | {goal.language}
    languages = sorted({member.preferred_language for member in members} - approved)
    return FamilySharing(members, [language_name(language) for language in languages])


def replies_to_count(user: User, goal: Goal, *, limit: int = 5) -> list[Reply]:
    """The latest answers the child's family wrote to this member of staff since the goal was set, that do not
    count for the goal yet: what the teacher may count as a check-in from home."""
    return list(
        Reply.objects.filter(
            thread__staff=user,
            thread__guardian__student_links__student_id=goal.student_id,
            received_at__gte=goal.created_at,
        )
        .exclude(goal_checkins__goal=goal)
        .select_related("thread__guardian")
        .order_by("-received_at", "-id")[:limit]
    )


@dataclass
class StudentGoals:
    student: Student
    goals: list[GoalProgress]


@dataclass
class ClassGoals:
    rows: list[StudentGoals]
    by_status: list[tuple[str, int]]  # label and count, in Status order, statuses with none left out
    checkins_due: int


def class_goals(*, section: Section) -> ClassGoals:
    """Each student of the class with their goals, and how the class's goals stand; the caller has checked the
    user may see the class."""
    students = list(Student.objects.filter(enrollments__section=section).order_by("last_name", "first_name", "id"))
    by_student: dict[int, list[GoalProgress]] = {student.pk: [] for student in students}
    progresses = _progress(Goal.objects.filter(student__in=students))
    for progress in progresses:
        by_student[progress.goal.student_id].append(progress)
    counts = Counter(progress.status for progress in progresses)
    return ClassGoals(
        rows=[StudentGoals(student, by_student[student.pk]) for student in students],
        by_status=[(str(status.label), counts[status]) for status in Status if counts[status]],
        checkins_due=sum(progress.checkin_due for progress in progresses),
    )


def checkins_due_for(*, user: User) -> list[GoalProgress]:
    """The goals of the students in this person's care whose check-in is due, the reminder on Today: two
    queries, whatever the number of goals."""
    today = timezone.localdate()
    goals = (
        Goal.objects.filter(Q(due_on__gte=today) | Q(due_on=None), student__in=students_in_care_of(user))
        .select_related("student")
        .prefetch_related("checkins")
    )
    due = (progress_of(goal, list(goal.checkins.all()), today) for goal in goals)
    return sorted((progress for progress in due if progress.checkin_due), key=lambda progress: progress.next_checkin_on)


def term_ends_on(student: Student) -> datetime.date | None:
    """The end of the student's current term, for the SMART check."""
    term = Term.objects.filter(sections__enrollments__student=student, is_current=True).order_by("-ends_on").first()
    return term.ends_on if term else None


def answers_about(student_id: int) -> QuerySet[Answer]:
    """What the child's family told the school, for a goal to build on."""
    return Answer.objects.filter(invitation__student_id=student_id).select_related("question", "invitation__guardian")


@dataclass(frozen=True)
class FamilyWords:
    statement: str
    measure: str
    unit: str
    school_strategies: str
    home_strategies: str
    translated: bool  # approved by the teacher in the family's language
    machine_drafted: bool
    original_language: str

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in TRANSLATED_FIELDS}


def words_for(goal: Goal, language: str) -> FamilyWords:
    """The goal in the family's language when the teacher approved a translation; the teacher's own words
    otherwise."""
    approved: GoalTranslation | None = next(
        (translation for translation in goal.translations.all() if translation.language == language), None
    )
    if approved is None or goal.language == language:
        return FamilyWords(
            **{name: getattr(goal, name) for name in TRANSLATED_FIELDS},
            translated=False,
            machine_drafted=False,
            original_language=goal.language,
        )
    return FamilyWords(
        **{name: getattr(approved, name) for name in TRANSLATED_FIELDS},
        translated=True,
        machine_drafted=approved.machine_drafted,
        original_language=goal.language,
    )


def machine_draft(goal: Goal, language: str) -> dict[str, str] | None:
    """The goal's words machine-translated, for the teacher to read and correct before a family sees them; None
    when no translator is set up. Raises TranslationError when the translator fails."""
    from delivery.translation import translator

    written = {name: getattr(goal, name) for name in TRANSLATED_FIELDS if getattr(goal, name)}
    translated = translator().translate(list(written.values()), source=goal.language, target=language)
    return None if translated is None else dict(zip(written, translated, strict=True))
