from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from homeroom.http import AuthenticatedRequest
from insights.selectors import school_overview
from roster.decorators import staff_required


@require_safe
@staff_required
def overview(request: AuthenticatedRequest) -> HttpResponse:
    summaries = school_overview(user=request.user)
    if not summaries:
        raise PermissionDenied  # teachers and counselors have no school-wide view
    return render(request, "insights/overview.html", {"summaries": summaries})
