"""What families told us, and who has answered."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from accounts.models import User
from delivery.compose import absolute_url
from delivery.models import Delivery, DeliveryStatus, MessageKind
from delivery.translation import language_name
from intake.models import Answer, Invitation, Observation, Question, Questionnaire
from intake.questions import SUMMARY_KEYS
from roster.models import Guardian, Section, StudentGuardian


def link_of(invitation: Invitation) -> str:
    return absolute_url(reverse("intake:answer", args=[f"{invitation.pk}.{invitation.secret}"]))


def is_waiting(invitation: Invitation, now: datetime.datetime) -> bool:
    """Sent, still open, not yet answered: asking again would only repeat the question."""
    return (
        invitation.sent_at is not None
        and invitation.submitted_at is None
        and invitation.revoked_at is None
        and invitation.expires_at is not None
        and invitation.expires_at > now
    )


def invitations_that_count(
    *, questionnaire: Questionnaire, students: "Iterable[int] | QuerySet[Any]"
) -> dict[tuple[int, int], Invitation]:
    """For each child and guardian, the invitation that says where the family stands: the one with these
    questions, else the latest with the school's or another class's. A family that answered before its teacher
    changed the class's questions has answered."""
    counting: dict[tuple[int, int], Invitation] = {}
    invitations = Invitation.objects.filter(questionnaire__school_id=questionnaire.school_id, student__in=students)
    for invitation in invitations.order_by("id"):
        pair = (invitation.student_id, invitation.guardian_id)
        if pair not in counting or counting[pair].questionnaire_id != questionnaire.pk:
            counting[pair] = invitation
    return counting


@dataclass(frozen=True)
class OpenQuestions:
    child_name: str
    url: str
    answered: bool


def open_questions_for(*, guardian: Guardian, now: datetime.datetime | None = None) -> list[OpenQuestions]:
    """The questionnaires a signed-in family may still open from its portal: its own links, still working."""
    now = now or timezone.now()
    invitations = Invitation.objects.filter(
        guardian=guardian,
        revoked_at=None,
        expires_at__gt=now,
        student__guardian_links__guardian=guardian,
        student__guardian_links__contact_allowed=True,
    ).select_related("student")
    return [
        OpenQuestions(
            invitation.student.preferred_name or invitation.student.first_name,
            link_of(invitation),
            invitation.submitted_at is not None,
        )
        for invitation in invitations.order_by("student__first_name")
    ]


def questions_asked(questionnaire: Questionnaire) -> list[Question]:
    return list(questionnaire.questions.filter(retired_at=None))


@dataclass
class FamilyAnswers:
    """One guardian's answers about the child, in their words and language."""

    invitation: Invitation
    answers: list[Answer]

    @property
    def guardian(self) -> Guardian:
        return self.invitation.guardian

    @property
    def languages(self) -> str:
        """The languages the family wrote in, named in the reader's language ("Spanish")."""
        codes = dict.fromkeys(answer.language for answer in self.answers)
        return ", ".join(language_name(code) for code in codes)


def what_the_family_told_us(*, student_id: int) -> list[FamilyAnswers]:
    """Each guardian's answers, newest invitation first; a guardian who has not answered yet is left out. The
    caller has checked the user may see the student."""
    invitations = (
        Invitation.objects.filter(student_id=student_id, answers__isnull=False)
        .distinct()
        .select_related("guardian", "invited_by")
        .prefetch_related(
            Prefetch(
                "answers",
                queryset=Answer.objects.select_related("question", "entered_by").order_by(
                    "question__position", "question_id"
                ),
            )
        )
        .order_by("-sent_at", "-id")
    )
    return [FamilyAnswers(invitation, list(invitation.answers.all())) for invitation in invitations]


def observations_of(*, author: User, student_id: int) -> list[Observation]:
    return list(Observation.objects.filter(author=author, student_id=student_id).order_by("-created_at")[:20])


SUMMARY_PART_LENGTH = 60


def _summaries(answers: Iterable[Answer], key_of: str) -> dict[int, str]:
    """A short line per child (or per guardian) from the answers Homeroom keeps at hand: "Loves: … · Best way to
    reach: …", from the most recent answer to each of those questions."""
    parts: dict[int, dict[str, str]] = {}
    for answer in answers:
        owner = answer.invitation.student_id if key_of == "student" else answer.invitation.guardian_id
        parts.setdefault(owner, {}).setdefault(answer.question.key, answer.text)
    return {
        owner: " · ".join(
            f"{label}: {Truncator(' '.join(by_key[key].split())).chars(SUMMARY_PART_LENGTH)}"
            for key, label in SUMMARY_KEYS.items()
            if key in by_key
        )
        for owner, by_key in parts.items()
    }


