from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from roster.access import districts_administered_by, schools_led_by
from roster.models import ImportFormat, School
from roster.services import IMPORT_EXTENSIONS


class InviteFamiliesForm(forms.Form):
    school = forms.ModelChoiceField(queryset=School.objects.none(), widget=forms.HiddenInput, label=_("School"))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only schools this user leads: a forged id gets "Select a valid choice".
        self.fields["school"].queryset = schools_led_by(user)  # type: ignore[attr-defined]  # a ModelChoiceField


class RosterImportForm(forms.Form):
    """An upload of a roster file, and where it goes: scoped to the schools and districts this user may import."""

    format = forms.ChoiceField(
        label=_("What kind of file is it?"),
        choices=[
            (ImportFormat.ONEROSTER, _("OneRoster: a .zip file exported from your student information system")),
            (ImportFormat.PLAIN_CSV, _("Homeroom's plain CSV: one .csv file, one row per student")),
        ],
        widget=forms.RadioSelect,
    )
    school = forms.ChoiceField(label=_("Which school is it for?"))
    file = forms.FileField(
        label=_("The file"),
        help_text=_("If the page shows a mistake, choose the file again: browsers do not keep it."),
        widget=forms.FileInput(attrs={"accept": ".zip,.csv"}),
    )
    dry_run = forms.BooleanField(
        label=_("Check only — change nothing"),
        required=False,
        help_text=_("Every row is checked and you see what the import would change, but nothing is written."),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only places this user may import into: a forged value gets "Select a valid choice".
        self.districts = {f"district-{d.pk}": d for d in districts_administered_by(user)}
        self.schools = {str(s.pk): s for s in schools_led_by(user).select_related("district")}
        choices = [
            (key, _("Every school of %(district)s (OneRoster only)") % {"district": district.name})
            for key, district in self.districts.items()
        ] + [(key, school.name) for key, school in self.schools.items()]
        field = self.fields["school"]
        field.choices = choices  # type: ignore[attr-defined]  # a ChoiceField
        # One place only (a leader's school): nothing to choose, the page names it.
        self.fixed_place = choices[0][1] if len(choices) == 1 else None
        if self.fixed_place is not None:
            field.widget = forms.HiddenInput()
            field.initial = choices[0][0]

    @property
    def has_places(self) -> bool:
        return bool(self.districts or self.schools)

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        limit = settings.HOMEROOM_IMPORT_MAX_BYTES
        if upload.size is not None and upload.size > limit:
            raise ValidationError(
                _("This file is %(size)s; Homeroom takes files of up to %(limit)s.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
                code="too_large",
            )
        if Path(upload.name or "").suffix.lower() not in IMPORT_EXTENSIONS.values():
            raise ValidationError(
                _("Upload a .zip file (OneRoster) or a .csv file (Homeroom's plain CSV)."), code="extension"
            )
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload, format, place = cleaned.get("file"), cleaned.get("format"), cleaned.get("school")
        if upload is not None and format:
            expected = IMPORT_EXTENSIONS[ImportFormat(format)]
            if Path(upload.name or "").suffix.lower() != expected:
                message = (
                    _("A OneRoster roster is a .zip file: upload the .zip your student information system exported.")
                    if format == ImportFormat.ONEROSTER
                    else _("Homeroom's plain CSV is a .csv file: save the spreadsheet as CSV (UTF-8) and upload that.")
                )
                self.add_error("file", ValidationError(message, code="extension"))
        if place in self.districts:
            cleaned["school"], cleaned["district"] = None, self.districts[place]
            if format == ImportFormat.PLAIN_CSV:
                self.add_error(
                    "school",
                    ValidationError(_("A plain CSV file is one school's roster: choose the school."), code="school"),
                )
        elif place in self.schools:
            cleaned["school"] = self.schools[place]
            cleaned["district"] = cleaned["school"].district
        return cleaned
