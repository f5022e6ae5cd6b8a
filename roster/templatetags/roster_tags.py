from django import template

from roster.grades import grade_label
from roster.phone import format_phone

register = template.Library()


@register.filter
def phone(value: str) -> str:
    return format_phone(value)


@register.filter
def grade(level: int | None) -> str:
    return grade_label(level)
