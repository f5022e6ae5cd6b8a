"""The introduction letter's default text and its merge fields. A translation of the template exists where the
project's catalogue has one: the teacher starts from it in each family language and may change every word."""

import string
from dataclasses import dataclass

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

MERGE_FIELDS = {
    "family_name": _("the parent's or guardian's name"),
    "child_name": _("the child's first name (or names, for brothers and sisters in the class)"),
    "teacher_name": _("your name"),
    "class_name": _("the class"),
    "school_name": _("the school"),
    "how_to_reach": _("how to reach you"),
    "office_hours": _("your office hours"),
}

INTRODUCTION_SUBJECT = _("Hello from {child_name}'s teacher")
INTRODUCTION_BODY = _(
    "Dear {family_name},\n\n"
    "My name is {teacher_name}, and I am {child_name}'s teacher in {class_name} at {school_name} this year. "
    "I am so glad {child_name} is in our class.\n\n"
    "You know {child_name} better than anyone. I would love to hear from you: what {child_name} enjoys, what "
    "comes easily, what is hard, and what you hope for this year. Nothing is too small to share.\n\n"
    "I will be in touch through the year, and not only when something is wrong: you will hear the good news "
    "too. If you ever have a question or a worry, please reach out.\n\n"
    "The best way to reach me: {how_to_reach}\n"
    "Office hours: {office_hours}\n\n"
    "I look forward to working together.\n\n"
    "Warm regards,\n"
    "{teacher_name}"
)


@dataclass(frozen=True)
class Letter:
    subject: str
    body: str

    def personalised(self, values: dict[str, str]) -> "Letter":
        # Merge values come from the roster; whatever a name holds, the subject stays one line.
        return Letter(subject=" ".join(self.subject.format_map(values).split()), body=self.body.format_map(values))


def translated_languages() -> list[str]:
    """Family languages the letter's template has a translation in."""
    return [code for code, _name in settings.LANGUAGES]


def default_letter(language: str) -> Letter:
    with translation.override(language):
        return Letter(subject=str(INTRODUCTION_SUBJECT), body=str(INTRODUCTION_BODY))


def merge_field_problems(text: str) -> list[str]:
    """What is wrong with a text's merge fields, in plain words: unknown names, stray braces, formatting codes.
    Only bare known names are allowed, so no text can reach an attribute or ask for a huge padding."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        return [str(_("A brace { or } is not matched: write merge fields like {child_name}."))]
    problems = []
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in MERGE_FIELDS or spec or conversion:
            problems.append(
                str(_("{%(field)s} is not a merge field. Use one of: %(known)s."))
                % {"field": name, "known": ", ".join(f"{{{known}}}" for known in MERGE_FIELDS)}
            )
    return problems
