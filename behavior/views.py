from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from audit.models import AuditAction
from audit.services import record, record_views
from behavior.forms import NoteForm, OutreachForm
from behavior.selectors import (
    behavior_of_student,
    notes_for_the_guide,
    recent_positive,
    school_patterns,
    suspected_causes,
)
from behavior.services import NOTE_FIELDS, log_early_outreach, may_write_notes, record_note
from homeroom.http import AuthenticatedRequest
from roster.access import get_staff_visible_student_or_404, roles_of
from roster.decorators import staff_required
from roster.models import Role


@require_http_methods(["GET", "POST"])
@staff_required
def new_note(request: AuthenticatedRequest, student_id: int) -> HttpResponse:
    student = get_staff_visible_student_or_404(request.user, student_id)
    if not may_write_notes(request.user, student):
        raise PermissionDenied
    record(actor=request.user, student=student, action=AuditAction.VIEWED, what="new behaviour note", request=request)
    form = NoteForm(request.POST or None, student=student)
    if form.is_valid():
        try:
            record_note(
                author=request.user,
                student=student,
                fields={name: form.cleaned_data[name] for name in NOTE_FIELDS},
                causes=form.cleaned_data["causes"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The note is saved. Only school staff who work with the child see it."))
            return redirect(reverse("students:student_detail", args=[student.pk]) + "#behavior-heading")
    return render(
        request,
        "behavior/new_note.html",
        {"student": student, "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@staff_required
def guide(request: AuthenticatedRequest, student_id: int) -> HttpResponse:
    """The early conversation with the family, step by step, and how it went."""
    student = get_staff_visible_student_or_404(request.user, student_id)
    if not may_write_notes(request.user, student):
        raise PermissionDenied
    form = OutreachForm(request.POST or None, user=request.user, student=student)
    if form.is_valid():
        try:
            log_early_outreach(user=request.user, student=student, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The conversation is in the log. Thank you for reaching out early."))
            return redirect(reverse("students:student_detail", args=[student.pk]) + "#behavior-heading")
    record(actor=request.user, student=student, action=AuditAction.VIEWED, what="conversation guide", request=request)
    notes = notes_for_the_guide(student=student)
    return render(
        request,
        "behavior/guide.html",
        {
            "student": student,
            "behavior": behavior_of_student(student=student, with_words=False),
            "positive": recent_positive(student=student),
            "notes": notes,
            "causes": suspected_causes(notes),
            "form": form,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@require_safe
@staff_required
def school_overview(request: AuthenticatedRequest) -> HttpResponse:
    """Leaders and counselors: patterns across a school, without the notes' words."""
    if not roles_of(request.user) & {Role.LEADER, Role.DISTRICT_ADMIN, Role.COUNSELOR}:
        raise PermissionDenied
    schools = school_patterns(user=request.user)
    students = [row.student for school in schools for row in school.students]
    record_views(actor=request.user, students=students, what="behavior patterns", request=request)
    return render(request, "behavior/school.html", {"schools": schools})
