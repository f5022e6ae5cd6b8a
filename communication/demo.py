"""A term of plausible contact history for the demo school, so that Today means something on first sign-in.

Most families have been reached, a few never; some are overdue; two classes lean on concerns (poor ratios); the
demo teacher has follow-ups due. Built in bulk: a few thousand rows, then one recount per term.
"""

import datetime
import random
import zoneinfo
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import User
from communication.conversations import receive_reply, reply_from_family
from communication.models import (
    ContactChannel,
    Direction,
    Interaction,
    InteractionStudent,
    Moment,
    Outcome,
    Tone,
    Topic,
)
from communication.services import recount_contact_summaries, send_message
from delivery.models import DeliveryChannel, Thread
from roster.models import Guardian, School, Section, Student, StudentGuardian, Term

# Classes whose history leans on concerns: the ratio panels then have something to show.
CONCERN_HEAVY_CLASSES = frozenset({"1-A", "HR-7A"})
NEVER_CONTACTED_SHARE = 0.07
OVERDUE_SHARE = 0.15
FAILED_CALL_SHARE = 0.12

POSITIVE_NOTES = (
    ("{name} helped a classmate who had fallen at recess, without being asked.", Topic.SOCIAL_EMOTIONAL),
    ("{name} kept going on a hard maths problem and got there: so proud of the effort.", Topic.ACADEMIC),
    ("{name} read aloud to the class today with real expression.", Topic.ACADEMIC),
    ("{name} thanked the cafeteria staff by name. Lovely manners.", Topic.SOCIAL_EMOTIONAL),
    ("{name} stood up for a new student who was being left out.", Topic.SOCIAL_EMOTIONAL),
    ("{name} has been on time every day this month.", Topic.ATTENDANCE),
    ("{name} led their group's project and made sure everyone had a part.", Topic.ACADEMIC),
)
# The kind of good news each positive note tells, in the same order ("" where none fits).
POSITIVE_MOMENTS = dict(
    zip(
        (text for text, _topic in POSITIVE_NOTES),
        (
            Moment.HELPING,
            Moment.PERSEVERANCE,
            Moment.ACADEMIC_GROWTH,
            Moment.GRATITUDE,
            Moment.STANDING_UP,
            Moment.RESPONSIBILITY,
            Moment.LEADERSHIP,
        ),
        strict=True,
    )
)
NEUTRAL_NOTES = (
    ("Confirmed the pick-up arrangements for Fridays.", Topic.LOGISTICS),
    ("Talked about the field trip form and the cost; the family will send it in.", Topic.LOGISTICS),
    ("The family asked how reading is going; shared the current level and the class book.", Topic.ACADEMIC),
    ("Checked on the allergy plan with the family.", Topic.HEALTH),
)
CONCERN_NOTES = (
    ("{name} has been tired and distracted in the mornings this week.", Topic.SOCIAL_EMOTIONAL),
    ("{name} has missed three homework assignments; agreed on a check-in routine.", Topic.ACADEMIC),
    ("{name} had a conflict with a classmate at lunch; talked through what happened.", Topic.BEHAVIOR),
    ("{name} was late four times in two weeks.", Topic.ATTENDANCE),
    ("{name} is finding the new spelling lists hard; suggested practice at home.", Topic.ACADEMIC),
)
FOLLOW_UP_NOTES = (
    "Call back about the reading plan: the family wanted a week to try it.",
    "Check in with the family after the doctor's appointment.",
    "Ask how the new bedtime routine is going.",
)


@dataclass
class HistoryReport:
    interactions: int = 0
    students_never_contacted: int = 0


