"""The demo's behavior notes: two children with a pattern emerging, and one whose pattern faded after an early
call with the family."""

import datetime
import zoneinfo
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import User
from behavior.models import Cause, Setting
from behavior.services import log_early_outreach, record_note
from communication.models import ContactChannel
from roster.access import contactable_links_for, sections_taught_by
from roster.models import Student

DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class DemoNote:
    days_ago: int
    hour: int
    setting: str
    subject: str
    before: str
    behavior: str
    response: str
    causes: tuple[str, ...]


MATH_AFTER_LUNCH = (
    DemoNote(
        9,
        13,
        Setting.CLASSROOM,
        "Math",
        "Independent fraction work",
        "Put his head down and did not start.",
        "Sat with him for the first problem.",
        (Cause.TOO_HARD,),
    ),
    DemoNote(
        6,
        13,
        Setting.CLASSROOM,
        "Math",
        "Word problems with a partner",
        "Tore up his worksheet.",
        "Quiet word; a fresh sheet.",
        (Cause.TOO_HARD, Cause.AVOIDING),
    ),
    DemoNote(
        2,
        14,
        Setting.CLASSROOM,
        "Math",
        "A timed quiz",
        "Left his seat three times during the quiz.",
        "Moved him nearer the board.",
        (Cause.TOO_HARD,),
    ),
)
RECESS_RISING = (
    DemoNote(
        16,
        11,
        Setting.RECESS,
        "",
        "A football game",
        "Pushed a classmate over the ball.",
        "Time out for five minutes; talked it through.",
        (Cause.PEER_CONFLICT,),
    ),
    DemoNote(
        9,
        11,
        Setting.RECESS,
        "",
        "Lining up after recess",
        "Shouted at a classmate.",
        "Walked in with her; she calmed quickly.",
        (Cause.PEER_CONFLICT,),
    ),
    DemoNote(
        4,
        11,
        Setting.RECESS,
        "",
        "Choosing teams",
        "Refused to join and kicked the fence.",
        "Offered a job as scorekeeper.",
        (Cause.PEER_CONFLICT, Cause.HUNGER_FATIGUE),
    ),
    DemoNote(
        1,
        11,
        Setting.RECESS,
        "",
        "A game of tag",
        "Grabbed a classmate's jacket.",
        "Stayed with her for the rest of recess.",
        (Cause.PEER_CONFLICT,),
    ),
)
TIRED_MORNINGS = (
    DemoNote(
        24,
        8,
        Setting.CLASSROOM,
        "Reading",
        "Morning meeting",
        "Fell asleep at his desk.",
        "Let him rest, then a drink of water.",
        (Cause.HUNGER_FATIGUE,),
    ),
    DemoNote(
        22,
        9,
        Setting.CLASSROOM,
        "Reading",
        "Silent reading",
        "Snapped at a classmate who asked for a pencil.",
        "Reminded him of our words for asking.",
        (Cause.HUNGER_FATIGUE, Cause.CHANGE_AT_HOME),
    ),
    DemoNote(
        20,
        8,
        Setting.CLASSROOM,
        "Reading",
        "Arrival",
        "Put his head down and would not start.",
        "Breakfast from the office; he joined in ten minutes.",
        (Cause.HUNGER_FATIGUE,),
    ),
)


def build_demo_behavior(*, teacher_email: str = "teacher@example.org", today: datetime.date | None = None) -> int:
    """Writes the demo teacher's notes and the early call that resolved one pattern. Returns how many notes."""
    today = today or timezone.localdate()
    teacher = User.objects.get(email=teacher_email)
    # Not Mateo or Ava, whose families the demo already follows for goals and messages.
    students = list(
        Student.objects.filter(enrollments__section__in=sections_taught_by(teacher))
        .exclude(first_name__in=["Mateo", "Ava"])
        .select_related("school")
        .distinct()
        .order_by("last_name", "first_name", "id")[:3]
    )
    written = 0
    for student, notes in zip(students, (MATH_AFTER_LUNCH, RECESS_RISING, TIRED_MORNINGS), strict=False):
        zone = zoneinfo.ZoneInfo(student.school.time_zone)
        for note in notes:
            moment = datetime.datetime.combine(today - note.days_ago * DAY, datetime.time(note.hour, 10), tzinfo=zone)
            record_note(
                author=teacher,
                student=student,
                fields={
                    "occurred_at": moment,
                    "setting": note.setting,
                    "subject": note.subject,
                    "antecedent": note.before,
                    "behavior": note.behavior,
                    "response": note.response,
                },
                causes=note.causes,
            )
            written += 1
    if len(students) == 3:
        _early_call(teacher, students[2], today)
    return written


def _early_call(teacher: User, student: Student, today: datetime.date) -> None:
    link = contactable_links_for(teacher).filter(student=student).select_related("guardian").first()
    if link is None:
        return
    zone = zoneinfo.ZoneInfo(student.school.time_zone)
    log_early_outreach(
        user=teacher,
        student=student,
        guardian=link.guardian,
        channel=ContactChannel.CALL,
        agreed="Dad works nights now, so mornings are rushed. He will pack a breakfast bar; we will keep fruit in "
        "class.",
        next_step="Talk again in two weeks.",
        occurred_at=datetime.datetime.combine(today - 18 * DAY, datetime.time(15, 30), tzinfo=zone),
    )
