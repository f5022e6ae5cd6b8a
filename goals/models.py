from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from goals.library import HOME_ACTIVITIES, Area
from intake.models import Answer
from roster.models import Guardian, Student

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise

STATEMENT_MAX_LENGTH = 500
STRATEGIES_MAX_LENGTH = 1000
NOTE_MAX_LENGTH = 1000


def limited_text(verbose_name: "StrOrPromise", max_length: int, *, blank: bool = False) -> "models.TextField[str, str]":
    """A TextField's max_length sizes the form's box but is not checked by full_clean: a validator checks it."""
    return models.TextField(
        verbose_name, max_length=max_length, validators=[MaxLengthValidator(max_length)], blank=blank
    )


class Cadence(models.IntegerChoices):
    WEEKLY = 7, _("Every week")
    FORTNIGHTLY = 14, _("Every two weeks")
    MONTHLY = 28, _("Every four weeks")


class Goal(models.Model):
    """One goal for a student, set by school with the family: where the child is, where they will be by when,
    what school and home will each do, and how often it is checked."""

    student = models.ForeignKey(Student, models.CASCADE, related_name="goals", verbose_name=_("student"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="goals_set", verbose_name=_("set by")
    )
    area = models.CharField(_("area"), max_length=20, choices=Area.choices)
    statement = limited_text(_("the goal, in plain words"), STATEMENT_MAX_LENGTH)
    measure = models.CharField(_("how it is measured"), max_length=200, blank=True)
    unit = models.CharField(_("unit"), max_length=40, blank=True)
    # Values are whole numbers or tenths in practice; nine digits leave room for any count or percentage.
    baseline = models.DecimalField(_("where the child is now"), max_digits=9, decimal_places=2, null=True, blank=True)
    baseline_on = models.DateField(_("measured on"), null=True, blank=True)
    target = models.DecimalField(_("target"), max_digits=9, decimal_places=2, null=True, blank=True)
    due_on = models.DateField(_("due date"), null=True, blank=True)
    checkin_every_days = models.PositiveSmallIntegerField(
        _("check-in"), choices=Cadence.choices, default=Cadence.FORTNIGHTLY
    )
    school_strategies = limited_text(_("what school will do"), STRATEGIES_MAX_LENGTH, blank=True)
    home_strategies = limited_text(_("what home can do"), STRATEGIES_MAX_LENGTH, blank=True)
    builds_on = models.ManyToManyField(
        Answer, blank=True, related_name="goals", verbose_name=_("what the family told us that it builds on")
    )
    visible_to_family = models.BooleanField(_("the family sees it"), default=True)
    families_may_measure = models.BooleanField(
        _("the family can measure it at home"),
        default=False,
        help_text=_("When on, the family may give a number with what they see at home, not only a note."),
    )
    language = models.CharField(_("written in"), max_length=10, default=settings.LANGUAGE_CODE)
    acknowledged_at = models.DateTimeField(_("date the family agreed"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        Guardian, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("agreed by")
    )
    # When the teacher last sent the family the goal and its link; a goal can be shared again after a change.
    family_told_at = models.DateTimeField(_("the family was told"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        ordering: ClassVar = ["due_on", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(area__in=Area.values), name="goal_area_valid"),
            models.CheckConstraint(condition=Q(checkin_every_days__gte=1), name="goal_cadence_positive"),
        ]

    def __str__(self) -> str:
        return self.statement[:60]


# The teacher's words a family reads in its language once the teacher approves them.
TRANSLATED_FIELDS = ("statement", "measure", "unit", "school_strategies", "home_strategies")


class GoalTranslation(models.Model):
    """The goal in a family's language, as the teacher approved it: a machine draft the teacher read and
    corrected, or their own words."""

    goal = models.ForeignKey(Goal, models.CASCADE, related_name="translations", verbose_name=_("goal"))
    language = models.CharField(_("language"), max_length=10)
    statement = limited_text(_("the goal"), STATEMENT_MAX_LENGTH)
    measure = models.CharField(_("how it is measured"), max_length=200, blank=True)
    unit = models.CharField(_("unit"), max_length=40, blank=True)
    school_strategies = limited_text(_("what school will do"), STRATEGIES_MAX_LENGTH, blank=True)
    home_strategies = limited_text(_("what home can do"), STRATEGIES_MAX_LENGTH, blank=True)
    machine_drafted = models.BooleanField(_("drafted by machine translation"), default=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", verbose_name=_("approved by")
    )
    approved_at = models.DateTimeField(_("approved on"))

    class Meta:
        verbose_name = _("goal translation")
        verbose_name_plural = _("goal translations")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["goal", "language"], name="goal_translation_one_per_language"),
        ]

    def __str__(self) -> str:
        return f"goal {self.goal_id} in {self.language}"


class HomeActivity(models.Model):
    """Something the family can do at home for the goal: one of Homeroom's (asked in the family's language) or
    the teacher's own words."""

    goal = models.ForeignKey(Goal, models.CASCADE, related_name="activities", verbose_name=_("goal"))
    key = models.CharField(_("Homeroom's activity"), max_length=40, blank=True)
    text = limited_text(_("the activity"), STRATEGIES_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("home activity")
        verbose_name_plural = _("home activities")
        ordering: ClassVar = ["id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=~Q(key="") | ~Q(text=""), name="home_activity_says_something"),
        ]

    def __str__(self) -> str:
        return self.key or self.text[:60]

    def wording(self) -> str:
        """In the active language when it is Homeroom's; as the teacher wrote it otherwise."""
        idea = HOME_ACTIVITIES.get(self.key)
        return str(idea.text) if idea and not self.text else self.text


class CheckIn(models.Model):
    """A look at the goal: a value of its measure, a note, or both, from school or from home."""

    goal = models.ForeignKey(Goal, models.CASCADE, related_name="checkins", verbose_name=_("goal"))
    on = models.DateField(_("date"))
    value = models.DecimalField(
        _("value"),
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("-9999999")), MaxValueValidator(Decimal("9999999"))],
    )
    note = limited_text(_("note"), NOTE_MAX_LENGTH, blank=True)
    by_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    by_guardian = models.ForeignKey(
        Guardian, models.SET_NULL, null=True, blank=True, related_name="goal_checkins", verbose_name=_("by family")
    )
    activity = models.ForeignKey(
        HomeActivity,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("home activity done"),
    )
    # A family's answer in a conversation that the teacher counted as what they see at home.
    reply = models.ForeignKey(
        "communication.Reply",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="goal_checkins",
        verbose_name=_("from the family's reply"),
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering: ClassVar = ["on", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(value__isnull=False) | ~Q(note=""), name="checkin_says_something"),
            models.UniqueConstraint(
                fields=["goal", "reply"], condition=Q(reply__isnull=False), name="checkin_counts_a_reply_once"
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["goal", "on"], name="checkin_goal_on")]

    def __str__(self) -> str:
        return f"check-in of goal {self.goal_id} on {self.on}"

    @property
    def from_home(self) -> bool:
        return self.by_guardian_id is not None