def build_demo_history(*, school: School, seed: int = 2026, now: datetime.datetime | None = None) -> HistoryReport:
    rng = random.Random(seed)
    now = now or timezone.now()
    term = Term.objects.get(school=school, is_current=True)
    zone = zoneinfo.ZoneInfo(school.time_zone)
    term_start = datetime.datetime.combine(term.starts_on, datetime.time(8), tzinfo=zone)
    days_so_far = max(1, (now - term_start).days)
    report = HistoryReport()
    plans: list[tuple[Interaction, list[Student]]] = []

    sections = Section.objects.filter(term=term).prefetch_related("teachers").order_by("code")
    links_by_student: dict[int, list[StudentGuardian]] = {}
    for link in StudentGuardian.objects.filter(student__school=school, contact_allowed=True).order_by(
        "-is_primary_contact", "id"
    ):
        links_by_student.setdefault(link.student_id, []).append(link)

    def moment(days_ago: float) -> datetime.datetime:
        when = now - datetime.timedelta(days=days_ago)
        # School hours on a weekday, never before the term started.
        when = when.astimezone(zone).replace(hour=rng.choice((8, 12, 15, 16, 17)), minute=rng.choice((5, 20, 35, 50)))
        while when.weekday() >= 5:
            when -= datetime.timedelta(days=1)
        return min(max(when, term_start), now - datetime.timedelta(minutes=30))

    for section in sections:
        teachers = list(section.teachers.all())
        concern_heavy = section.code in CONCERN_HEAVY_CLASSES
        tones = (Tone.POSITIVE, Tone.NEUTRAL, Tone.CONCERN)
        weights = (35, 20, 45) if concern_heavy else (65, 20, 15)
        for student in section.students.all().order_by("id"):
            links = links_by_student.get(student.pk, [])
            if not links:
                continue
            draw = rng.random()
            if draw < NEVER_CONTACTED_SHARE:
                report.students_never_contacted += 1
                continue
            overdue = draw < NEVER_CONTACTED_SHARE + OVERDUE_SHARE
            # An overdue family's last contact is over the cadence ago; the others' is within the last 18 days.
            latest_days_ago = 25 if overdue else 0
            for number in range(rng.randint(1, 3) if overdue else rng.randint(2, 6)):
                span = 18 if number == 0 and not overdue else max(latest_days_ago + 1, days_so_far)
                days_ago = rng.uniform(latest_days_ago, span)
                tone = rng.choices(tones, weights)[0]
                link = links[0] if rng.random() < 0.8 else rng.choice(links)
                channel = rng.choice(
                    (ContactChannel.CALL, ContactChannel.CALL, ContactChannel.TEXT, ContactChannel.IN_PERSON)
                    if tone != Tone.NEUTRAL
                    else (ContactChannel.EMAIL, ContactChannel.TEXT, ContactChannel.NOTE_HOME)
                )
                failed = channel == ContactChannel.CALL and rng.random() < FAILED_CALL_SHARE
                notes = {Tone.POSITIVE: POSITIVE_NOTES, Tone.NEUTRAL: NEUTRAL_NOTES, Tone.CONCERN: CONCERN_NOTES}[tone]
                text, topic = rng.choice(notes)
                interaction = Interaction(
                    guardian_id=link.guardian_id,
                    logged_by=rng.choice(teachers),
                    channel=channel,
                    direction=Direction.FROM_FAMILY if rng.random() < 0.15 else Direction.TO_FAMILY,
                    tone=tone,
                    topic=topic,
                    outcome=rng.choice((Outcome.NO_ANSWER, Outcome.VOICEMAIL)) if failed else Outcome.REACHED,
                    summary=text.format(name=student.preferred_name or student.first_name),
                    moment=POSITIVE_MOMENTS.get(text, ""),
                    occurred_at=moment(days_ago),
                )
                plans.append((interaction, [student]))

    _plan_follow_ups(plans, links_by_student, now)
    Interaction.objects.bulk_create([interaction for interaction, _ in plans], batch_size=500)
    InteractionStudent.objects.bulk_create(
        (
            InteractionStudent(interaction=interaction, student=student)
            for interaction, students in plans
            for student in students
        ),
        batch_size=1000,
    )
    recount_contact_summaries(term=term, students=Student.objects.filter(school=school))
    report.interactions = len(plans)
    return report


