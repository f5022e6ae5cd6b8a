from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from communication.conversations import reply_from_family
from communication.forms import ReplyForm
from communication.selectors import thread_entries
from delivery.selectors import inbox_of, threads_visible_to
from delivery.services import mark_read_by_family
from goals.selectors import goals_of_student
from homeroom.http import AuthenticatedRequest
from intake.selectors import open_questions_for
from roster.access import get_visible_child_or_404
from roster.decorators import guardian_required
from roster.models import Guardian
from roster.selectors import children_of, student_profile


@require_safe
@guardian_required
def home(request: AuthenticatedRequest, guardian: Guardian) -> HttpResponse:
    return render(
        request,
        "portal/home.html",
        {
            "guardian": guardian,
            "children": children_of(user=request.user),
            "inbox": inbox_of(guardian=guardian),
            "open_questions": open_questions_for(guardian=guardian),
        },
    )


@require_safe
@guardian_required
def child_detail(request: AuthenticatedRequest, guardian: Guardian, student_id: int) -> HttpResponse:
    student = get_visible_child_or_404(request.user, student_id)
    profile = student_profile(user=request.user, student=student, as_staff=False)
    goals = goals_of_student(student_id=student.pk, family_only=True)
    return render(
        request,
        "portal/child_detail.html",
        {"guardian": guardian, "profile": profile, "student": student, "goals": goals},
    )


@require_http_methods(["GET", "POST"])
@guardian_required
def conversation(request: AuthenticatedRequest, guardian: Guardian, thread_id: int) -> HttpResponse:
    thread = get_object_or_404(
        threads_visible_to(request.user).filter(guardian=guardian).select_related("staff", "guardian"), pk=thread_id
    )
    form = ReplyForm(request.POST or None)
    if form.is_bound and form.is_valid():
        try:
            reply_from_family(user=request.user, thread=thread, body=form.cleaned_data["body"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your reply is sent."))
            return redirect("portal:conversation", thread_id=thread.pk)
    entries = thread_entries(thread=thread)
    mark_read_by_family(thread=thread)
    return render(request, "portal/conversation.html", {"thread": thread, "entries": entries, "form": form})
