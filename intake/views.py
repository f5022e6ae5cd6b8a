from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from audit.models import AuditAction
from audit.services import record, record_views
from homeroom.http import AuthenticatedRequest, language_of_link
from homeroom.ids import parse_id
from homeroom.ratelimit import count_failure, too_many_failures
from intake.forms import AnswersForm, EnteredAnswersForm, ObservationForm, QuestionForm, RewordForm
from intake.models import Invitation, Questionnaire
from intake.selectors import questions_asked, response_tracking
from intake.services import (
    add_observation,
    add_question,
    customise_for_class,
    invitation_for_typing_in,
    invitation_of_link,
    invite_families,
    mark_opened,
    may_change,
    move_question,
    questionnaire_for,
    retire_question,
    revoke_invitation,
    reword_question,
    save_answers,
    school_questionnaire,
)
from roster.access import (
    get_staff_visible_student_or_404,
    get_visible_section_or_404,
    schools_led_by,
    sections_taught_by,
    staff_students_visible_to,
)
from roster.decorators import staff_required
from roster.models import StudentGuardian

# --- The teacher's side ---------------------------------------------------------------------------------------


@require_safe
@staff_required
def class_families(request: AuthenticatedRequest, section_id: int) -> HttpResponse:
    section = get_visible_section_or_404(request.user, section_id)
    questionnaire = questionnaire_for(section)
    tracking = response_tracking(section=section, questionnaire=questionnaire)
    record_views(
        actor=request.user,
        students={row.link.student for row in tracking.rows},
        what=f"family questions {section.name}",
        request=request,
    )
    return render(
        request,
        "intake/class_families.html",
        {
            "section": section,
            "questionnaire": questionnaire,
            "tracking": tracking,
            "teaches": sections_taught_by(request.user).filter(pk=section.pk).exists(),
        },
    )


@require_POST
@staff_required
def ask_families(request: AuthenticatedRequest, section_id: int) -> HttpResponse:
    section = get_visible_section_or_404(request.user, section_id)
    guardian = request.POST.get("guardian", "")
    guardian_id = parse_id(guardian)
    if guardian and guardian_id is None:
        return HttpResponseBadRequest(_("That family is not one of this class's."))
    invited = invite_families(
        sender=request.user, section=section, guardian_ids=[guardian_id] if guardian_id is not None else None
    )
    if invited.families:
        messages.success(
            request,
            ngettext(
                "A link is on its way to %(count)d family.",
                "Links are on their way to %(count)d families.",
                invited.families,
            )
            % {"count": invited.families},
        )
    else:
        messages.info(request, _("Every family you may contact has already been asked."))
    return redirect("intake:class_families", section.pk)


