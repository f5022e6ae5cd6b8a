from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from homeroom.ids import parse_id
from records.selectors import links_that_may_receive_record
from roster.models import Student, StudentGuardian

# The query string's name, as a family's request reads: ?for=<the guardian's id>.
FOR = "for"


class FamilyMemberChoice(forms.ModelChoiceField[StudentGuardian]):
    def to_python(self, value: Any) -> StudentGuardian | None:
        # A guardian's id from the address bar: one that can name no row is refused before the database sees it.
        if value not in self.empty_values and parse_id(str(value)) is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)

    def label_from_instance(self, obj: StudentGuardian) -> str:
        return f"{obj.guardian.display_name} ({obj.relationship_label})"


class RecordRequestForm(forms.Form):
    """Who asked to inspect the record: one of the child's family members it may be given to."""

    def __init__(self, *args: Any, student: Student, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Custody: only family members who may receive the child's records; a forged id is refused, not shown.
        self.offered = links_that_may_receive_record(student)
        self.fields[FOR] = FamilyMemberChoice(
            queryset=self.offered,
            to_field_name="guardian_id",
            empty_label=None,
            widget=forms.RadioSelect,
            label=_("Which parent or guardian asked to inspect it?"),
            help_text=_(
                "A family member whose access to the child's records is restricted, or whom the school may not "
                "contact, is not listed."
            ),
            error_messages={
                "required": _("Choose the parent or guardian who asked."),
                "invalid_choice": _(
                    "The record cannot be produced for that person: they are not a family member on file who may "
                    "receive this child's records. Choose one of those listed."
                ),
            },
        )

    @property
    def offers_anyone(self) -> bool:
        """Whether any family member on file may receive the record."""
        return self.offered.exists()