def _plan_follow_ups(
    plans: list[tuple[Interaction, list[Student]]],
    links_by_student: dict[int, list[StudentGuardian]],
    now: datetime.datetime,
) -> None:
    """The demo teacher's first class gets three follow-ups due (one today) and one for next week. Reaching a
    family closes a follow-up, so these families have had no contact since it was set."""
    first = Section.objects.filter(code="K-A", term__is_current=True).prefetch_related("teachers").first()
    if first is None:
        return
    teacher = first.teachers.order_by("id").first()
    students = [s for s in first.students.order_by("last_name", "id") if s.pk in links_by_student][:4]
    for days_ago, student, note in zip((6, 3, 0, -7), students, (*FOLLOW_UP_NOTES, FOLLOW_UP_NOTES[0]), strict=False):
        logged_at = min((now - datetime.timedelta(days=days_ago + 7)).replace(hour=15, minute=30), now)
        logged_at -= datetime.timedelta(hours=1)
        plans[:] = [(i, s) for i, s in plans if not (s == [student] and i.occurred_at >= logged_at)]
        plans.append(
            (
                Interaction(
                    guardian_id=links_by_student[student.pk][0].guardian_id,
                    logged_by=teacher,
                    channel=ContactChannel.CALL,
                    tone=Tone.NEUTRAL,
                    topic=Topic.ACADEMIC,
                    outcome=Outcome.REACHED,
                    summary=note,
                    occurred_at=logged_at,
                    follow_up_on=(now - datetime.timedelta(days=days_ago)).date(),
                ),
                [student],
            )
        )


# (family's email, subject, the teacher's message, the family's answer): the demo teacher's conversations.
DEMO_CONVERSATIONS = (
    (
        "parent@example.org",
        "Ava's great week",
        "Ava helped two classmates with their reading this week, without being asked. Thank you for all you do!",
        "Thank you for telling us! She was beaming at dinner.",
    ),
    (
        "padre@example.org",
        "Una gran semana para Mateo",
        "Mateo compartió sus colores con un compañero nuevo y lo ayudó a sentirse bienvenido. ¡Qué orgullo!",
        "¡Muchas gracias por contarnos! Lo vamos a felicitar en casa.",
    ),
)


DEMO_NOTICE = (
    "Field trip on Friday",
    "On Friday we visit the science museum. We leave at 9:00 and are back by 2:30. Please send a packed lunch "
    "and a water bottle.",
    "Is it all right if Liam brings a sandwich from the cafeteria instead? We can't do a packed lunch on Fridays.",
)


def build_demo_conversations(*, teacher_email: str = "teacher@example.org") -> int:
    """Good news from the demo teacher to two families, each answered, then a notice to the whole of their first
    class this week and one family's answer to it: Messages has a class message as one entry beside the
    conversations, and Today's follow-ups stay open, as a notice never closes one."""
    teacher = User.objects.get(email=teacher_email)
    for email, subject, body, answer in DEMO_CONVERSATIONS:
        guardian = Guardian.objects.select_related("user").get(email=email)
        send_message(sender=teacher, guardian_ids=[guardian.pk], subject=subject, body=body, tone=Tone.POSITIVE)
        if guardian.user is not None:
            reply_from_family(
                user=guardian.user, thread=Thread.objects.get(staff=teacher, guardian=guardian), body=answer
            )
    section = Section.objects.filter(code="K-A", term__is_current=True, teachers=teacher).first()
    if section is None:
        return len(DEMO_CONVERSATIONS)
    subject, body, answer = DEMO_NOTICE
    send_message(sender=teacher, section=section, subject=subject, body=body, tone=Tone.NEUTRAL)
    answering = (
        Thread.objects.filter(
            staff=teacher, last_personal_at__isnull=True, guardian__email__gt="", guardian__preferred_language="en"
        )
        .order_by("guardian__last_name", "id")
        .first()
    )
    if answering is not None:
        receive_reply(thread=answering, body=answer, channel=DeliveryChannel.EMAIL)
    return len(DEMO_CONVERSATIONS) + 1
