from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import User
from audit.models import AuditAction
from audit.services import record, record_views
from communication.models import Reply
from delivery.translation import TranslationError, language_name
from goals.forms import (
    ActivityDoneForm,
    CheckInForm,
    GoalForm,
    HomeActivityForm,
    HomeCheckInForm,
    ReplyCountForm,
    TranslationForm,
    initial_from,
)
from goals.library import EXAMPLES, examples_for
from goals.models import Goal, HomeActivity
from goals.selectors import (
    GoalProgress,
    answers_about,
    class_goals,
    family_sharing,
    goal_for_family,
    goal_for_staff,
    goal_of_link,
    machine_draft,
    replies_to_count,
    term_ends_on,
    words_for,
)
from goals.services import (
    GOAL_FIELDS,
    acknowledge_goal,
    add_home_activity,
    approve_translation,
    count_reply,
    may_set_goals,
    record_checkin,
    record_family_access,
    record_home_checkin,
    remove_home_activity,
    save_goal,
    tell_family,
)
from goals.smart import Context, check
from homeroom.http import AuthenticatedRequest, language_of_link
from homeroom.ratelimit import count_failure, too_many_failures
from roster.access import get_staff_visible_student_or_404, get_visible_section_or_404
from roster.decorators import guardian_required, staff_required
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
    record(actor=request.user, student=student, action=AuditAction.VIEWED, what="new goal", request=request)
    return _goal_form_page(request, student, None)


@require_http_methods(["GET", "POST"])
@staff_required
def edit_goal(request: AuthenticatedRequest, goal_id: int) -> HttpResponse:
    progress = goal_for_staff(request.user, goal_id)
    record(
        actor=request.user, student=progress.goal.student, action=AuditAction.VIEWED, what="goal edit", request=request
    )
    return _goal_form_page(request, progress.goal.student, progress.goal)


@require_safe
@staff_required
def goal(request: AuthenticatedRequest, goal_id: int) -> HttpResponse:
    progress = goal_for_staff(request.user, goal_id)
    student = progress.goal.student
    record(actor=request.user, student=student, action=AuditAction.VIEWED, what="goal", request=request)
    return _goal_page(request, progress)


def _goal_page(
    request: AuthenticatedRequest,
    progress: GoalProgress,
    checkin_form: CheckInForm | None = None,
    activity_form: HomeActivityForm | None = None,
    counting: tuple[int, ReplyCountForm] | None = None,
) -> HttpResponse:
    """`counting`: a reply the teacher tried to count, with the form that said what was wrong."""
    goal_ = progress.goal
    checkin_form = checkin_form or CheckInForm(initial={"on": timezone.localdate()})
    activity_form = activity_form or HomeActivityForm()
    can_change = may_set_goals(request.user, goal_.student)
    sharing = can_change and goal_.visible_to_family
    family = family_sharing(goal_) if sharing else None
    replies = replies_to_count(request.user, goal_) if sharing else []
    return render(
        request,
        "goals/goal.html",
        {
            "progress": progress,
            "goal": goal_,
            "student": goal_.student,
            "can_change": can_change,
            "checkin_form": checkin_form,
            "activity_form": activity_form,
            "languages": [(code, name) for code, name in settings.LANGUAGES if code != goal_.language],
            "family": family,
            "replies": [
                (
                    reply,
                    counting[1]
                    if counting and counting[0] == reply.pk
                    else ReplyCountForm(measurable=goal_.families_may_measure, prefix=f"reply-{reply.pk}"),
                )
                for reply in replies
            ],
        },
        status=400 if checkin_form.errors or activity_form.errors or counting else 200,
    )


@require_POST
@staff_required
def send_goal_to_family(request: AuthenticatedRequest, goal_id: int) -> HttpResponse:
    progress = goal_for_staff(request.user, goal_id)
    try:
        sent = tell_family(user=request.user, goal=progress.goal)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            ngettext(
                "The goal is on its way to %(count)d family member, with a link of their own.",
                "The goal is on its way to %(count)d family members, each with a link of their own.",
                sent.families,
            )
            % {"count": sent.families},
        )
    return redirect("goals:goal", goal_id=goal_id)


@require_POST
@staff_required
def count_family_reply(request: AuthenticatedRequest, goal_id: int, reply_id: int) -> HttpResponse:
    progress = goal_for_staff(request.user, goal_id)
    goal_ = progress.goal
    reply = get_object_or_404(Reply.objects.select_related("thread__guardian"), pk=reply_id, thread__staff=request.user)
    form = ReplyCountForm(request.POST, measurable=goal_.families_may_measure, prefix=f"reply-{reply.pk}")
    if form.is_valid():
        try:
            count_reply(user=request.user, goal=goal_, reply=reply, value=form.cleaned_data.get("value"))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The family's reply now counts as a check-in from home."))
            return redirect("goals:goal", goal_id=goal_id)
    return _goal_page(request, progress, counting=(reply.pk, form))


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
    return _goal_page(request, progress, checkin_form=form)


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
    return _goal_page(request, progress, activity_form=form)


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
    record(
        actor=request.user, student=goal_.student, action=AuditAction.VIEWED, what="goal translation", request=request
    )
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