def _summary_answers(condition: Q) -> Iterable[Answer]:
    return (
        Answer.objects.filter(condition, question__key__in=list(SUMMARY_KEYS), question__text="")
        .select_related("invitation", "question")
        .order_by("-updated_at")
    )


def summaries_by_student(student_ids: Iterable[int]) -> dict[int, str]:
    return _summaries(_summary_answers(Q(invitation__student_id__in=list(student_ids))), "student")


def summaries_by_guardian(guardian_ids: Iterable[int]) -> dict[int, str]:
    return _summaries(_summary_answers(Q(invitation__guardian_id__in=list(guardian_ids))), "guardian")


class Progress:
    """Where a family stands, for the teacher's tracking."""

    NOT_ASKED = "not asked"
    CANNOT_ASK = "cannot ask"  # a no-contact order
    NOT_REACHED = "not reached"  # the link could not be delivered
    WAITING = "waiting"
    OPENED = "opened"
    STARTED = "started"  # some answers saved, not yet sent
    ANSWERED = "answered"
    CLOSED = "closed"  # the link expired or was revoked before an answer


@dataclass
class TrackingRow:
    link: StudentGuardian
    invitation: Invitation | None
    progress: str
    answers: int
    earlier_questions: bool = False  # asked before the class's questions changed


@dataclass
class LanguageCount:
    language: str
    label: str
    asked: int = 0
    answered: int = 0


@dataclass
class Tracking:
    rows: list[TrackingRow]
    asked: int
    opened: int
    answered: int
    by_language: list[LanguageCount] = field(default_factory=list)

    @property
    def still_to_reach(self) -> list[TrackingRow]:
        return [row for row in self.rows if row.progress in {Progress.NOT_ASKED, Progress.NOT_REACHED, Progress.CLOSED}]


def response_tracking(
    *, section: Section, questionnaire: Questionnaire, now: datetime.datetime | None = None
) -> Tracking:
    """Each guardian of the class's children: asked, opened, answered; and the counts by language. The caller
    has checked the user may see the class."""
    now = now or timezone.now()
    links = list(
        StudentGuardian.objects.filter(student__enrollments__section=section)
        .select_related("student", "guardian")
        .order_by("student__last_name", "student__first_name", "student_id", "guardian__last_name", "guardian_id")
    )
    invitations = invitations_that_count(questionnaire=questionnaire, students=section.enrollments.values("student_id"))
    answer_counts = dict(
        Answer.objects.filter(invitation__in=[i.pk for i in invitations.values()])
        .values_list("invitation_id")
        .annotate(count=Count("id"))
        .values_list("invitation_id", "count")
    )
    failed_guardians = set(
        Delivery.objects.filter(
            message__section=section, message__kind=MessageKind.QUESTIONNAIRE, status=DeliveryStatus.FAILED
        ).values_list("guardian_id", flat=True)
    )
    rows: list[TrackingRow] = []
    languages: dict[str, LanguageCount] = {}
    for link in links:
        invitation = invitations.get((link.student_id, link.guardian_id))
        count = answer_counts.get(invitation.pk, 0) if invitation else 0
        row = TrackingRow(
            link,
            invitation,
            _progress(link, invitation, count, failed_guardians, now),
            count,
            earlier_questions=invitation is not None and invitation.questionnaire_id != questionnaire.pk,
        )
        rows.append(row)
        if invitation is not None:
            language = languages.setdefault(
                link.guardian.preferred_language,
                LanguageCount(link.guardian.preferred_language, link.guardian.language_label),
            )
            language.asked += 1
            language.answered += row.progress == Progress.ANSWERED
    asked = [row for row in rows if row.invitation is not None]
    return Tracking(
        rows=rows,
        asked=len(asked),
        opened=sum(row.invitation.opened_at is not None for row in asked if row.invitation),
        answered=sum(row.progress == Progress.ANSWERED for row in rows),
        by_language=sorted(languages.values(), key=lambda count: -count.asked),
    )


def _progress(
    link: StudentGuardian,
    invitation: Invitation | None,
    answers: int,
    failed_guardians: set[int],
    now: datetime.datetime,
) -> str:
    if invitation is not None and invitation.submitted_at:
        return Progress.ANSWERED
    if not link.contact_allowed:
        return Progress.CANNOT_ASK
    if invitation is None or invitation.sent_at is None:
        return Progress.NOT_ASKED
    if not is_waiting(invitation, now):
        return Progress.CLOSED
    if link.guardian_id in failed_guardians and invitation.opened_at is None:
        return Progress.NOT_REACHED
    if answers:
        return Progress.STARTED
    return Progress.OPENED if invitation.opened_at else Progress.WAITING
