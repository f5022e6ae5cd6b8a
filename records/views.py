from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from homeroom.http import AuthenticatedRequest
from records.forms import FOR, RecordRequestForm
from records.selectors import may_produce_record
from records.services import produce_education_record
from roster.access import get_staff_visible_student_or_404
from roster.decorators import staff_required


@require_safe
@staff_required
def education_record(request: AuthenticatedRequest, student_id: int) -> HttpResponse:
    """A family asked to inspect their child's record: who asked, then the whole record as one printable page."""
    student = get_staff_visible_student_or_404(request.user, student_id)
    if not may_produce_record(request.user, student):
        raise PermissionDenied
    form = RecordRequestForm(request.GET if FOR in request.GET else None, student=student)
    if form.is_valid():
        record = produce_education_record(
            produced_by=request.user, student=student, produced_for=form.cleaned_data[FOR], request=request
        )
        return render(request, "records/record.html", {"record": record, "student": student})
    return render(
        request,
        "records/choose.html",
        {"student": student, "form": form, "field": form[FOR]},
        status=400 if form.is_bound else 200,
    )
