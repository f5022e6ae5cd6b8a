"""The demo school's goals: the demo teacher set some with families six weeks ago and has checked in since. Some
are on track, some at risk, one is met and one is new; Ava's and Mateo's families (the demo parents) see theirs,
Mateo's in Spanish."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone, translation

from accounts.models import User
from communication.conversations import receive_reply
from delivery.models import DeliveryChannel, Thread
from goals.library import EXAMPLES
from goals.models import Goal
from goals.services import (
    acknowledge_goal,
    add_home_activity,
    approve_translation,
    record_checkin,
    record_home_checkin,
    save_goal,
    tell_family,
)
from roster.access import sections_taught_by
from roster.models import Student

DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class DemoGoal:
    example: str
    # Values at each fortnightly check-in since the baseline six weeks ago; empty for a goal set this week.
    values: tuple[int, ...]


# In the demo teacher's classes, in class-list order; the first goes to Mateo and the second to Ava.
PLANS = (
    DemoGoal("reading_fluency_early", (38, 43, 47)),  # on track
    DemoGoal("math_counting_early", (24, 30, 36)),  # on track
    DemoGoal("behavior_calm_early", (6, 6, 5)),  # at risk: fewer is better, and it is barely falling
    DemoGoal("writing_sentences_early", (1, 1, 1)),  # at risk: flat
    DemoGoal("reading_fluency_early", (45, 55, 62)),  # met
    DemoGoal("math_counting_early", ()),  # new: not measured yet
)
MATEO_IN_SPANISH = {
    "statement": "Mateo leerá en voz alta un texto de su grado a 60 palabras correctas por minuto.",
    "measure": "Palabras leídas correctamente en un minuto, en un texto de su grado",
    "unit": "palabras por minuto",
    "school_strategies": "Lectura en parejas cada día y una prueba de lectura de un minuto cada semana con el maestro.",
    "home_strategies": "Lean juntos 15 minutos, cinco tardes por semana.",
}


def _children(teacher: User) -> list[Student]:
    """Mateo and Ava first, then their classmates, so the demo parents each see a goal."""
    students = list(
        Student.objects.filter(enrollments__section__in=sections_taught_by(teacher))
        .distinct()
        .order_by("last_name", "first_name", "id")
    )
    named = [s for name in ("Mateo", "Ava") for s in students if s.first_name == name]
    return named + [s for s in students if s not in named]


def build_demo_goals(*, teacher_email: str = "teacher@example.org", today: datetime.date | None = None) -> int:
    """Sets the demo teacher's goals with their history. Returns how many goals it set."""
    today = today or timezone.localdate()
    teacher = User.objects.get(email=teacher_email)
    set_on = today - 42 * DAY
    goals = []
    for plan, student in zip(PLANS, _children(teacher), strict=False):
        example = EXAMPLES[plan.example]
        start = set_on if plan.values else today - 2 * DAY
        with translation.override("en"):
            fields = {
                "area": example.area,
                "statement": example.statement_for(student.preferred_name or student.first_name),
                "measure": str(example.measure),
                "unit": str(example.unit),
                "baseline": plan.values[0] if plan.values else example.baseline,
                "baseline_on": start,
                "target": example.target,
                "due_on": start + example.weeks * 7 * DAY,
                "checkin_every_days": 14,
                "school_strategies": str(example.school_strategies),
                "home_strategies": str(example.home_strategies),
                "families_may_measure": example.families_may_measure,
            }
        goal = save_goal(author=teacher, student=student, fields=fields)
        for key in example.activities:
            add_home_activity(user=teacher, goal=goal, key=key)
        for fortnight, value in enumerate(plan.values[1:], start=1):
            record_checkin(user=teacher, goal=goal, on=start + 14 * fortnight * DAY, value=Decimal(value))
        goals.append(goal)
    _families_take_part(teacher, goals, today)
    return len(goals)


def _families_take_part(teacher: User, goals: list[Goal], today: datetime.date) -> None:
    """Mateo's father reads his goal in Spanish, agreed, and reads with him at home; Ava's family was sent hers
    and one of them answered: the answer waits for the teacher to count it as a check-in."""
    ava = next((goal for goal in goals if goal.student.first_name == "Ava"), None)
    if ava is not None:
        _answer_by_email(teacher, ava, "We read every night this week. She read me a whole page without help!")
    mateo = next((goal for goal in goals if goal.student.first_name == "Mateo"), None)
    if mateo is None:
        return
    approve_translation(user=teacher, goal=mateo, language="es", words=MATEO_IN_SPANISH, machine_drafted=False)
    link = (
        mateo.student.guardian_links.filter(guardian__user__isnull=False, portal_access_allowed=True)
        .select_related("guardian__user")
        .first()
    )
    account = link.guardian.user if link else None
    if link is None or account is None:
        return
    father = link.guardian
    acknowledge_goal(user=account, guardian=father, goal=mateo)
    activity = mateo.activities.first()
    with translation.override("es"):
        record_home_checkin(
            user=account,
            guardian=father,
            goal=mateo,
            activity=activity,
            note="Leímos un cuento de dinosaurios. Le gustó mucho.",
            on=today - 5 * DAY,
        )


def _answer_by_email(teacher: User, goal: Goal, answer: str) -> None:
    tell_family(user=teacher, goal=goal)
    thread = Thread.objects.filter(staff=teacher, guardian__student_links__student=goal.student).first()
    if thread is not None:
        receive_reply(thread=thread, body=answer, channel=DeliveryChannel.EMAIL)
