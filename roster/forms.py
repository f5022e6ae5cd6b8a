from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from roster.access import schools_led_by
from roster.models import School


class InviteFamiliesForm(forms.Form):
    school = forms.ModelChoiceField(queryset=School.objects.none(), widget=forms.HiddenInput, label=_("School"))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only schools this user leads: a forged id gets "Select a valid choice".
        self.fields["school"].queryset = schools_led_by(user)  # type: ignore[attr-defined]  # a ModelChoiceField
