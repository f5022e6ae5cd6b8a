"""Behavior as school sees it: a student's notes and patterns, who to reach early, and a school's patterns
without the notes' words."""

import datetime
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Max, Prefetch, QuerySet
from django.utils import timezone

from accounts.models import User
from behavior.models import BehaviorNote, Cause, SuspectedCause
from behavior.patterns import Fact, Pattern, Rules, find_patterns, weekly_counts
from communication.models import Interaction, Tone, Topic
from roster.access import schools_led_by, staff_students_visible_to, students_in_care_of
from roster.grades import grade_order
from roster.models import School, Student

RULES = Rules()
CHART_WEEKS = 8


def _with_causes(notes: QuerySet[BehaviorNote]) -> QuerySet[BehaviorNote]:
    return notes.select_related("author").prefetch_related(
        Prefetch("causes", queryset=SuspectedCause.objects.order_by("cause"))
    )


def fact_of(note: BehaviorNote, time_zone: str) -> Fact:
    return Fact(
        at=note.occurred_at.astimezone(zoneinfo.ZoneInfo(time_zone)),
        severity=note.severity,
        setting=note.setting,
        subject=note.subject,
        causes=tuple(cause.cause for cause in note.causes.all()),
    )


def _school_today(school: School, today: datetime.date | None) -> datetime.date:
    """The date at the school, whose notes are dated in its own time zone, not the server's."""
    return today or timezone.localdate(timezone=zoneinfo.ZoneInfo(school.time_zone))


def _window_start(today: datetime.date, days: int) -> datetime.datetime:
    """A day earlier than the window, so that a note's local date decides, whatever the server's time zone."""
    return timezone.make_aware(datetime.datetime.combine(today - datetime.timedelta(days=days + 1), datetime.time()))


@dataclass(frozen=True)
class Bar:
    x: float
    y: int
    height: int
    count: int
    week_of: datetime.date  # the week's first day


@dataclass
class StudentBehavior:
    notes: list[BehaviorNote]  # empty for a person who sees the patterns but not the notes' words
    patterns: list[Pattern]
    weekly: list[int]  # notes per week over CHART_WEEKS weeks, oldest first
    reached_out_on: datetime.date | None  # the family was reached about behavior after the latest note

    today: datetime.date

    @property
    def bars(self) -> list[Bar]:
        """The weekly counts as the bars of a chart 10 units a week wide and 60 high."""
        most = max(self.weekly, default=0) or 1
        first_week = self.today - datetime.timedelta(days=7 * len(self.weekly) - 1)
        bars = []
        for index, count in enumerate(self.weekly):
            height = round(56 * count / most)
            starts = first_week + datetime.timedelta(days=7 * index)
            bars.append(Bar(x=10 * index + 1.5, y=60 - height, height=height, count=count, week_of=starts))
        return bars

    @property
    def reach_out(self) -> bool:
        return bool(self.patterns) and self.reached_out_on is None


def behavior_of_student(*, student: Student, with_words: bool, today: datetime.date | None = None) -> StudentBehavior:
    """The caller has checked the user sees the student; `with_words` when they may read the notes."""
    today = _school_today(student.school, today)
    since = _window_start(today, max(RULES.lookback_days, 7 * CHART_WEEKS))
    notes = list(_with_causes(BehaviorNote.objects.filter(student=student, occurred_at__gte=since)))
    facts = [fact_of(note, student.school.time_zone) for note in notes]
    shown = list(_with_causes(BehaviorNote.objects.filter(student=student))[:50]) if with_words else []
    return StudentBehavior(
        notes=shown,
        patterns=find_patterns(facts, today, RULES),
        weekly=weekly_counts(facts, today, CHART_WEEKS),
        reached_out_on=_reached_about_behavior(notes[0].occurred_at if notes else None, student.pk),
        today=today,
    )


def _reached_about_behavior(latest_note_at: datetime.datetime | None, student_id: int) -> datetime.date | None:
    if latest_note_at is None:
        return None
    contact = (
        Interaction.objects.contacts()
        .filter(student_links__student_id=student_id, topic=Topic.BEHAVIOR, occurred_at__gte=latest_note_at)
        .order_by("-occurred_at")
        .first()
    )
    return timezone.localdate(contact.occurred_at) if contact else None


@dataclass(frozen=True)
class EarlyOutreach:
    student: Student
    patterns: list[Pattern]


