"""Behavior notes: what happened, when and where, what came just before and how the adult responded (A-B-C), and
what the teacher thinks may be behind it. Part of the student's record, so written as facts."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from goals.models import limited_text
from roster.models import Student

TEXT_MAX_LENGTH = 1000


class Setting(models.TextChoices):
    CLASSROOM = "classroom", _("Classroom")
    HALLWAY = "hallway", _("Hallway")
    CAFETERIA = "cafeteria", _("Cafeteria")
    RECESS = "recess", _("Recess or playground")
    SPECIALS = "specials", _("Art, music or PE")
    LIBRARY = "library", _("Library")
    BUS = "bus", _("Bus or arrival")
    ONLINE = "online", _("Online")
    OTHER = "other", _("Somewhere else")


class Severity(models.TextChoices):
    MINOR = "minor", _("Minor")
    MAJOR = "major", _("Major")


class Cause(models.TextChoices):
    """What may be behind a behavior: the teacher's guess, asked of the family as a question, never a label."""

    TOO_HARD = "too_hard", _("The task was too hard")
    TOO_EASY = "too_easy", _("The task was too easy")
    ATTENTION = "attention", _("Seeking attention")
    AVOIDING = "avoiding", _("Avoiding a task")
    PEER_CONFLICT = "peer_conflict", _("A conflict with a classmate")
    HUNGER_FATIGUE = "hunger_fatigue", _("Hunger or tiredness")
    CHANGE_AT_HOME = "change_at_home", _("A change at home")
    UNCLEAR_EXPECTATIONS = "unclear", _("Expectations were unclear")
    HEALTH = "health", _("Health or medication")
    SENSORY = "sensory", _("Too much noise, light or bustle")
    OTHER = "other", _("Something else")

    @property
    def question(self) -> str:
        """How to raise it with the family: as a question, never a verdict."""
        return str(CAUSE_QUESTIONS[self])


CAUSE_QUESTIONS = {
    Cause.TOO_HARD: _("Does homework in this subject feel hard at home too?"),
    Cause.TOO_EASY: _("Does your child say school is boring, or finish things quickly at home?"),
    Cause.ATTENTION: _("What helps your child feel noticed at home?"),
    Cause.AVOIDING: _("Is there a kind of task your child tries to get out of at home?"),
    Cause.PEER_CONFLICT: _("Has your child mentioned a problem with a classmate?"),
    Cause.HUNGER_FATIGUE: _("How has your child been sleeping and eating lately?"),
    Cause.CHANGE_AT_HOME: _("Has anything changed at home lately?"),
    Cause.UNCLEAR_EXPECTATIONS: _("How do you explain what you expect at home, and what works?"),
    Cause.HEALTH: _("Is there anything about your child's health or medication we should know?"),
    Cause.SENSORY: _("Does your child find noisy or busy places hard?"),
    Cause.OTHER: _("Is there anything else we should know?"),
}


class BehaviorNote(models.Model):
    """One moment, as a fact: not shown to the family by default (the teacher shares what they choose, in a
    conversation), but part of the record a family may ask to inspect."""

    student = models.ForeignKey(Student, models.CASCADE, related_name="behavior_notes", verbose_name=_("student"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", verbose_name=_("written by")
    )
    occurred_at = models.DateTimeField(_("when"))
    setting = models.CharField(_("where"), max_length=12, choices=Setting.choices, default=Setting.CLASSROOM)
    subject = models.CharField(_("class or subject"), max_length=80, blank=True)
    antecedent = limited_text(_("what happened just before"), TEXT_MAX_LENGTH, blank=True)
    behavior = limited_text(_("what the student did"), TEXT_MAX_LENGTH)
    response = limited_text(_("how the adult responded"), TEXT_MAX_LENGTH, blank=True)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, default=Severity.MINOR)
    cause_note = models.CharField(_("more about the possible cause"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("written"), auto_now_add=True)

    class Meta:
        verbose_name = _("behavior note")
        verbose_name_plural = _("behavior notes")
        ordering: ClassVar = ["-occurred_at", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(setting__in=Setting.values), name="behavior_note_setting_valid"),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="behavior_note_severity_valid"),
        ]
        # Serves a student's recent notes (patterns, the student page) and Today's look across a class.
        indexes: ClassVar = [models.Index(fields=["student", "-occurred_at"], name="behavior_note_recent")]

    def __str__(self) -> str:
        return f"{self.get_severity_display()} note on {self.occurred_at:%Y-%m-%d}"


class SuspectedCause(models.Model):
    """One of the causes the teacher suspects for a note: a row each, so a school can count them by grade."""

    note = models.ForeignKey(BehaviorNote, models.CASCADE, related_name="causes", verbose_name=_("note"))
    cause = models.CharField(_("possible cause"), max_length=16, choices=Cause.choices)

    class Meta:
        verbose_name = _("possible cause")
        verbose_name_plural = _("possible causes")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(cause__in=Cause.values), name="suspected_cause_valid"),
            models.UniqueConstraint(fields=["note", "cause"], name="suspected_cause_once_per_note"),
        ]

    def __str__(self) -> str:
        return self.cause