# --- The family's side: in its portal, or through the link it was sent --------------------------------------------


@dataclass(frozen=True)
class FamilySide:
    """A family member on a goal's page: signed in to the portal, or following their link (`user` None)."""

    guardian: Guardian
    user: User | None
    progress: GoalProgress
    token: str = ""

    def url(self, action: str, *args: int) -> str:
        if self.token:
            return reverse(f"goals:link_{action}", args=[self.token, *args])
        return reverse(f"goals:family_{action}", args=[self.progress.goal.pk, *args])

    def record(self, request: HttpRequest, action: AuditAction, what: str) -> None:
        record_family_access(
            guardian=self.guardian,
            user=self.user,
            student=self.progress.goal.student,
            action=action,
            what=what,
            request=request,
        )


def _family_page(
    request: HttpRequest,
    side: FamilySide,
    home_form: HomeCheckInForm | None = None,
    done_form: ActivityDoneForm | None = None,
) -> HttpResponse:
    goal_ = side.progress.goal
    side.record(request, AuditAction.VIEWED, "goal")
    return render(
        request,
        "goals/family_goal.html",
        {
            "progress": side.progress,
            "goal": goal_,
            "student": goal_.student,
            "signed_in": side.user is not None,
            "words": words_for(goal_, translation.get_language() or settings.LANGUAGE_CODE),
            "agree_url": side.url("agrees"),
            "checkin_url": side.url("checkin"),
            "activities": [
                (activity, done, side.url("activity_done", activity.pk)) for activity, done in side.progress.activities
            ],
            "home_form": home_form or HomeCheckInForm(measurable=goal_.families_may_measure),
            "done_form": done_form or ActivityDoneForm(),
        },
        status=400 if (home_form and home_form.errors) or (done_form and done_form.errors) else 200,
    )


def _family_agrees(request: HttpRequest, side: FamilySide) -> HttpResponse:
    acknowledge_goal(user=side.user, guardian=side.guardian, goal=side.progress.goal)
    messages.success(request, _("Thank you! The teacher will see that you agree and will help."))
    return redirect(side.url("goal"))


def _family_checkin(request: HttpRequest, side: FamilySide) -> HttpResponse:
    goal_ = side.progress.goal
    form = HomeCheckInForm(request.POST, measurable=goal_.families_may_measure)
    if not form.is_valid():
        return _family_page(request, side, home_form=form)
    record_home_checkin(user=side.user, guardian=side.guardian, goal=goal_, **form.cleaned_data)
    messages.success(request, _("Thank you! The teacher will see what you told them."))
    return redirect(side.url("goal"))


def _family_activity_done(request: HttpRequest, side: FamilySide, activity_id: int) -> HttpResponse:
    goal_ = side.progress.goal
    activity = get_object_or_404(HomeActivity, pk=activity_id, goal=goal_)
    form = ActivityDoneForm(request.POST)
    if not form.is_valid():
        return _family_page(request, side, done_form=form)
    record_home_checkin(user=side.user, guardian=side.guardian, goal=goal_, activity=activity, **form.cleaned_data)
    messages.success(request, _("Well done! The teacher will see it."))
    return redirect(side.url("goal"))


FamilyView = Callable[..., HttpResponse]


def _in_portal(view: FamilyView) -> FamilyView:
    @guardian_required
    @wraps(view)
    def wrapper(request: AuthenticatedRequest, guardian: Guardian, goal_id: int, **kwargs: int) -> HttpResponse:
        return view(request, FamilySide(guardian, request.user, goal_for_family(request.user, goal_id)), **kwargs)

    return wrapper


def _by_link(view: FamilyView) -> FamilyView:
    """The same pages for a family member with no account, through the link the teacher sent them, in their
    language."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str, **kwargs: int) -> HttpResponse:
        found = goal_of_link(token)
        if found is None:
            # Thirty wrong links a minute from one address is guessing, not a family mistyping.
            if too_many_failures(request, scope="goal_link", limit=30):
                return render(request, "intake/slow_down.html", status=429)
            count_failure(request, scope="goal_link")
            return render(request, "goals/link_closed.html", status=404)
        progress, guardian = found
        with translation.override(language_of_link(request, guardian.preferred_language)):
            return view(request, FamilySide(guardian, None, progress, token), **kwargs)

    return wrapper


family_goal = require_safe(_in_portal(_family_page))
family_agrees = require_POST(_in_portal(_family_agrees))
family_checkin = require_POST(_in_portal(_family_checkin))
family_activity_done = require_POST(_in_portal(_family_activity_done))
link_goal = require_safe(_by_link(_family_page))
link_agrees = require_POST(_by_link(_family_agrees))
link_checkin = require_POST(_by_link(_family_checkin))
link_activity_done = require_POST(_by_link(_family_activity_done))
