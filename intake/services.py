"""Asking families about their children: the questions, the invitations, the answers."""

import datetime
import zoneinfo
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import cast

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_tasks import task

from accounts.models import User
from audit.models import AuditAction
from audit.services import record, record_by_link, record_many
from delivery.models import MessageKind
from delivery.selectors import Recipient
from delivery.services import Words, send_to_each_family
from homeroom.ids import parse_id
from intake.models import (
    ANSWER_MAX_LENGTH,
    Answer,
    AnswersFrom,
    Invitation,
    Observation,
    Question,
    Questionnaire,
    new_secret,
)
from intake.questions import DEFAULT_QUESTIONS
from intake.selectors import invitations_that_count, is_waiting, link_of
from roster.access import schools_led_by, sections_taught_by, staff_students_visible_to
from roster.models import School, Section, Student, StudentGuardian

# --- The questions ---------------------------------------------------------------------------------------------


def school_questionnaire(school: School) -> Questionnaire:
    """The school's questions, Homeroom's own until the school changes them."""
    existing = Questionnaire.objects.filter(school=school, section=None).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            questionnaire = Questionnaire.objects.create(school=school)
            Question.objects.bulk_create(
                Question(questionnaire=questionnaire, position=position, key=key)
                for position, key in enumerate(DEFAULT_QUESTIONS, start=1)
            )
    except IntegrityError:  # another request made it a moment ago
        return Questionnaire.objects.get(school=school, section=None)
    return questionnaire


def questionnaire_for(section: Section) -> Questionnaire:
    """What a class's families are asked: the class's own questions once its teacher changed them, else the
    school's."""
    own = Questionnaire.objects.filter(section=section).first()
    return own or school_questionnaire(section.term.school)


@transaction.atomic
def customise_for_class(*, user: User, section: Section) -> Questionnaire:
    """The class's own copy of the school's questions, which its teacher may change without changing anyone
    else's."""
    if not sections_taught_by(user).filter(pk=section.pk).exists():
        raise PermissionDenied
    own = Questionnaire.objects.filter(section=section).first()
    if own:
        return own
    school_wide = school_questionnaire(section.term.school)
    own = Questionnaire.objects.create(school=school_wide.school, section=section)
    Question.objects.bulk_create(
        Question(
            questionnaire=own,
            position=question.position,
            key=question.key,
            text=question.text,
            retired_at=question.retired_at,
        )
        for question in school_wide.questions.all()
    )
    return own


def may_change(user: User, questionnaire: Questionnaire) -> bool:
    """A leader changes the school's questions; a teacher, the questions of their own class."""
    if questionnaire.section_id is None:
        return schools_led_by(user).filter(pk=questionnaire.school_id).exists()
    return sections_taught_by(user).filter(pk=questionnaire.section_id).exists()


def _check_may_change(user: User, questionnaire: Questionnaire) -> None:
    if not may_change(user, questionnaire):
        raise PermissionDenied


@transaction.atomic
def add_question(*, user: User, questionnaire: Questionnaire, text: str) -> Question:
    _check_may_change(user, questionnaire)
    last = questionnaire.questions.aggregate(last=Max("position"))["last"] or 0
    question = Question(questionnaire=questionnaire, position=last + 1, text=text.strip())
    question.full_clean()
    question.save()
    return question


@transaction.atomic
def reword_question(*, user: User, question: Question, text: str) -> Question:
    """New words for a question from now on; what families already answered keeps the words they read. Empty
    words bring back Homeroom's own wording, asked in each family's language."""
    _check_may_change(user, question.questionnaire)
    question.text = text.strip()
    question.full_clean()
    question.save(update_fields=["text"])
    return question


@transaction.atomic
def move_question(*, user: User, question: Question, up: bool) -> None:
    _check_may_change(user, question.questionnaire)
    questions = list(question.questionnaire.questions.all())
    index = next(i for i, other in enumerate(questions) if other.pk == question.pk)
    swap_with = index - 1 if up else index + 1
    if not 0 <= swap_with < len(questions):
        return
    questions[index], questions[swap_with] = questions[swap_with], questions[index]
    for position, each in enumerate(questions, start=1):
        each.position = position
    Question.objects.bulk_update(questions, ["position"])


@transaction.atomic
def retire_question(*, user: User, question: Question, retired: bool = True) -> None:
    """A retired question is no longer asked; its answers stay."""
    _check_may_change(user, question.questionnaire)
    question.retired_at = timezone.now() if retired else None
    question.save(update_fields=["retired_at"])


