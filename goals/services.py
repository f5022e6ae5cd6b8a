"""Setting goals, checking in on them from school and from home, and sharing them in the family's language.
Every write is checked against the access policy and audited."""

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from audit.models import AuditAction
from audit.services import record, record_by_link
from communication.models import Reply, Tone, Topic
from communication.services import log_sent_copies
from delivery.models import MessageKind
from delivery.selectors import Recipient
from delivery.services import SentMessage, Words, send_to_each_family
from goals.library import HOME_ACTIVITIES
from goals.models import NOTE_MAX_LENGTH, TRANSLATED_FIELDS, CheckIn, Goal, GoalTranslation, HomeActivity
from goals.selectors import family_link, words_for
from intake.models import Answer
from roster.access import children_visible_to, family_links_sharing_records, students_in_care_of
from roster.models import Guardian, Student

# What the teacher writes on the goal form; the rest (student, author, language, the family's agreement) is set
# here.
GOAL_FIELDS = (
    "area",
    "statement",
    "measure",
    "unit",
    "baseline",
    "baseline_on",
    "target",
    "due_on",
    "checkin_every_days",
    "school_strategies",
    "home_strategies",
    "visible_to_family",
    "families_may_measure",
)
# A change to one of these is a different goal from the one the family agreed to, and a different text to
# translate.
AGREED_FIELDS = ("statement", "target", "due_on")


def may_set_goals(user: User, student: Student) -> bool:
    """The staff who work with the child directly: its teachers and its counselor."""
    return students_in_care_of(user).filter(pk=student.pk).exists()


def _check_may_set(user: User, student: Student) -> None:
    if not may_set_goals(user, student):
        raise PermissionDenied


@transaction.atomic
def save_goal(
    *,
    author: User,
    student: Student,
    fields: Mapping[str, Any],
    builds_on: Iterable[Answer] = (),
    goal: Goal | None = None,
) -> Goal:
    """A new goal for the student, or changes to one of theirs. A change to what the family agreed to asks them
    again; a change to its words asks the teacher to approve the family's translation again."""
    _check_may_set(author, student)
    if goal is None:
        goal = Goal(student=student, author=author, language=author.language or settings.LANGUAGE_CODE)
    elif goal.student_id != student.pk:
        raise PermissionDenied
    # As stored, not as the instance says: a model form writes what was typed onto its instance as it validates.
    stored = Goal.objects.filter(pk=goal.pk).values(*GOAL_FIELDS).first() if goal.pk else None
    before = stored or {name: getattr(goal, name) for name in GOAL_FIELDS}
    for name in GOAL_FIELDS:
        if name in fields:
            setattr(goal, name, fields[name])
    changed = {name for name in GOAL_FIELDS if getattr(goal, name) != before[name]}
    created = goal.pk is None
    if not created and changed & set(AGREED_FIELDS):
        goal.acknowledged_at, goal.acknowledged_by = None, None
    goal.full_clean()
    goal.save()
    if not created and changed & set(TRANSLATED_FIELDS):
        goal.translations.all().delete()
    goal.builds_on.set([answer for answer in builds_on if answer.invitation.student_id == student.pk])
    record(
        actor=author,
        student=student,
        action=AuditAction.CREATED if created else AuditAction.CHANGED,
        what="set a goal" if created else "changed a goal",
    )
    return goal


@transaction.atomic
def add_home_activity(*, user: User, goal: Goal, key: str = "", text: str = "") -> HomeActivity:
    """One of Homeroom's activities (by its key) or the teacher's own words."""
    _check_may_set(user, goal.student)
    if key and key not in HOME_ACTIVITIES:
        raise ValidationError(_("Choose an activity from the list."))
    activity = HomeActivity(goal=goal, key=key, text=text.strip())
    if not activity.key and not activity.text:
        raise ValidationError(_("Choose an activity or write your own."))
    activity.full_clean()
    activity.save()
    record(actor=user, student=goal.student, action=AuditAction.CHANGED, what="added a home activity")
    return activity


@transaction.atomic
def remove_home_activity(*, user: User, activity: HomeActivity) -> None:
    _check_may_set(user, activity.goal.student)
    record(actor=user, student=activity.goal.student, action=AuditAction.CHANGED, what="removed a home activity")
    activity.delete()


