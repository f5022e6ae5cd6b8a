"""How a grade is written for people, in one place: every page, export and message that shows a grade uses it."""

from django.utils.translation import gettext as _
from django.utils.translation import pgettext


def grade_label(level: int | None) -> str:
    """Pre-K, Kindergarten, Grade 1 … Grade 12; "Grade unknown" when the SIS gave none."""
    if level is None:
        return _("Grade unknown")
    if level == -1:
        return _("Pre-K")
    if level == 0:
        return pgettext("grade", "Kindergarten")
    return _("Grade %(level)s") % {"level": level}


def grade_order(level: int | None) -> tuple[bool, int]:
    """A sort key: the grades in order, the unknown grade last."""
    return (level is None, level if level is not None else 0)