# --- Inviting families ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invited:
    families: int  # guardians a link went to
    held_until: datetime.datetime | None  # the latest a link waits for a family's waking hours


def _can_be_asked(section: Section, guardian_ids: Collection[int] | None) -> list[StudentGuardian]:
    """The class's children and each guardian the school may contact: a guardian under a no-contact order is
    never asked."""
    links = StudentGuardian.objects.filter(student__enrollments__section=section, contact_allowed=True)
    if guardian_ids is not None:
        links = links.filter(guardian_id__in=guardian_ids)
    return list(
        links.select_related("guardian", "student__school").order_by(
            "guardian__last_name", "guardian__first_name", "guardian_id", "student__first_name"
        )
    )


@transaction.atomic
def invite_families(
    *,
    sender: User,
    section: Section,
    guardian_ids: Collection[int] | None = None,
    now: datetime.datetime | None = None,
) -> Invited:
    """Sends each family of a class its own link to the questions about its child, by its channel, in its
    language, through the delivery pipeline. For the whole class (no `guardian_ids`), families already asked
    are left alone; for chosen families, the link is sent again (a new one, if it was revoked)."""
    if not sections_taught_by(sender).filter(pk=section.pk).exists():
        raise PermissionDenied
    now = now or timezone.now()
    questionnaire = questionnaire_for(section)
    links = _can_be_asked(section, guardian_ids)
    existing = invitations_that_count(questionnaire=questionnaire, students={link.student_id for link in links})
    expires_at = now + datetime.timedelta(days=settings.HOMEROOM_INTAKE_LINK_DAYS)
    to_send: list[Invitation] = []
    for link in links:
        invitation = existing.get((link.student_id, link.guardian_id))
        if guardian_ids is None and invitation and (invitation.submitted_at or is_waiting(invitation, now)):
            continue
        if invitation is None or invitation.questionnaire_id != questionnaire.pk:
            if invitation is not None and is_waiting(invitation, now):
                # The new questions replace the old: one working link per child, whatever was saved kept.
                invitation.revoked_at = now
                invitation.save(update_fields=["revoked_at"])
            invitation = Invitation(
                questionnaire=questionnaire, student=link.student, guardian=link.guardian, section=section
            )
        if invitation.revoked_at:
            invitation.secret, invitation.revoked_at = new_secret(), None
        # The class that asked last counts the family, and its teacher is the one reminding it.
        invitation.section, invitation.invited_by = section, sender
        invitation.sent_at, invitation.expires_at = now, expires_at
        invitation.reminded_at = None
        invitation.save()
        to_send.append(invitation)
    if not to_send:
        return Invited(0, None)
    sent = _send_links(sender=sender, section=section, invitations=to_send, reminder=False, now=now)
    record_many(
        actor=sender,
        students={invitation.student for invitation in to_send},
        action=AuditAction.CHANGED,
        what="asked the family about the child",
    )
    return sent


def _send_links(
    *,
    sender: User,
    section: Section | None,
    invitations: list[Invitation],
    reminder: bool,
    now: datetime.datetime,
) -> Invited:
    """One message per guardian, with a link per child: brothers and sisters in one class share it."""
    by_guardian: dict[int, list[Invitation]] = {}
    for invitation in invitations:
        by_guardian.setdefault(invitation.guardian_id, []).append(invitation)
    letters = []
    for own in by_guardian.values():
        recipient = Recipient(own[0].guardian, [invitation.student for invitation in own])
        letters.append((recipient, _words(recipient, own, sender=sender, section=section, reminder=reminder)))
    sent = send_to_each_family(
        sender=sender, kind=MessageKind.QUESTIONNAIRE, letters=letters, section=section, to_many=True, now=now
    )
    return Invited(sent.families, sent.held_until)