def _checkin(goal: Goal, **fields: Any) -> CheckIn:
    checkin = CheckIn(goal=goal, **fields)
    if checkin.value is None and not checkin.note:
        raise ValidationError(_("Give a value, a note, or both."))
    checkin.full_clean()
    checkin.save()
    return checkin


@transaction.atomic
def record_checkin(*, user: User, goal: Goal, on: datetime.date, value: Any = None, note: str = "") -> CheckIn:
    """School's look at the goal on its cadence."""
    _check_may_set(user, goal.student)
    if on > timezone.localdate():
        raise ValidationError(_("A check-in cannot be in the future."))
    checkin = _checkin(goal, on=on, value=value, note=note.strip(), by_staff=user)
    record(actor=user, student=goal.student, action=AuditAction.CHANGED, what="checked in on a goal")
    return checkin


def _check_family_sees(guardian: Guardian, goal: Goal, user: User | None) -> None:
    """Signed in, the person is this guardian and sees the child in the portal; through the link they were sent
    (`user` None), the guardian is still one the child's record may be sent to."""
    if not goal.visible_to_family:
        raise PermissionDenied
    if user is not None:
        if guardian.user_id != user.pk or not children_visible_to(user).filter(pk=goal.student_id).exists():
            raise PermissionDenied
    elif not family_links_sharing_records().filter(guardian=guardian, student_id=goal.student_id).exists():
        raise PermissionDenied


def record_family_access(
    *,
    guardian: Guardian,
    user: User | None,
    student: Student,
    action: AuditAction,
    what: str,
    request: HttpRequest | None = None,
) -> None:
    if user is None:
        record_by_link(guardian=guardian, student=student, action=action, what=what, request=request)
    else:
        record(actor=user, student=student, action=action, what=what, request=request)


@transaction.atomic
def record_home_checkin(
    *,
    user: User | None,
    guardian: Guardian,
    goal: Goal,
    value: Any = None,
    note: str = "",
    activity: HomeActivity | None = None,
    on: datetime.date | None = None,
) -> CheckIn:
    """What the family sees at home: a value only where the goal's measure is one a family can take, a note
    always. Doing a home activity is a check-in too. `user` is None for a family member following their link."""
    _check_family_sees(guardian, goal, user)
    if activity is not None and activity.goal_id != goal.pk:
        raise PermissionDenied
    if not goal.families_may_measure:
        value = None
    note = note.strip()
    if activity is not None and not note:
        note = _("Done: %(activity)s") % {"activity": activity.wording()}
    checkin = _checkin(
        goal, on=on or timezone.localdate(), value=value, note=note, by_guardian=guardian, activity=activity
    )
    record_family_access(
        guardian=guardian,
        user=user,
        student=goal.student,
        action=AuditAction.CHANGED,
        what="told school what they see at home",
    )
    return checkin


@transaction.atomic
def acknowledge_goal(
    *, user: User | None, guardian: Guardian, goal: Goal, now: datetime.datetime | None = None
) -> None:
    """ "We agree, and we'll help": the family's part in setting the goal, recorded once. `user` is None for a
    family member following their link."""
    _check_family_sees(guardian, goal, user)
    if goal.acknowledged_at is not None:
        return
    goal.acknowledged_at, goal.acknowledged_by = now or timezone.now(), guardian
    goal.save(update_fields=["acknowledged_at", "acknowledged_by"])
    record_family_access(
        guardian=guardian, user=user, student=goal.student, action=AuditAction.CHANGED, what="agreed to a goal"
    )


