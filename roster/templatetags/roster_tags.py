from django import template
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from roster.phone import format_phone

register = template.Library()


@register.filter
def phone(value: str) -> str:
    return format_phone(value)


@register.filter
def grade(level: int) -> str:
    if level == -1:
        return _("Pre-K")
    if level == 0:
        return pgettext("grade", "Kindergarten")
    return _("Grade %(level)s") % {"level": level}