def _words(
    recipient: Recipient,
    invitations: list[Invitation],
    *,
    sender: User,
    section: Section | None,
    reminder: bool,
) -> Words:
    language = recipient.guardian.preferred_language
    with translation.override(language):
        children = str(recipient.child_names)
        subject = (_("A reminder: tell us about %(children)s") if reminder else _("Tell us about %(children)s")) % {
            "children": children
        }
        body = render_to_string(
            "intake/messages/questions.txt",
            {
                "reminder": reminder,
                "teacher": sender.full_name,
                "class_name": section.name if section else "",
                "children": children,
                "links": [
                    {
                        "child": invitation.student.preferred_name or invitation.student.first_name,
                        "url": link_of(invitation),
                    }
                    for invitation in invitations
                ],
                "expires": date_format(
                    timezone.localtime(
                        invitations[0].expires_at, timezone=zoneinfo.ZoneInfo(recipient.guardian.time_zone)
                    ),
                    "j F",
                ),
            },
        ).strip()
    return Words(language, subject, body)


@transaction.atomic
def revoke_invitation(*, user: User, invitation: Invitation, now: datetime.datetime | None = None) -> None:
    """The link stops working at once; the answers already given stay."""
    if not teaches_child(user, invitation.student_id):
        raise PermissionDenied
    invitation.revoked_at = now or timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record(actor=user, student=invitation.student, action=AuditAction.CHANGED, what="revoked a questionnaire link")


def remind_families(*, now: datetime.datetime | None = None) -> int:
    """One reminder, never a stream, to each guardian who was sent a link some days ago, has not answered and
    may still be contacted. Returns how many guardians it went to."""
    now = now or timezone.now()
    due = list(
        Invitation.objects.filter(
            submitted_at=None,
            reminded_at=None,
            revoked_at=None,
            sent_at__lte=now - datetime.timedelta(days=settings.HOMEROOM_INTAKE_REMINDER_DAYS),
            expires_at__gt=now,
            invited_by__isnull=False,
            student__guardian_links__guardian=F("guardian"),
            student__guardian_links__contact_allowed=True,
        ).select_related("guardian", "student__school", "section", "invited_by")
    )
    reminded = 0
    by_sender: dict[tuple[int, int | None], list[Invitation]] = {}
    for invitation in due:
        by_sender.setdefault((invitation.invited_by_id or 0, invitation.section_id), []).append(invitation)
    for invitations in by_sender.values():
        with transaction.atomic():
            sender = cast(User, invitations[0].invited_by)  # the query keeps only invitations someone sent
            Invitation.objects.filter(pk__in=[invitation.pk for invitation in invitations]).update(reminded_at=now)
            reminded += _send_links(
                sender=sender, section=invitations[0].section, invitations=invitations, reminder=True, now=now
            ).families
    return reminded


# --- Answering ------------------------------------------------------------------------------------------------


def invitation_of_link(token: str, *, now: datetime.datetime | None = None) -> Invitation | None:
    """The invitation a link stands for, while it works: not revoked, not expired, and the guardian still one
    the school may contact about this child. None for anything else, whatever the reason."""
    raw_id, _dot, secret = token.partition(".")
    invitation_id = parse_id(raw_id)
    if invitation_id is None or not secret:
        return None
    invitation = (
        Invitation.objects.select_related("student__school", "guardian", "questionnaire")
        .filter(pk=invitation_id)
        .first()
    )
    now = now or timezone.now()
    if (
        invitation is None
        or not constant_time_compare(invitation.secret, secret)
        or invitation.revoked_at is not None
        or invitation.expires_at is None
        or invitation.expires_at <= now
        or not StudentGuardian.objects.filter(
            student_id=invitation.student_id, guardian_id=invitation.guardian_id, contact_allowed=True
        ).exists()
    ):
        return None
    return invitation


def mark_opened(
    invitation: Invitation, *, request: HttpRequest | None = None, now: datetime.datetime | None = None
) -> None:
    """The family has the questions about its child, and its own answers, before it: a read of the child's
    record, logged like any other."""
    if invitation.opened_at is None:
        invitation.opened_at = now or timezone.now()
        invitation.save(update_fields=["opened_at"])
    record_by_link(
        guardian=invitation.guardian,
        student=invitation.student,
        action=AuditAction.VIEWED,
        what="the questions about the child",
        request=request,
    )


