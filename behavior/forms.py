import datetime
import zoneinfo
from typing import Any, ClassVar, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from behavior.models import BehaviorNote, Cause
from communication.forms import past_moment_at_school
from communication.models import ContactChannel, Outcome
from roster.access import contactable_links_for
from roster.models import Guardian, Student

LOCAL_MOMENT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class _LocalTimeForm(forms.Form):
    """A moment typed on the form is the school's local time."""

    def __init__(self, *args: Any, student: Student, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.student = student
        self.zone = zoneinfo.ZoneInfo(student.school.time_zone)

    def clean_occurred_at(self) -> datetime.datetime | None:
        return past_moment_at_school(
            self.cleaned_data["occurred_at"], self.zone, _("That is in the future: write it once it has happened.")
        )


class NoteForm(_LocalTimeForm, forms.ModelForm):
    causes = forms.MultipleChoiceField(
        label=_("What may be behind it?"),
        choices=Cause.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Your guess, to ask the family about: not a label."),
    )

    class Meta:
        model = BehaviorNote
        fields = ("occurred_at", "setting", "subject", "antecedent", "behavior", "response", "severity", "cause_note")
        widgets: ClassVar = {
            "occurred_at": LOCAL_MOMENT,
            "antecedent": forms.Textarea(attrs={"rows": 2}),
            "behavior": forms.Textarea(attrs={"rows": 2}),
            "response": forms.Textarea(attrs={"rows": 2}),
            "severity": forms.RadioSelect,
        }
        help_texts: ClassVar = {
            "behavior": _("What you saw and heard, as facts: what a camera would record."),
            "occurred_at": _("Leave it empty if it just happened."),
        }

    def __init__(self, *args: Any, student: Student, **kwargs: Any) -> None:
        super().__init__(*args, student=student, **kwargs)
        self.fields["occurred_at"].required = False


class OutreachForm(_LocalTimeForm):
    """How the early conversation with the family went."""

    guardian = forms.ModelChoiceField(label=_("Who you talked with"), queryset=Guardian.objects.none())
    channel = forms.ChoiceField(label=_("How"), choices=ContactChannel.choices, initial=ContactChannel.CALL)
    outcome = forms.ChoiceField(label=_("Did you reach them?"), choices=Outcome.choices, initial=Outcome.REACHED)
    agreed = forms.CharField(
        label=_("What you heard and agreed"),
        max_length=1500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    next_step = forms.CharField(label=_("The one next step"), max_length=400, required=False)
    follow_up_on = forms.DateField(
        label=_("Check back on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("It comes back to the top of your Today list on that day."),
    )
    occurred_at = forms.DateTimeField(label=_("When"), required=False, widget=LOCAL_MOMENT)

    def __init__(self, *args: Any, user: User, student: Student, **kwargs: Any) -> None:
        super().__init__(*args, student=student, **kwargs)
        # Custody: only the family members this person may contact about the child.
        links = contactable_links_for(user).filter(student=student)
        guardian_field = cast(forms.ModelChoiceField, self.fields["guardian"])
        guardian_field.queryset = Guardian.objects.filter(student_links__in=links).order_by(
            "-student_links__is_primary_contact", "last_name", "first_name"
        )
        guardian_field.initial = links.order_by("-is_primary_contact").values_list("guardian_id", flat=True).first()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("agreed", "").strip() and not cleaned.get("next_step", "").strip() and not self.errors:
            raise forms.ValidationError(_("Write what you and the family agreed, or what happened when you called."))
        return cleaned
