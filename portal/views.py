from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from communication.selectors import inbox_of
from homeroom.http import AuthenticatedRequest
from portal.decorators import guardian_required
from roster.access import get_visible_child_or_404
from roster.models import Guardian
from roster.selectors import children_of, student_profile


@require_safe
@guardian_required
def home(request: AuthenticatedRequest, guardian: Guardian) -> HttpResponse:
    return render(
        request,
        "portal/home.html",
        {"guardian": guardian, "children": children_of(user=request.user), "inbox": inbox_of(guardian=guardian)},
    )


@require_safe
@guardian_required
def child_detail(request: AuthenticatedRequest, guardian: Guardian, student_id: int) -> HttpResponse:
    student = get_visible_child_or_404(request.user, student_id)
    profile = student_profile(user=request.user, student=student)
    return render(request, "portal/child_detail.html", {"guardian": guardian, "profile": profile, "student": student})
