import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from goals.library import HOME_ACTIVITIES, Example
from goals.models import NOTE_MAX_LENGTH, STATEMENT_MAX_LENGTH, STRATEGIES_MAX_LENGTH, Goal
from goals.services import GOAL_FIELDS
from goals.smart import Draft
from intake.models import Answer

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AnswerChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        answer = cast(Answer, obj)
        return f"{answer.question_text} — {Truncator(answer.text).chars(120)}"


class GoalForm(forms.ModelForm):
    builds_on = AnswerChoices(
        label=_("What the family told us that it builds on"),
        queryset=Answer.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Goal
        fields = GOAL_FIELDS
        widgets: dict[str, Any] = {  # noqa: RUF012  # Django reads it as a class attribute
            "statement": forms.Textarea(attrs={"rows": 2}),
            "school_strategies": forms.Textarea(attrs={"rows": 3}),
            "home_strategies": forms.Textarea(attrs={"rows": 3}),
            "baseline_on": DATE,
            "due_on": DATE,
            "baseline": forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
            "target": forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
        }
        help_texts: dict[str, Any] = {  # noqa: RUF012
            "statement": _(
                "Who will do what, in which task: “Maya will read a grade-level page aloud at 60 words a minute.”"
            ),
            "measure": _("What you count or time: words read correctly in a minute, percent of homework turned in."),
            "unit": _("Words per minute, %, days out of 10…"),
            "visible_to_family": _("The family sees the goal, its chart and what home can do, in its language."),
        }

    def __init__(self, *args: Any, answers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelMultipleChoiceField, self.fields["builds_on"]).queryset = answers
        for name in ("statement",):
            self.fields[name].widget.attrs["maxlength"] = STATEMENT_MAX_LENGTH
        for name in ("school_strategies", "home_strategies"):
            self.fields[name].widget.attrs["maxlength"] = STRATEGIES_MAX_LENGTH

    def draft(self) -> Draft:
        """What has been written so far, valid or not, for the SMART check; before anything is posted, the goal
        being changed or the example it starts from."""
        if self.is_bound:
            return draft_from(getattr(self, "cleaned_data", {}))
        if self.instance.pk:
            values = {name: getattr(self.instance, name) for name in GOAL_FIELDS}
            return draft_from({**values, "builds_on": list(self.instance.builds_on.all())})
        return draft_from(self.initial)


def draft_from(values: Mapping[str, Any]) -> Draft:
    return Draft(
        statement=values.get("statement") or "",
        measure=values.get("measure") or "",
        unit=values.get("unit") or "",
        baseline=values.get("baseline"),
        baseline_on=values.get("baseline_on"),
        target=values.get("target"),
        due_on=values.get("due_on"),
        checkin_every_days=values.get("checkin_every_days") or 14,
        school_strategies=values.get("school_strategies") or "",
        home_strategies=values.get("home_strategies") or "",
        builds_on_answers=len(values.get("builds_on") or ()),
    )


def initial_from(example: Example, name: str) -> dict[str, Any]:
    """A goal form filled from one of Homeroom's examples, for the child: a start, not the goal."""
    today = timezone.localdate()
    return {
        "area": example.area,
        "statement": example.statement_for(name),
        "measure": str(example.measure),
        "unit": str(example.unit),
        "baseline_on": today,
        "due_on": today + datetime.timedelta(weeks=example.weeks),
        "target": example.target,
        "checkin_every_days": example.checkin_every_days,
        "school_strategies": str(example.school_strategies),
        "home_strategies": str(example.home_strategies),
        "families_may_measure": example.families_may_measure,
    }


def _value_field(label: "StrOrPromise") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        max_digits=9,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )


class CheckInForm(forms.Form):
    on = forms.DateField(label=_("Date"), widget=DATE)
    value = _value_field(_("Value"))
    note = forms.CharField(
        label=_("Note"), required=False, max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("value") is None and not cleaned.get("note", "").strip() and not self.errors:
            raise forms.ValidationError(_("Give a value, a note, or both."))
        return cleaned


class _FromHomeForm(forms.Form):
    """Has its value only when the goal's measure is one a family can take."""

    def __init__(self, *args: Any, measurable: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not measurable:
            del self.fields["value"]


class HomeCheckInForm(_FromHomeForm):
    """What the family sees at home."""

    value = _value_field(_("Your count"))
    note = forms.CharField(
        label=_("What you see at home"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("value") is None and not cleaned.get("note", "").strip() and not self.errors:
            raise forms.ValidationError(_("Write what you see, or give a number."))
        return cleaned


class ReplyCountForm(_FromHomeForm):
    """A family's reply counted as a check-in from home, with the number the teacher read in it."""

    value = _value_field(_("The number they gave (optional)"))


class ActivityDoneForm(forms.Form):
    note = forms.CharField(
        label=_("How did it go? (optional)"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class HomeActivityForm(forms.Form):
    key = forms.ChoiceField(label=_("One of Homeroom's activities"), required=False)
    text = forms.CharField(
        label=_("Or your own"),
        required=False,
        max_length=STRATEGIES_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["key"]).choices = [
            ("", _("— choose —")),
            *((idea.key, idea.text) for idea in HOME_ACTIVITIES.values()),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("key") and not cleaned.get("text", "").strip() and not self.errors:
            raise forms.ValidationError(_("Choose an activity or write your own."))
        return cleaned


class TranslationForm(forms.Form):
    statement = forms.CharField(
        label=_("The goal"), max_length=STATEMENT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )
    measure = forms.CharField(label=_("How it is measured"), required=False, max_length=200)
    unit = forms.CharField(label=_("Unit"), required=False, max_length=40)
    school_strategies = forms.CharField(
        label=_("What school will do"),
        required=False,
        max_length=STRATEGIES_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    home_strategies = forms.CharField(
        label=_("What home can do"),
        required=False,
        max_length=STRATEGIES_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    machine_drafted = forms.BooleanField(required=False, widget=forms.HiddenInput)
