from django.db.models import QuerySet

from audit.models import AccessEvent
from roster.models import Student


def access_history(*, student: Student, limit: int = 50) -> QuerySet[AccessEvent]:
    """The latest reads and changes of one student's record; the caller has already passed the access policy."""
    return AccessEvent.objects.filter(student=student).select_related("actor", "guardian")[:limit]