@require_POST
@staff_required
def revoke(request: AuthenticatedRequest, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(
        Invitation.objects.filter(student__in=staff_students_visible_to(request.user)), pk=invitation_id
    )
    revoke_invitation(user=request.user, invitation=invitation)
    messages.success(request, _("The link no longer works. The answers already given are kept."))
    return redirect("intake:class_families", invitation.section_id)


@require_http_methods(["GET", "POST"])
@staff_required
def type_in_answers(request: AuthenticatedRequest, section_id: int, link_id: int) -> HttpResponse:
    section = get_visible_section_or_404(request.user, section_id)
    link = get_object_or_404(
        StudentGuardian.objects.select_related("student", "guardian").filter(
            student__in=staff_students_visible_to(request.user), student__enrollments__section=section
        ),
        pk=link_id,
    )
    record(
        actor=request.user,
        student=link.student,
        action=AuditAction.VIEWED,
        what="type in a family's answers",
        request=request,
    )
    invitation = invitation_for_typing_in(user=request.user, section=section, link=link)
    language = link.guardian.preferred_language
    questions = questions_asked(invitation.questionnaire)
    initial = {AnswersForm.field_name(answer.question): answer.text for answer in invitation.answers.all()}
    form = EnteredAnswersForm(request.POST or None, initial=initial, questions=questions, language=language)
    if request.method == "POST" and form.is_valid():
        save_answers(
            invitation=invitation,
            answers=form.answers(),
            language=language,
            submit=True,
            entered_by=request.user,
            answers_from=form.cleaned_data["answers_from"],
        )
        messages.success(request, _("The family's answers are saved."))
        return redirect("intake:class_families", section.pk)
    return render(request, "intake/type_in_answers.html", {"section": section, "link": link, "form": form})


@require_safe
@staff_required
def school_questions(request: AuthenticatedRequest) -> HttpResponse:
    school = schools_led_by(request.user).first()
    if school is None:
        return redirect("roster:section_list")
    return redirect("intake:questions", school_questionnaire(school).pk)


@require_POST
@staff_required
def customise(request: AuthenticatedRequest, section_id: int) -> HttpResponse:
    section = get_visible_section_or_404(request.user, section_id)
    return redirect("intake:questions", customise_for_class(user=request.user, section=section).pk)


@require_http_methods(["GET", "POST"])
@staff_required
def questions(request: AuthenticatedRequest, questionnaire_id: int) -> HttpResponse:
    questionnaire = get_object_or_404(Questionnaire.objects.select_related("school", "section"), pk=questionnaire_id)
    if not may_change(request.user, questionnaire):
        return render(request, "403.html", status=403)
    new_question = QuestionForm(request.POST if request.POST.get("action") == "add" else None)
    if request.method == "POST":
        response = _change_question(request, questionnaire, new_question)
        if response is not None:
            return response
    return render(
        request,
        "intake/questions.html",
        {
            "questionnaire": questionnaire,
            "questions": [
                {"question": question, "wording": question.wording(translation.get_language())}
                for question in questionnaire.questions.all()
            ],
            "new_question": new_question,
        },
    )


def _change_question(
    request: AuthenticatedRequest, questionnaire: Questionnaire, new_question: QuestionForm
) -> HttpResponse | None:
    """Applies the button pressed; None when the form has to be shown again with its errors."""
    action = request.POST.get("action", "")
    if action == "add":
        if not new_question.is_valid():
            return None
        add_question(user=request.user, questionnaire=questionnaire, text=new_question.cleaned_data["text"])
        messages.success(request, _("The question is added at the end."))
        return redirect("intake:questions", questionnaire.pk)
    question = get_object_or_404(questionnaire.questions, pk=request.POST.get("question") or 0)
    if action == "reword":
        form = RewordForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(str(error) for error in form.errors.get("text", [])))
            return redirect("intake:questions", questionnaire.pk)
        reword_question(user=request.user, question=question, text=form.cleaned_data["text"])
        messages.success(request, _("New answers will be to the new wording; earlier answers keep theirs."))
    elif action in {"up", "down"}:
        move_question(user=request.user, question=question, up=action == "up")
    elif action in {"retire", "restore"}:
        retire_question(user=request.user, question=question, retired=action == "retire")
    return redirect(reverse("intake:questions", args=[questionnaire.pk]) + f"#question-{question.pk}")


@require_POST
@staff_required
def observe(request: AuthenticatedRequest, student_id: int) -> HttpResponse:
    student = get_staff_visible_student_or_404(request.user, student_id)
    form = ObservationForm(request.POST)
    if form.is_valid():
        add_observation(author=request.user, student=student, text=form.cleaned_data["text"])
        messages.success(request, _("Your observation is saved."))
    else:
        messages.error(request, " ".join(str(error) for error in form.errors.get("text", [])))
    return redirect(reverse("students:student_detail", args=[student.pk]) + "#observations-heading")


# --- The family's side ----------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    invitation = invitation_of_link(token)
    if invitation is None:
        # Thirty wrong links a minute from one address is guessing, not a family mistyping.
        if too_many_failures(request, scope="intake_answer", limit=30):
            return render(request, "intake/slow_down.html", status=429)
        count_failure(request, scope="intake_answer")
        return render(request, "intake/link_closed.html", status=404)
    language = language_of_link(request, invitation.guardian.preferred_language)
    with translation.override(language):
        mark_opened(invitation, request=request)
        form = AnswersForm(
            request.POST or None,
            initial={AnswersForm.field_name(a.question): a.text for a in invitation.answers.select_related("question")},
            questions=questions_asked(invitation.questionnaire),
            language=language,
        )
        if request.method == "POST" and form.is_valid():
            submit = "submit" in request.POST
            save_answers(invitation=invitation, answers=form.answers(), language=language, submit=submit)
            messages.success(
                request,
                _("Thank you! Your answers are on their way to the teacher. You can still change them.")
                if submit
                else _("Saved. You can come back to this page any time before the link expires."),
            )
            return redirect(request.get_full_path())
        return render(
            request,
            "intake/answer.html",
            {
                "invitation": invitation,
                "student": invitation.student,
                "form": form,
                "expires_at": invitation.expires_at,
            },
            status=400 if form.is_bound else 200,
        )