@transaction.atomic
def save_answers(
    *,
    invitation: Invitation,
    answers: Mapping[int, str],
    language: str,
    submit: bool,
    entered_by: User | None = None,
    answers_from: str = AnswersFrom.FAMILY,
    now: datetime.datetime | None = None,
) -> int:
    """Keeps what the family wrote, question by question (an emptied answer is removed), each with the words
    of the question as it was asked. `submit` tells the teacher the family has finished; the family may still
    come back and change its answers while the link works. Returns how many answers the family has given."""
    if entered_by is not None and not teaches_child(entered_by, invitation.student_id):
        raise PermissionDenied
    now = now or timezone.now()
    questions = {question.pk: question for question in invitation.questionnaire.questions.filter(retired_at=None)}
    given = {answer.question_id: answer for answer in invitation.answers.all()}
    for question_id, raw in answers.items():
        question, text = questions.get(question_id), raw.strip()[:ANSWER_MAX_LENGTH]
        if question is None:
            continue
        answer = given.get(question_id)
        if not text:
            if answer is not None:
                answer.delete()
                del given[question_id]
            continue
        if answer is not None and answer.text == text:
            continue
        answer = answer or Answer(invitation=invitation, question=question)
        answer.question_text = question.wording(language)
        answer.text, answer.language, answer.updated_at, answer.entered_by = text, language, now, entered_by
        answer.translation = ""
        answer.save()
        given[question_id] = answer
    fields = []
    if submit and invitation.submitted_at is None:
        invitation.submitted_at, fields = now, ["submitted_at"]
    if invitation.answers_from != answers_from:
        invitation.answers_from = answers_from
        fields.append("answers_from")
    if fields:
        invitation.save(update_fields=fields)
    if entered_by is not None:
        what = "typed in the family's answers"
        record(actor=entered_by, student=invitation.student, action=AuditAction.CHANGED, what=what)
    else:
        record_by_link(
            guardian=invitation.guardian,
            student=invitation.student,
            action=AuditAction.CHANGED,
            what="answered the questions about the child",
        )
    transaction.on_commit(lambda: _translate_later(invitation.pk))
    return len(given)


def _translate_later(invitation_id: int) -> None:
    if settings.HOMEROOM_TRANSLATION_BACKEND == "none":
        return
    translate_answers_task.enqueue(invitation_id=invitation_id)


def translate_answers(*, invitation_id: int) -> int:
    """Machine translations into the school's language of the answers that need one; a translator that fails
    leaves them untranslated (the family's own words are always there). Returns how many it translated."""
    from delivery.translation import TranslationError, translator

    target = settings.LANGUAGE_CODE
    pending = list(Answer.objects.filter(invitation_id=invitation_id, translation="").exclude(language=target))
    by_language: dict[str, list[Answer]] = {}
    for answer in pending:
        by_language.setdefault(answer.language, []).append(answer)
    translated = 0
    for language, answers in by_language.items():
        try:
            texts = translator().translate([answer.text for answer in answers], source=language, target=target)
        except TranslationError:
            continue
        if texts is None:
            return translated
        for answer, text in zip(answers, texts, strict=True):
            answer.translation = text
        Answer.objects.bulk_update(answers, ["translation"])
        translated += len(answers)
    return translated


@transaction.atomic
def invitation_for_typing_in(*, user: User, section: Section, link: StudentGuardian) -> Invitation:
    """Where a teacher types in what a family said by phone or wrote on paper: its invitation, made if the
    family was never sent a link. Not for a guardian the school may not contact."""
    if not link.contact_allowed or not sections_taught_by(user).filter(pk=section.pk).exists():
        raise PermissionDenied
    invitation, _created = Invitation.objects.get_or_create(
        questionnaire=questionnaire_for(section),
        student=link.student,
        guardian=link.guardian,
        defaults={"section": section},
    )
    return invitation


def teaches_child(user: User, student_id: int) -> bool:
    """A teacher of one of the child's classes: they may type in a family's answers given by phone or on paper,
    or close its link."""
    return sections_taught_by(user).filter(enrollments__student_id=student_id).exists()


# --- The teacher's own notes ----------------------------------------------------------------------------------


@transaction.atomic
def add_observation(*, author: User, student: Student, text: str, now: datetime.datetime | None = None) -> Observation:
    if not staff_students_visible_to(author).filter(pk=student.pk).exists():
        raise PermissionDenied
    observation = Observation(student=student, author=author, text=text.strip(), created_at=now or timezone.now())
    observation.full_clean()
    observation.save()
    record(actor=author, student=student, action=AuditAction.CHANGED, what="wrote an observation")
    return observation


# --- Tasks: beside the services they run, so that nothing imports back (intake.tasks keeps the old path) ---------


@task()
def translate_answers_task(invitation_id: int) -> int:
    return translate_answers(invitation_id=invitation_id)
