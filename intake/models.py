import secrets
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from intake.questions import DEFAULT_QUESTIONS
from roster.models import Guardian, School, Section, Student

QUESTION_MAX_LENGTH = 500
ANSWER_MAX_LENGTH = 2000


class Questionnaire(models.Model):
    """The questions a school asks its families, or the questions one teacher asks the families of a class: a
    teacher's changes apply to their class only, so a class gets a questionnaire of its own when first changed."""

    school = models.ForeignKey(School, models.CASCADE, related_name="questionnaires", verbose_name=_("school"))
    section = models.OneToOneField(
        Section, models.CASCADE, null=True, blank=True, related_name="questionnaire", verbose_name=_("class")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("questionnaire")
        verbose_name_plural = _("questionnaires")
        constraints: ClassVar = [
            # One school-wide questionnaire per school.
            models.UniqueConstraint(fields=["school"], condition=Q(section=None), name="questionnaire_one_per_school"),
        ]

    def __str__(self) -> str:
        return f"questionnaire of school {self.school_id}, class {self.section_id}"


class Question(models.Model):
    questionnaire = models.ForeignKey(
        Questionnaire, models.CASCADE, related_name="questions", verbose_name=_("questionnaire")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    # One of Homeroom's questions, asked in the family's language while `text` is empty.
    key = models.CharField(_("Homeroom's question"), max_length=32, blank=True)
    # The school's or the teacher's own words, asked as written.
    text = models.CharField(_("question"), max_length=QUESTION_MAX_LENGTH, blank=True)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering: ClassVar = ["position", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=~Q(key="") | ~Q(text=""), name="question_has_words"),
        ]

    def __str__(self) -> str:
        return self.text or self.key

    def wording(self, language: str) -> str:
        """The question as a family reading `language` is asked it."""
        if self.text or self.key not in DEFAULT_QUESTIONS:
            return self.text
        with translation.override(language):
            return str(DEFAULT_QUESTIONS[self.key])


class AnswersFrom(models.TextChoices):
    FAMILY = "family", _("The family, online")
    PHONE = "phone", _("By phone, typed in by staff")
    PAPER = "paper", _("On paper, typed in by staff")


def new_secret() -> str:
    return secrets.token_urlsafe(24)


class Invitation(models.Model):
    """One guardian asked about one child: each guardian of a two-household family answers separately. The link
    carries `secret`, which a revoked link loses."""

    questionnaire = models.ForeignKey(
        Questionnaire, models.PROTECT, related_name="invitations", verbose_name=_("questionnaire")
    )
    student = models.ForeignKey(Student, models.CASCADE, related_name="intake_invitations", verbose_name=_("student"))
    guardian = models.ForeignKey(
        Guardian, models.CASCADE, related_name="intake_invitations", verbose_name=_("guardian")
    )
    # The class whose teacher asked: its response tracking counts it.
    section = models.ForeignKey(
        Section, models.SET_NULL, null=True, blank=True, related_name="intake_invitations", verbose_name=_("class")
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="intake_invitations_sent",
        verbose_name=_("invited by"),
    )
    secret = models.CharField(_("secret"), max_length=64, default=new_secret)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    expires_at = models.DateTimeField(_("link expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("link revoked"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("answered"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    answers_from = models.CharField(
        _("answers from"), max_length=8, choices=AnswersFrom.choices, default=AnswersFrom.FAMILY
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["questionnaire", "student", "guardian"], name="invitation_once_per_guardian_and_child"
            ),
            models.CheckConstraint(condition=Q(answers_from__in=AnswersFrom.values), name="invitation_from_valid"),
        ]
        indexes: ClassVar = [
            # Serves the reminders: links sent, not answered, not yet reminded.
            models.Index(
                fields=["sent_at"],
                condition=Q(submitted_at=None, reminded_at=None, revoked_at=None),
                name="invitation_awaiting_answer",
            ),
            # Serves "what the family told us" on the student page.
            models.Index(fields=["student", "guardian"], name="invitation_student"),
        ]

    def __str__(self) -> str:
        return f"invitation {self.pk}: student {self.student_id}, guardian {self.guardian_id}"


class Answer(models.Model):
    invitation = models.ForeignKey(Invitation, models.CASCADE, related_name="answers", verbose_name=_("invitation"))
    question = models.ForeignKey(Question, models.PROTECT, related_name="answers", verbose_name=_("question"))
    # The question as the family read it: a question reworded later does not change what they answered.
    question_text = models.CharField(_("question asked"), max_length=QUESTION_MAX_LENGTH)
    text = models.TextField(_("answer"), max_length=ANSWER_MAX_LENGTH)
    language = models.CharField(_("language"), max_length=8)
    # A machine translation into the school's language, when a translator is configured.
    translation = models.TextField(_("machine translation"), blank=True)
    updated_at = models.DateTimeField(_("updated"))
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("typed in by"),
    )

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["invitation", "question"], name="answer_once_per_question"),
        ]

    def __str__(self) -> str:
        return f"answer to question {self.question_id}"


class Observation(models.Model):
    """A member of staff's own note about a child: never shown to the family, never mixed with its words."""

    student = models.ForeignKey(Student, models.CASCADE, related_name="observations", verbose_name=_("student"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="observations", verbose_name=_("author")
    )
    text = models.TextField(_("observation"), max_length=ANSWER_MAX_LENGTH)
    created_at = models.DateTimeField(_("written"))

    class Meta:
        verbose_name = _("observation")
        verbose_name_plural = _("observations")
        # Serves the author's notes on the student page.
        indexes: ClassVar = [models.Index(fields=["student", "author", "-created_at"], name="observation_recent")]

    def __str__(self) -> str:
        return f"observation on student {self.student_id}"
