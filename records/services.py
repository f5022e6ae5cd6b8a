"""Producing a student's education record for the family member who asked to inspect it."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest

from accounts.models import User
from audit.models import AuditAction
from audit.services import record
from records.selectors import (
    EducationRecord,
    education_record,
    links_that_may_receive_record,
    may_produce_record,
)
from roster.models import Student, StudentGuardian


@transaction.atomic
def produce_education_record(
    *, produced_by: User, student: Student, produced_for: StudentGuardian, request: HttpRequest | None = None
) -> EducationRecord:
    """The record, once its production is in the access log (FERPA §99.32): the log it shows ends with it."""
    if not may_produce_record(produced_by, student):
        raise PermissionDenied
    # Custody: the record goes only to a family member of this child who may see the child's records.
    if not links_that_may_receive_record(student).filter(pk=produced_for.pk).exists():
        raise PermissionDenied
    guardian = produced_for.guardian
    event = record(
        actor=produced_by,
        student=student,
        action=AuditAction.EXPORTED,
        what=f"education record for {guardian.display_name} (guardian {guardian.pk})",
        request=request,
    )
    return education_record(student=student, produced_by=produced_by, produced_for=produced_for, produced_at=event.at)
