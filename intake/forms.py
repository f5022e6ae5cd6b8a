from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from intake.models import ANSWER_MAX_LENGTH, QUESTION_MAX_LENGTH, AnswersFrom, Question


class AnswersForm(forms.Form):
    """One box per question, in the family's language; every box may stay empty."""

    def __init__(self, *args: Any, questions: list[Question], language: str, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # the questions end in their own punctuation
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            self.fields[self.field_name(question)] = forms.CharField(
                label=question.wording(language),
                required=False,
                max_length=ANSWER_MAX_LENGTH,
                widget=forms.Textarea(attrs={"rows": 3}),
            )

    @staticmethod
    def field_name(question: Question) -> str:
        return f"question_{question.pk}"

    def answers(self) -> dict[int, str]:
        return {question.pk: self.cleaned_data[self.field_name(question)] for question in self.questions}


class EnteredAnswersForm(AnswersForm):
    """The same questions, typed in by staff from a call or a paper form."""

    answers_from = forms.ChoiceField(
        label=_("How did the family answer?"),
        choices=[(AnswersFrom.PHONE, AnswersFrom.PHONE.label), (AnswersFrom.PAPER, AnswersFrom.PAPER.label)],
        initial=AnswersFrom.PHONE,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_fields(["answers_from"])


class QuestionForm(forms.Form):
    text = forms.CharField(
        label=_("Question"), max_length=QUESTION_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )


class RewordForm(forms.Form):
    text = forms.CharField(
        label=_("New wording"),
        required=False,
        max_length=QUESTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Leave it empty to go back to Homeroom's wording, which every family reads in its language."),
    )


class ObservationForm(forms.Form):
    text = forms.CharField(
        label=_("Your own observation"),
        max_length=ANSWER_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only you see it. It is never shown to the family."),
    )
