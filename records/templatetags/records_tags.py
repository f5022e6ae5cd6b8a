from django import template

from accounts.models import User
from records.selectors import may_produce_record
from roster.models import Student

register = template.Library()


@register.simple_tag
def may_produce_record_of(user: User, student: Student) -> bool:
    """Whether the student page offers the education record: its view stays as it is, and a teacher's page reads
    no more queries (roles are kept for the request)."""
    return may_produce_record(user, student)
