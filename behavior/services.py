"""Writing behavior notes and logging the early conversation with the family. Every write is checked against the
access policy and audited."""

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.models import AuditAction
from audit.services import record
from behavior.models import BehaviorNote, Cause, SuspectedCause
from communication.models import Interaction, Outcome, Tone, Topic
from communication.services import log_interaction
from roster.access import students_in_care_of
from roster.models import Guardian, Student

# What the teacher writes on a note; the student, the author and the causes are set here.
NOTE_FIELDS = ("occurred_at", "setting", "subject", "antecedent", "behavior", "response", "severity", "cause_note")


def may_write_notes(user: User, student: Student) -> bool:
    """The staff who work with the child directly, its teachers and its counselor, write and read its notes; a
    leader sees the patterns, not the notes' words."""
    return students_in_care_of(user).filter(pk=student.pk).exists()


@transaction.atomic
def record_note(
    *, author: User, student: Student, fields: Mapping[str, Any], causes: Iterable[str] = ()
) -> BehaviorNote:
    if not may_write_notes(author, student):
        raise PermissionDenied
    note = BehaviorNote(student=student, author=author)
    for name in NOTE_FIELDS:
        if name in fields:
            setattr(note, name, fields[name].strip() if isinstance(fields[name], str) else fields[name])
    if note.occurred_at is None:
        note.occurred_at = timezone.now()
    if note.occurred_at > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationError({"occurred_at": _("A note cannot be about the future.")})
    chosen = sorted(set(causes))
    if unknown := set(chosen) - set(Cause.values):
        raise ValidationError(_("Unknown cause: %(causes)s") % {"causes": ", ".join(sorted(unknown))})
    note.full_clean()
    note.save()
    SuspectedCause.objects.bulk_create(SuspectedCause(note=note, cause=cause) for cause in chosen)
    record(actor=author, student=student, action=AuditAction.CREATED, what="wrote a behavior note")
    return note


@transaction.atomic
def log_early_outreach(
    *,
    user: User,
    student: Student,
    guardian: Guardian,
    agreed: str,
    next_step: str = "",
    channel: str,
    outcome: str = Outcome.REACHED,
    follow_up_on: datetime.date | None = None,
    occurred_at: datetime.datetime | None = None,
) -> Interaction:
    """The conversation the guide leads, in the communication log as a contact about behavior: what the family
    and the teacher agreed, and the one next step."""
    if not may_write_notes(user, student):
        raise PermissionDenied
    summary = agreed.strip()
    if next_step.strip():
        summary = _("%(agreed)s\nNext step: %(next_step)s") % {"agreed": summary, "next_step": next_step.strip()}
    if not summary:
        raise ValidationError(_("Write what you and the family agreed, or what happened when you called."))
    return log_interaction(
        logged_by=user,
        students=[student],
        guardian=guardian,
        tone=Tone.NEUTRAL,
        summary=summary,
        channel=channel,
        topic=Topic.BEHAVIOR,
        outcome=outcome,
        follow_up_on=follow_up_on,
        occurred_at=occurred_at,
    )
