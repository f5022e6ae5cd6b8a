import datetime
import zoneinfo
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from communication.letters import Letter, default_letter, merge_field_problems
from communication.models import ContactChannel, Direction, Moment, Outcome, Tone, Topic
from communication.selectors import TimelineKind, contactable_guardians
from communication.services import GOOD_NEWS_MAX_LENGTH
from delivery.models import MESSAGE_MAX_LENGTH, SUBJECT_MAX_LENGTH, validate_one_line
from delivery.selectors import Recipient
from roster.access import staff_students_visible_to
from roster.models import Guardian, School, Section, Student

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django.utils.functional import _StrOrPromise as StrOrPromise


def past_moment_at_school(
    typed: datetime.datetime | None, zone: zoneinfo.ZoneInfo, future_error: "StrOrPromise"
) -> datetime.datetime | None:
    """A moment typed on a form, read as the school's local time; `future_error` when it has not happened yet
    (a few minutes' grace for a clock that runs fast)."""
    if typed is None:
        return None
    typed = timezone.make_naive(typed) if timezone.is_aware(typed) else typed
    moment = typed.replace(tzinfo=zone)
    if moment > timezone.now() + datetime.timedelta(minutes=5):
        raise forms.ValidationError(future_error)
    return moment


class GuardianChoiceField(forms.ModelChoiceField[Guardian]):
    def label_from_instance(self, obj: Guardian) -> str:
        return obj.display_name


class StudentChoiceField(forms.ModelMultipleChoiceField[Student]):
    def label_from_instance(self, obj: Student) -> str:
        return obj.display_name