@transaction.atomic
def tell_family(*, user: User, goal: Goal, now: datetime.datetime | None = None) -> SentMessage:
    """Sends each family member who may see the child's record the goal, in their language, with a link of their
    own: to read it, agree, and say what they see at home, no password needed. It goes in each one's
    conversation with the teacher, so that an answer reaches the teacher there and can count as a check-in, and is
    logged as a personal contact about the child's learning (neutral: a goal is neither good news nor a concern)."""
    _check_may_set(user, goal.student)
    if not goal.visible_to_family:
        raise ValidationError(_("The family does not see this goal: share it with them first."))
    links = list(
        family_links_sharing_records()
        .filter(student=goal.student)
        .select_related("guardian", "student__school")
        .order_by("guardian__last_name", "guardian__first_name", "guardian_id")
    )
    if not links:
        raise ValidationError(_("No family member of this child may be sent the goal: nothing was sent."))
    now = now or timezone.now()
    letters = [(Recipient(link.guardian, [link.student]), _goal_words(goal, link.guardian, user)) for link in links]
    sent = send_to_each_family(sender=user, kind=MessageKind.GOAL, letters=letters, in_conversation=True, now=now)
    # A goal written for one child and sent to their family is personal contact about their learning.
    with translation.override(settings.LANGUAGE_CODE):
        summary = _("Sent the family the goal: %(goal)s") % {"goal": goal.statement}
    log_sent_copies(
        sent=sent, students=[goal.student], tone=Tone.NEUTRAL, topic=Topic.ACADEMIC, summary=summary, now=now
    )
    goal.family_told_at = now
    goal.save(update_fields=["family_told_at"])
    record(actor=user, student=goal.student, action=AuditAction.CHANGED, what="sent the family a goal")
    return sent


def _goal_words(goal: Goal, guardian: Guardian, teacher: User) -> Words:
    language = guardian.preferred_language
    words = words_for(goal, language)
    student = goal.student
    with translation.override(language):
        child = student.preferred_name or student.first_name
        body = render_to_string(
            "goals/messages/goal.txt",
            {
                "teacher": teacher.full_name,
                "child": child,
                "goal": goal,
                "words": words,
                "activities": [activity.wording() for activity in goal.activities.all()],
                "url": family_link(goal, guardian),
                "days": settings.HOMEROOM_GOAL_LINK_DAYS,
            },
        ).strip()
        return Words(language, _("A goal for %(child)s") % {"child": child}, body)


@transaction.atomic
def count_reply(*, user: User, goal: Goal, reply: Reply, value: Decimal | None = None) -> CheckIn:
    """A family's answer in the teacher's conversation with them, counted as what they see at home: their words
    as the note, and a value the teacher read in them where the family can measure the goal."""
    _check_may_set(user, goal.student)
    guardian = reply.thread.guardian
    if (
        reply.thread.staff_id != user.pk
        or not goal.visible_to_family
        or not guardian.student_links.filter(student_id=goal.student_id).exists()
    ):
        raise PermissionDenied
    if goal.checkins.filter(reply=reply).exists():
        raise ValidationError(_("This reply already counts as a check-in."))
    words = reply.body.strip()
    note = words if len(words) <= NOTE_MAX_LENGTH else words[: NOTE_MAX_LENGTH - 1].rstrip() + "…"
    checkin = _checkin(
        goal,
        on=timezone.localdate(reply.received_at),
        value=value if goal.families_may_measure else None,
        note=note,
        by_guardian=guardian,
        by_staff=user,
        reply=reply,
    )
    record(actor=user, student=goal.student, action=AuditAction.CHANGED, what="counted a family's reply on a goal")
    return checkin


@transaction.atomic
def approve_translation(
    *,
    user: User,
    goal: Goal,
    language: str,
    words: Mapping[str, str],
    machine_drafted: bool,
    now: datetime.datetime | None = None,
) -> GoalTranslation:
    """The words the families reading `language` will see, as the teacher approved them: `words` by the names of
    TRANSLATED_FIELDS."""
    _check_may_set(user, goal.student)
    if language not in dict(settings.LANGUAGES) or language == goal.language:
        raise ValidationError(_("Choose a language the goal is not written in."))
    translation = GoalTranslation.objects.filter(goal=goal, language=language).first() or GoalTranslation(
        goal=goal, language=language
    )
    for name in TRANSLATED_FIELDS:
        setattr(translation, name, (words.get(name) or "").strip())
    translation.machine_drafted, translation.approved_by = machine_drafted, user
    translation.approved_at = now or timezone.now()
    translation.full_clean()
    translation.save()
    record(actor=user, student=goal.student, action=AuditAction.CHANGED, what="approved a goal's translation")
    return translation
