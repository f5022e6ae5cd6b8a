from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from audit.models import AuditAction
from audit.services import record, record_views
from communication.translation import TranslationError, language_name
from goals.forms import (
    ActivityDoneForm,
    CheckInForm,
    GoalForm,
    HomeActivityForm,
    HomeCheckInForm,
    TranslationForm,
    initial_from,
)
from goals.library import EXAMPLES, examples_for
from goals.models import Goal, HomeActivity
from goals.selectors import (
    GoalProgress,
    answers_about,
    class_goals,
    goal_for_family,
    goal_for_staff,
    machine_draft,
    term_ends_on,
    words_for,
)
from goals.services import (
    GOAL_FIELDS,
    acknowledge_goal,
    add_home_activity,
    approve_translation,
    may_set_goals,
    record_checkin,
    record_home_checkin,
    remove_home_activity,
    save_goal,
)
from goals.smart import Context, check
from homeroom.http import AuthenticatedRequest
from portal.decorators import guardian_required
from roster.access import get_staff_visible_student_or_404, get_visible_section_or_404
from roster.decorators import staff_required
from roster.models import Guardian, Student

# --- School's side ------------------------------------------------------------------------------------------------


def _goal_form_page(request: AuthenticatedRequest, student: Student, goal: Goal | None) -> HttpResponse:
    if not may_set_goals(request.user, student):
        raise PermissionDenied
    answers = answers_about(student.pk)
    example = EXAMPLES.get(request.GET.get("example", ""))
    child_name = student.preferred_name or student.first_name
    if goal is None and example is not None:
        initial = initial_from(example, child_name)
        form = GoalForm(request.POST or None, initial=initial, answers=answers)
    else:
        form = GoalForm(request.POST or None, instance=goal, answers=answers)
    saving = request.method == "POST" and "check" not in request.POST
    if request.method == "POST" and form.is_valid() and saving:
        fields = {name: form.cleaned_data[name] for name in GOAL_FIELDS}
        saved = save_goal(
            author=request.user, student=student, fields=fields, builds_on=form.cleaned_data["builds_on"], goal=goal
        )
        messages.success(request, _("The goal is saved."))
        return redirect("goals:goal", goal_id=saved.pk)
    smart = check(
        form.draft(),
        Context(today=timezone.localdate(), term_ends_on=term_ends_on(student), family_answers=len(answers)),
    )
    return render(
        request,
        "goals/goal_form.html",
        {
            "student": student,
            "goal": goal,
            "form": form,
            "smart": smart,
            "examples": [(example, example.statement_for(child_name)) for example in examples_for(student.grade_level)]
            if goal is None
            else [],
            "chosen_example": example,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@staff_required
def new_goal(request: AuthenticatedRequest, student_id: int) -> HttpResponse:
    student = get_staff_visible_student_or_404(request.user, student_id)
    return _goal_form_page(request, student, None)


@require_http_methods(["GET", "POST"])
@staff_required
def edit_goal(request: AuthenticatedRequest, goal_id: int) -> HttpResponse:
    progress = goal_for_staff(request.user, goal_id)
    return _goal_form_page(request, progress.goal.student, progress.goal)


@require_safe
@staff_required
def goal(request: AuthenticatedRequest, goal_id: int) -> HttpResponse:
    progress = goal_for_staff(request.user, goal_id)
    student = progress.goal.student
    record(actor=request.user, student=student, action=AuditAction.VIEWED, what="goal", request=request)
    return _goal_page(request, progress, CheckInForm(initial={"on": timezone.localdate()}), HomeActivityForm())


def _goal_page(
    request: AuthenticatedRequest,
    progress: GoalProgress,
    checkin_form: CheckInForm,
    activity_form: HomeActivityForm,
) -> HttpResponse:
    goal_ = progress.goal
    return render(
        request,
        "goals/goal.html",
        {
            "progress": progress,
            "goal": goal_,
            "student": goal_.student,
            "can_change": may_set_goals(request.user, goal_.student),
            "checkin_form": checkin_form,
            "activity_form": activity_form,
            "languages": [(code, name) for code, name in settings.LANGUAGES if code != goal_.language],
        },
        status=400 if checkin_form.errors or activity_form.errors else 200,
    )


@require_POST
@staff_required
def add_checkin(request: AuthenticatedRequest, goal_id: int) -> HttpResponse:
    progress = goal_for_staff(request.user, goal_id)
    form = CheckInForm(request.POST)
    if form.is_valid():
        try:
            record_checkin(user=request.user, goal=progress.goal, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The check-in is saved."))
            return redirect("goals:goal", goal_id=goal_id)
    return _goal_page(request, progress, form, HomeActivityForm())


@require_POST
@staff_required
def add_activity(request: AuthenticatedRequest, goal_id: int) -> HttpResponse:
    progress = goal_for_staff(request.user, goal_id)
    form = HomeActivityForm(request.POST)
    if form.is_valid():
        try:
            add_home_activity(user=request.user, goal=progress.goal, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The home activity is added."))
            return redirect("goals:goal", goal_id=goal_id)
    return _goal_page(request, progress, CheckInForm(initial={"on": timezone.localdate()}), form)


@require_POST
@staff_required
def remove_activity(request: AuthenticatedRequest, activity_id: int) -> HttpResponse:
    activity = get_object_or_404(HomeActivity.objects.select_related("goal__student"), pk=activity_id)
    goal_for_staff(request.user, activity.goal_id)  # 404 unless the person sees the goal
    remove_home_activity(user=request.user, activity=activity)
    messages.success(request, _("The home activity is removed."))
    return redirect("goals:goal", goal_id=activity.goal_id)


@require_http_methods(["GET", "POST"])
@staff_required
def goal_translation(request: AuthenticatedRequest, goal_id: int, language: str) -> HttpResponse:
    progress = goal_for_staff(request.user, goal_id)
    goal_ = progress.goal
    if language not in dict(settings.LANGUAGES) or language == goal_.language:
        return redirect("goals:goal", goal_id=goal_id)
    form = TranslationForm(request.POST or None)
    problem = ""
    if request.method == "POST" and form.is_valid():
        try:
            approve_translation(
                user=request.user,
                goal=goal_,
                language=language,
                words=form.cleaned_data,
                machine_drafted=form.cleaned_data["machine_drafted"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Families who read %(language)s now see your approved words.")
                % {"language": language_name(language)},
            )
            return redirect("goals:goal", goal_id=goal_id)
    if not form.is_bound:
        current = words_for(goal_, language)
        initial: dict[str, object] = {}
        if current.translated:
            initial = {**current.as_dict(), "machine_drafted": current.machine_drafted}
        else:
            try:
                draft = machine_draft(goal_, language)
            except TranslationError as error:
                problem = str(error)
            else:
                initial = {**draft, "machine_drafted": True} if draft else {}
        form = TranslationForm(initial=initial)
    return render(
        request,
        "goals/translation.html",
        {
            "goal": goal_,
            "student": goal_.student,
            "form": form,
            "language": language,
            "language_name": language_name(language),
            "problem": problem,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@require_safe
@staff_required
def class_overview(request: AuthenticatedRequest, section_id: int) -> HttpResponse:
    section = get_visible_section_or_404(request.user, section_id)
    overview = class_goals(section=section)
    students = [row.student for row in overview.rows]
    record_views(actor=request.user, students=students, what=f"goals {section.name}", request=request)
    return render(request, "goals/class_goals.html", {"section": section, "overview": overview})


# --- The family's side --------------------------------------------------------------------------------------------


def _family_page(
    request: AuthenticatedRequest,
    guardian: Guardian,
    goal_id: int,
    home_form: HomeCheckInForm | None = None,
    done_form: ActivityDoneForm | None = None,
) -> HttpResponse:
    progress = goal_for_family(request.user, goal_id)
    goal_ = progress.goal
    record(actor=request.user, student=goal_.student, action=AuditAction.VIEWED, what="goal", request=request)
    return render(
        request,
        "goals/family_goal.html",
        {
            "progress": progress,
            "goal": goal_,
            "student": goal_.student,
            "words": words_for(goal_, translation.get_language() or settings.LANGUAGE_CODE),
            "home_form": home_form or HomeCheckInForm(measurable=goal_.families_may_measure),
            "done_form": done_form or ActivityDoneForm(),
        },
        status=400 if (home_form and home_form.errors) or (done_form and done_form.errors) else 200,
    )


@require_safe
@guardian_required
def family_goal(request: AuthenticatedRequest, guardian: Guardian, goal_id: int) -> HttpResponse:
    return _family_page(request, guardian, goal_id)


@require_POST
@guardian_required
def family_agrees(request: AuthenticatedRequest, guardian: Guardian, goal_id: int) -> HttpResponse:
    acknowledge_goal(user=request.user, guardian=guardian, goal=goal_for_family(request.user, goal_id).goal)
    messages.success(request, _("Thank you! The teacher will see that you agree and will help."))
    return redirect("goals:family_goal", goal_id=goal_id)


@require_POST
@guardian_required
def family_checkin(request: AuthenticatedRequest, guardian: Guardian, goal_id: int) -> HttpResponse:
    goal_ = goal_for_family(request.user, goal_id).goal
    form = HomeCheckInForm(request.POST, measurable=goal_.families_may_measure)
    if not form.is_valid():
        return _family_page(request, guardian, goal_id, home_form=form)
    record_home_checkin(user=request.user, guardian=guardian, goal=goal_, **form.cleaned_data)
    messages.success(request, _("Thank you! The teacher will see what you told them."))
    return redirect("goals:family_goal", goal_id=goal_id)


@require_POST
@guardian_required
def family_activity_done(request: AuthenticatedRequest, guardian: Guardian, activity_id: int) -> HttpResponse:
    activity = get_object_or_404(HomeActivity, pk=activity_id)
    goal_ = goal_for_family(request.user, activity.goal_id).goal
    form = ActivityDoneForm(request.POST)
    if not form.is_valid():
        return _family_page(request, guardian, goal_.pk, done_form=form)
    record_home_checkin(user=request.user, guardian=guardian, goal=goal_, activity=activity, **form.cleaned_data)
    messages.success(request, _("Well done! The teacher will see it."))
    return redirect("goals:family_goal", goal_id=goal_.pk)