def reach_out_early_for(*, user: User, today: datetime.date | None = None) -> list[EarlyOutreach]:
    """The students in this person's care whose notes show a pattern that no conversation with the family about
    behavior has followed yet: Today's "reach out early". Three queries, whatever the number of students."""
    # A day wider than the window, so that it covers the date at every school, whatever its time zone.
    since = _window_start(today or timezone.localdate(), RULES.lookback_days + 1)
    notes = _with_causes(
        BehaviorNote.objects.filter(student__in=students_in_care_of(user), occurred_at__gte=since).select_related(
            "student__school"
        )
    )
    by_student: dict[int, list[BehaviorNote]] = defaultdict(list)
    for note in notes:
        by_student[note.student_id].append(note)
    reached = dict(
        Interaction.objects.contacts()
        .filter(student_links__student_id__in=by_student, topic=Topic.BEHAVIOR)
        .values_list("student_links__student_id")
        .annotate(latest=Max("occurred_at"))
    )
    found = []
    for student_notes in by_student.values():
        student = student_notes[0].student
        latest = max(note.occurred_at for note in student_notes)
        if student.pk in reached and reached[student.pk] >= latest:
            continue
        facts = [fact_of(note, student.school.time_zone) for note in student_notes]
        patterns = find_patterns(facts, _school_today(student.school, today), RULES)
        if patterns:
            found.append(EarlyOutreach(student, patterns))
    return sorted(found, key=lambda row: (-len(row.patterns), row.student.last_name, row.student.first_name))


def recent_positive(*, student: Student) -> Interaction | None:
    """The latest good news about the child told to the family in person (a positive class notice is about no one
    child): how the conversation with the family opens."""
    return (
        Interaction.objects.contacts()
        .filter(student_links__student=student, tone=Tone.POSITIVE)
        .select_related("logged_by")
        .order_by("-occurred_at")
        .first()
    )


def notes_for_the_guide(*, student: Student, today: datetime.date | None = None) -> list[BehaviorNote]:
    """The notes of the pattern's window, oldest first: what was seen, to describe as facts."""
    today = _school_today(student.school, today)
    since = _window_start(today, RULES.lookback_days)
    notes = BehaviorNote.objects.filter(student=student, occurred_at__gte=since).order_by("occurred_at")
    return list(_with_causes(notes))


def suspected_causes(notes: Iterable[BehaviorNote]) -> list[Cause]:
    """The causes the teacher suspected in these notes, the most often first."""
    counts = Counter(cause.cause for note in notes for cause in note.causes.all() if cause.cause != Cause.OTHER)
    return [Cause(cause) for cause, _count in counts.most_common()]


# --- Across a school, for leaders and counselors: patterns and causes, never the notes' words --------------------


@dataclass(frozen=True)
class SchoolPatterns:
    school: School
    students: list[EarlyOutreach]  # students with a pattern, most patterns first
    causes_by_grade: list[
        tuple[int | None, list[tuple[str, int]]]
    ]  # grade (None: unknown), then (cause label, notes) most often first


def school_patterns(*, user: User, today: datetime.date | None = None) -> list[SchoolPatterns]:
    """For each school the person leads (or, for a counselor, the students they see as staff)."""
    schools: Sequence[School] = list(schools_led_by(user).order_by("name"))
    visible = staff_students_visible_to(user)
    since = _window_start(today or timezone.localdate(), RULES.lookback_days + 1)
    notes = _with_causes(
        BehaviorNote.objects.filter(student__in=visible, occurred_at__gte=since).select_related("student__school")
    ).order_by()
    by_school: dict[int, dict[int, list[BehaviorNote]]] = defaultdict(lambda: defaultdict(list))
    for note in notes:
        by_school[note.student.school_id][note.student_id].append(note)
    if not schools:
        schools = list(School.objects.filter(pk__in=by_school).order_by("name"))
    return [_patterns_of_school(school, by_school.get(school.pk, {}), today) for school in schools]


def _patterns_of_school(
    school: School, by_student: dict[int, list[BehaviorNote]], today: datetime.date | None
) -> SchoolPatterns:
    today = _school_today(school, today)
    students = []
    by_grade: dict[int | None, Counter[str]] = defaultdict(Counter)
    for notes in by_student.values():
        student = notes[0].student
        patterns = find_patterns([fact_of(note, school.time_zone) for note in notes], today, RULES)
        if patterns:
            students.append(EarlyOutreach(student, patterns))
        for note in notes:
            for cause in note.causes.all():
                by_grade[student.grade_level][cause.cause] += 1
    students.sort(key=lambda row: (-len(row.patterns), row.student.last_name, row.student.first_name))
    causes_by_grade = [
        (grade, [(str(Cause(cause).label), count) for cause, count in counts.most_common(3)])
        for grade, counts in sorted(by_grade.items(), key=lambda item: grade_order(item[0]))
    ]
    return SchoolPatterns(school, students, causes_by_grade)


# --- The education record a family may ask to inspect ------------------------------------------------------------


def notes_of_student(*, student: Student) -> list[BehaviorNote]:
    """Every note about the student, oldest first, with its author and suspected causes: the whole record a family
    may ask to inspect (FERPA §99.10), not the window a page shows. Two queries, whatever the number of notes. The
    caller has checked the user may read them."""
    return list(_with_causes(BehaviorNote.objects.filter(student=student).order_by("occurred_at", "id")))
