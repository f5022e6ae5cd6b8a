"""The pages on top of every other app, composing their selectors: the student's file (each app's view of a child),
the class page (of a class's children), and Today (of a teacher's students: whom to reach and why, the goal
check-ins due, the behaviour to talk through early). Nothing below imports this app."""

from urllib.parse import quote

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from audit.models import AuditAction
from audit.services import record, record_views
from behavior.selectors import behavior_of_student, reach_out_early_for
from behavior.services import may_write_notes
from communication.forms import TimelineFilterForm
from communication.selectors import class_ratio, family_ratios, student_ratio, student_timeline
from communication.today import today_for, with_family_links
from goals.selectors import checkins_due_for, goals_of_student
from goals.services import may_set_goals
from homeroom.http import AuthenticatedRequest
from intake.forms import ObservationForm
from intake.selectors import observations_of, summaries_by_student, what_the_family_told_us
from records.selectors import may_produce_record
from roster.access import (
    can_log_contact,
    get_staff_visible_student_or_404,
    get_visible_section_or_404,
    sections_taught_by,
)
from roster.decorators import staff_required
from roster.selectors import class_list, student_profile


@require_safe
@staff_required
def section_detail(request: AuthenticatedRequest, section_id: int) -> HttpResponse:
    section = get_visible_section_or_404(request.user, section_id)
    students = list(class_list(user=request.user, section=section))
    record_views(actor=request.user, students=students, what=f"class list {section.name}", request=request)
    return render(
        request,
        "students/section_detail.html",
        {
            "section": section,
            "students": students,
            "class_ratio": class_ratio(section=section, students=students),
            "family_summaries": summaries_by_student(student.pk for student in students),
            "can_send_introduction": sections_taught_by(request.user).filter(pk=section.pk).exists(),
        },
    )


@require_safe
@staff_required
def student_detail(request: AuthenticatedRequest, student_id: int) -> HttpResponse:
    student = get_staff_visible_student_or_404(request.user, student_id)
    record(actor=request.user, student=student, action=AuditAction.VIEWED, what="student page", request=request)
    profile = student_profile(user=request.user, student=student, as_staff=True)
    can_write_notes = may_write_notes(request.user, student)
    tone, kind = request.GET.get("tone", ""), request.GET.get("kind", "")
    return render(
        request,
        "students/student_detail.html",
        {
            "profile": profile,
            "student": student,
            "ratio": student_ratio(student),
            "family_ratios": family_ratios(user=request.user, student=student),
            "timeline": student_timeline(student=student, tone=tone, kind=kind),
            "timeline_filter": TimelineFilterForm(request.GET or None),
            "can_log_contact": can_log_contact(request.user, student),
            "family_answers": what_the_family_told_us(student_id=student.pk),
            "goals": goals_of_student(student_id=student.pk),
            "can_set_goals": may_set_goals(request.user, student),
            "behavior": behavior_of_student(student=student, with_words=can_write_notes),
            "can_write_notes": can_write_notes,
            "can_produce_record": may_produce_record(request.user, student),
            "observations": observations_of(author=request.user, student_id=student.pk),
            "observation_form": ObservationForm(),
        },
    )


TODAY_PAGE_SIZE = 10  # a day's worth of calls: the rest are a tap away


@require_safe
@staff_required
def today(request: AuthenticatedRequest) -> HttpResponse:
    today_list = today_for(user=request.user)
    page = Paginator(today_list.rows, TODAY_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = with_family_links(rows=list(page.object_list))
    record_views(actor=request.user, students=[row.student for row in rows], what="Today list", request=request)
    context = {
        "today": today_list,
        "page": page,
        "rows": rows,
        "next_url": quote(request.get_full_path()),
        "checkins_due": checkins_due_for(user=request.user),
        "reach_out_early": reach_out_early_for(user=request.user),
    }
    return render(request, "students/today.html", context)