class LogContactForm(forms.Form):
    """Two taps and one sentence: who and how are preset, the tone comes from the button that opened it."""

    summary = forms.CharField(
        label=_("What was said, in a sentence"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "autofocus": True}),
    )
    tone = forms.ChoiceField(label=_("Tone"), choices=Tone.choices, widget=forms.RadioSelect)
    outcome = forms.ChoiceField(
        label=_("Did you reach them?"), choices=Outcome.choices, initial=Outcome.REACHED, widget=forms.RadioSelect
    )
    guardian = GuardianChoiceField(
        label=_("Who"), queryset=Guardian.objects.none(), widget=forms.RadioSelect, empty_label=None
    )
    students = StudentChoiceField(
        label=_("About"),
        queryset=Student.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A call about brothers and sisters counts for each of them."),
    )
    channel = forms.ChoiceField(label=_("How"), choices=ContactChannel.choices, initial=ContactChannel.CALL)
    direction = forms.ChoiceField(
        label=_("Who started it"), choices=Direction.choices, initial=Direction.TO_FAMILY, widget=forms.RadioSelect
    )
    topic = forms.ChoiceField(label=_("Topic"), choices=[("", _("Not set")), *Topic.choices], required=False)
    occurred_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave empty to use the current time."),
    )
    follow_up_on = forms.DateField(
        label=_("Follow up on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("It comes back to the top of your Today list on that day."),
    )
    confirm_concern = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: User, student: Student, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.student = student
        self.zone = zoneinfo.ZoneInfo(student.school.time_zone)
        guardians = contactable_guardians(user=user, student=student)
        self.fields["guardian"].queryset = guardians  # type: ignore[attr-defined]  # a ModelChoiceField
        self.fields["guardian"].initial = guardians.values_list("pk", flat=True).first()
        # Brothers and sisters this user also sees, who share a contactable guardian with this child.
        self.fields["students"].queryset = (  # type: ignore[attr-defined]  # a ModelMultipleChoiceField
            staff_students_visible_to(user)
            .filter(guardian_links__guardian__in=guardians, guardian_links__contact_allowed=True)
            .distinct()
            .order_by("first_name", "id")
        )
        self.fields["students"].initial = [student.pk]

    def clean_occurred_at(self) -> datetime.datetime | None:
        return past_moment_at_school(
            self.cleaned_data["occurred_at"],
            self.zone,
            _("That is in the future: log a contact once it has happened."),
        )

    def clean_follow_up_on(self) -> datetime.date | None:
        follow_up_on: datetime.date | None = self.cleaned_data["follow_up_on"]
        if follow_up_on is not None and follow_up_on < timezone.now().astimezone(self.zone).date():
            raise forms.ValidationError(_("Choose today or a later day."))
        return follow_up_on

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        guardian, students = cleaned.get("guardian"), cleaned.get("students")
        if guardian is not None and students:
            linked = set(
                guardian.student_links.filter(contact_allowed=True, student__in=students).values_list(
                    "student_id", flat=True
                )
            )
            unlinked = [s.display_name for s in students if s.pk not in linked]
            if unlinked:
                self.add_error(
                    "students",
                    _("%(guardian)s is not a family contact for %(students)s.")
                    % {"guardian": guardian.display_name, "students": ", ".join(unlinked)},
                )
        return cleaned

    def interaction_fields(self) -> dict[str, Any]:
        """The cleaned data as `log_interaction` takes it."""
        data = {name: self.cleaned_data[name] for name in self.fields if name != "confirm_concern"}
        data["students"] = list(data["students"])
        return data


class GoodNewsForm(forms.Form):
    """Two taps and a sentence: what kind of good news, what happened; then "I called" or "Send it"."""

    CALLED, SEND = "called", "send"

    moment = forms.ChoiceField(label=_("What kind of good news?"), choices=Moment.choices, widget=forms.RadioSelect)
    sentence = forms.CharField(
        label=_("What happened, in one sentence"),
        max_length=GOOD_NEWS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    guardian = GuardianChoiceField(
        label=_("Who you called"),
        queryset=Guardian.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
        required=False,
    )
    action = forms.ChoiceField(choices=[(CALLED, CALLED), (SEND, SEND)], widget=forms.HiddenInput)

    def __init__(self, *args: Any, guardians: "QuerySet[Guardian]", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["guardian"].queryset = guardians  # type: ignore[attr-defined]  # a ModelChoiceField
        self.fields["guardian"].initial = guardians.values_list("pk", flat=True).first()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("action") == self.CALLED and cleaned.get("guardian") is None and "guardian" not in self.errors:
            self.add_error("guardian", _("Choose who you called."))
        return cleaned


class TimelineFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            ("", _("Everything")),
            (TimelineKind.CONTACT, _("Contacts logged by staff")),
            (TimelineKind.MESSAGE, _("Messages sent through Homeroom")),
        ],
    )
    tone = forms.ChoiceField(label=_("Tone"), required=False, choices=[("", _("Any tone")), *Tone.choices])


class IntroductionLetterForm(forms.Form):
    """The letter in English and in each other language the class's families read and Homeroom has it in."""

    how_to_reach = forms.CharField(label=_("How families can reach you"), max_length=200)
    office_hours = forms.CharField(
        label=_("Office hours"), max_length=200, help_text=_("For example: Tuesdays 3:15 to 4:00 pm, room 12.")
    )

    def __init__(self, *args: Any, languages: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.languages = languages
        names = dict(settings.LANGUAGES)
        for code in languages:
            default = default_letter(code)
            self.fields[f"subject_{code}"] = forms.CharField(
                label=_("Subject (%(language)s)") % {"language": names[code]},
                max_length=200,
                initial=default.subject,
                validators=[validate_one_line],
            )
            self.fields[f"body_{code}"] = forms.CharField(
                label=_("Letter (%(language)s)") % {"language": names[code]},
                widget=forms.Textarea(attrs={"rows": 16, "lang": code}),
                max_length=5000,
                initial=default.body,
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, value in list(cleaned.items()):
            if name.startswith(("subject_", "body_")):
                for problem in merge_field_problems(value):
                    self.add_error(name, problem)
        return cleaned

    def letters(self) -> dict[str, Letter]:
        return {
            code: Letter(subject=self.cleaned_data[f"subject_{code}"], body=self.cleaned_data[f"body_{code}"])
            for code in self.languages
        }

    def language_fields(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        names = dict(settings.LANGUAGES)
        return [(str(names[code]), self[f"subject_{code}"], self[f"body_{code}"]) for code in self.languages]


CHOSEN_FAMILIES = "chosen"


class FamilyLetterForm(forms.Form):
    """The introduction letter as the teacher writes it for one family."""

    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX_LENGTH)
    body = forms.CharField(label=_("Letter"), max_length=MESSAGE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 16}))


class MessageTextForm(forms.Form):
    """What a message says, and in what tone: every message is logged as a contact."""

    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX_LENGTH)
    body = forms.CharField(
        label=_("Message"),
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    tone = forms.ChoiceField(label=_("Tone"), choices=Tone.choices, initial=Tone.NEUTRAL, widget=forms.RadioSelect)


class MessageForm(MessageTextForm):
    """A message to the families of a class, or to families chosen one by one."""

    audience = forms.ChoiceField(label=_("To"), widget=forms.RadioSelect)
    families = forms.TypedMultipleChoiceField(
        label=_("Families"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only families the school may contact are listed. Each family sees only its own copy."),
    )

    def __init__(
        self,
        *args: Any,
        sections: list[Section],
        families: list[Recipient],
        told_us: Mapping[int, str] | None = None,
        **kwargs: Any,
    ) -> None:
        """`told_us`: by guardian, the line of what that family told the school about their child."""
        super().__init__(*args, **kwargs)
        self.sections = {f"class-{section.pk}": section for section in sections}
        cast(forms.ChoiceField, self.fields["audience"]).choices = [
            *(
                (key, _("All families of %(class)s") % {"class": section.name})
                for key, section in self.sections.items()
            ),
            (CHOSEN_FAMILIES, _("The families I choose")),
        ]
        cast(forms.ChoiceField, self.fields["families"]).choices = [
            (family.guardian.pk, family_label(family, (told_us or {}).get(family.guardian.pk, "")))
            for family in families
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("audience") == CHOSEN_FAMILIES and not cleaned.get("families"):
            self.add_error("families", _("Choose at least one family."))
        return cleaned

    @property
    def section(self) -> Section | None:
        return self.sections.get(self.cleaned_data["audience"])

    @property
    def guardian_ids(self) -> list[int]:
        return self.cleaned_data["families"] if self.section is None else []

    def audience_of(self, families: list[Recipient]) -> list[Recipient]:
        """The families this message would go to: the chosen ones, or those with a child in the class."""
        if self.section is None:
            chosen = set(self.guardian_ids)
            return [family for family in families if family.guardian.pk in chosen]
        pupils = set(self.section.enrollments.values_list("student_id", flat=True))
        return [family for family in families if any(student.pk in pupils for student in family.students)]


def family_label(family: Recipient, told_us: str = "") -> str:
    guardian = family.guardian
    label = _("%(name)s, family of %(children)s · %(language)s") % {
        "name": guardian.display_name,
        "children": family.child_names,
        "language": guardian.language_label,
    }
    return _("%(family)s. They told us: %(told_us)s") % {"family": label, "told_us": told_us} if told_us else label


class NoticeForm(MessageTextForm):
    """A leader's notice to every family of a school."""

    tone = None  # type: ignore[assignment]  # a notice is no contact about a child: it has no tone
    school = forms.TypedChoiceField(label=_("School"), coerce=int)
    urgent = forms.BooleanField(
        label=_("Urgent: send it now, even in families' quiet hours and to those who turned email off"),
        required=False,
        help_text=_("Only for what cannot wait: a closure, an emergency. Families see it marked urgent."),
    )

    def __init__(self, *args: Any, schools: list[School], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schools = {school.pk: school for school in schools}
        cast(forms.TypedChoiceField, self.fields["school"]).choices = [(s.pk, s.name) for s in schools]
        if len(schools) == 1:
            self.fields["school"].initial = schools[0].pk


WEEKDAY_CHOICES = [(str(day), name) for day, name in WEEKDAYS.items()]


class OfficeHoursForm(forms.Form):
    weekdays = forms.MultipleChoiceField(
        label=_("Days"), choices=WEEKDAY_CHOICES, widget=forms.CheckboxSelectMultiple, initial=["0", "1", "2", "3", "4"]
    )
    opens_at = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    closes_at = forms.TimeField(label=_("Until"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        opens_at, closes_at = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens_at and closes_at and opens_at >= closes_at:
            self.add_error("closes_at", _("End after the start."))
        return cleaned


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your answer"), max_length=MESSAGE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 5})
    )
