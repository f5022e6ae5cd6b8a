import datetime
import zoneinfo
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_safe

from audit.models import AuditAction
from audit.services import record, record_views
from communication.conversations import (
    clear_office_hours,
    mark_read_by_staff,
    place_unrouted_reply,
    set_aside_unrouted_reply,
    set_office_hours,
)
from communication.forms import (
    CHOSEN_FAMILIES,
    FamilyLetterForm,
    GoodNewsForm,
    IntroductionLetterForm,
    LogContactForm,
    MessageForm,
    MessageTextForm,
    NoticeForm,
    OfficeHoursForm,
)
from communication.letters import MERGE_FIELDS, default_letter
from communication.models import OfficeHours, Tone
from communication.selectors import (
    ThreadSummary,
    contactable_guardians,
    families_in_care_of,
    families_of_school,
    family_letter_draft,
    good_news_first_for,
    good_news_first_for_families,
    introduction_recipients,
    introduction_status,
    letter_languages,
    letter_previews,
    messages_of_staff,
    office_days,
    placements_for,
    placements_of_each,
    staff_time_zone,
    students_without_positive_contact,
    thread_entries,
    thread_students,
    unrouted_replies_visible_to,
)
from communication.services import (
    log_good_news_call,
    log_interaction,
    send_family_introduction,
    send_good_news,
    send_introduction_letter,
    send_message,
    send_notice,
)
from delivery.selectors import (
    TranslationPreview,
    email_held_until,
    family_languages,
    languages_read_untranslated,
    threads_visible_to,
    translation_previews,
    undelivered_from,
)
from delivery.services import SentMessage
from delivery.translation import translator
from homeroom.http import AuthenticatedRequest
from homeroom.ids import parse_id
from intake.selectors import summaries_by_guardian, summaries_by_student
from roster.access import get_staff_visible_student_or_404, schools_led_by, sections_taught_by
from roster.decorators import staff_required
from roster.models import Section, Student

CONCERN_DRAFT_KEY = "concern_draft"


@require_http_methods(["GET", "POST"])
@staff_required
def log_contact(request: AuthenticatedRequest, student_id: int) -> HttpResponse:
    student = get_staff_visible_student_or_404(request.user, student_id)
    record(actor=request.user, student=student, action=AuditAction.VIEWED, what="log a contact", request=request)
    next_url = _safe_next(request, default=reverse("students:student_detail", args=[student.pk]))
    without_positive = students_without_positive_contact([student])
    if request.method == "GET":
        form = LogContactForm(user=request.user, student=student, initial=_initial(request, student))
        return _render_log(request, student, form, next_url, without_positive=without_positive)

    form = LogContactForm(request.POST, user=request.user, student=student)
    if not form.is_valid():
        return _render_log(request, student, form, next_url, without_positive=without_positive)
    data = form.interaction_fields()
    # Positive first: a concern to a family with no good news yet this term is questioned, never blocked.
    lacking = good_news_first_for(tone=data["tone"], guardian=data["guardian"], students=data["students"])
    if lacking and "positive_first" in request.POST:
        _keep_concern_draft(request, student, form)
        good_news_url = reverse("communication:good_news", args=[student.pk])
        return redirect(f"{good_news_url}?{urlencode({'guardian': data['guardian'].pk, 'next': next_url})}")
    if lacking and not form.cleaned_data["confirm_concern"]:
        return _render_log(request, student, form, next_url, without_positive=lacking, ask_positive_first=True)

    interaction = log_interaction(logged_by=request.user, **data)
    messages.success(request, _("Contact logged."))
    if data["tone"] == Tone.POSITIVE:
        return _back_to_concern_draft(request, student, next_url, reached=interaction.is_contact)
    return redirect(next_url)


def _back_to_concern_draft(
    request: AuthenticatedRequest, student: Student, next_url: str, *, reached: bool
) -> HttpResponse:
    """After good news, the concern the teacher put aside for it, if any."""
    if not _has_concern_draft(request, student):
        return redirect(next_url)
    if reached:
        messages.info(request, _("Good news first: done. Here is the concern you started."))
        return redirect(_log_url(student, draft="good-news-first", next=next_url))
    # The good news did not reach them: the family still has none, so the question stays.
    messages.info(request, _("The good news did not reach the family yet. Here is the concern you started."))
    return redirect(_log_url(student, draft="kept", next=next_url))


@require_http_methods(["GET", "POST"])
@staff_required
def good_news(request: AuthenticatedRequest, student_id: int) -> HttpResponse:
    student = get_staff_visible_student_or_404(request.user, student_id)
    record(actor=request.user, student=student, action=AuditAction.VIEWED, what="good news", request=request)
    next_url = _safe_next(request, default=reverse("students:student_detail", args=[student.pk]))
    guardians = contactable_guardians(user=request.user, student=student)
    # Opened to put good news before a concern: the call is to whom the concern was for.
    chosen = parse_id(request.GET.get("guardian"))
    initial = {"guardian": chosen} if chosen is not None and guardians.filter(pk=chosen).exists() else {}
    form = GoodNewsForm(request.POST or None, guardians=guardians, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["action"] == GoodNewsForm.CALLED:
                log_good_news_call(
                    user=request.user,
                    student=student,
                    guardian=data["guardian"],
                    moment=data["moment"],
                    sentence=data["sentence"],
                )
                messages.success(request, _("Good news logged. Thank you for the call."))
            else:
                sent = send_good_news(
                    user=request.user, student=student, moment=data["moment"], sentence=data["sentence"]
                )
                messages.success(
                    request,
                    ngettext(
                        "Your good news is on its way to %(count)d family member.",
                        "Your good news is on its way to %(count)d family members.",
                        sent.families,
                    )
                    % {"count": sent.families},
                )
                _say_when_held(request, sent.held_until)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _back_to_concern_draft(request, student, next_url, reached=True)
    guardians_list = list(guardians)
    return render(
        request,
        "communication/good_news.html",
        {
            "student": student,
            "form": form,
            "next_url": next_url,
            "guardians": guardians_list,
            "untranslated_languages": languages_read_untranslated(writer=request.user, guardians=guardians_list),
        },
    )


def _render_log(
    request: AuthenticatedRequest,
    student: Student,
    form: LogContactForm,
    next_url: str,
    *,
    without_positive: list[Student],
    ask_positive_first: bool = False,
) -> HttpResponse:
    return render(
        request,
        "communication/log_contact.html",
        {
            "student": student,
            "form": form,
            "next_url": next_url,
            "without_positive": without_positive,
            "ask_positive_first": ask_positive_first,
            "family_summary": summaries_by_student([student.pk]).get(student.pk, ""),
        },
    )


def _initial(request: AuthenticatedRequest, student: Student) -> dict[str, Any]:
    """Presets from the button that opened the form (Today's "Good news" is a positive call), or the concern
    draft put aside to record good news first."""
    if request.GET.get("draft"):
        drafts = request.session.get(CONCERN_DRAFT_KEY, {})
        draft = drafts.pop(str(student.pk), None)
        request.session[CONCERN_DRAFT_KEY] = drafts
        if draft:
            good_news_first = request.GET["draft"] == "good-news-first"
            return {**draft, "tone": Tone.CONCERN, "confirm_concern": good_news_first}
    initial = {}
    for name in ("tone", "channel", "outcome", "topic"):
        if name in request.GET:
            initial[name] = request.GET[name]
    return initial


def _keep_concern_draft(request: AuthenticatedRequest, student: Student, form: LogContactForm) -> None:
    # Everything the concern said and whom it was for, as typed: it comes back exactly as it was.
    fields = ("summary", "guardian", "channel", "topic", "outcome", "direction", "occurred_at", "follow_up_on")
    draft: dict[str, Any] = {name: form.data.get(name, "") for name in fields}
    draft["students"] = request.POST.getlist("students")
    drafts = request.session.get(CONCERN_DRAFT_KEY, {})
    drafts[str(student.pk)] = draft
    request.session[CONCERN_DRAFT_KEY] = drafts


def _has_concern_draft(request: AuthenticatedRequest, student: Student) -> bool:
    return str(student.pk) in request.session.get(CONCERN_DRAFT_KEY, {})


def _log_url(student: Student, **params: str) -> str:
    return f"{reverse('communication:log_contact', args=[student.pk])}?{urlencode(params)}"


def _safe_next(request: AuthenticatedRequest, *, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return default


@require_http_methods(["GET", "POST"])
@staff_required
def introduction_letter(request: AuthenticatedRequest, section_id: int) -> HttpResponse:
    section = get_object_or_404(sections_taught_by(request.user).select_related("term__school"), pk=section_id)
    recipients = introduction_recipients(section=section)
    students = {student.pk: student for recipient in recipients for student in recipient.students}
    record_views(actor=request.user, students=students.values(), what="introduction letter", request=request)
    plan = letter_languages(recipients)
    form = IntroductionLetterForm(
        request.POST or None, languages=plan.languages, initial={"how_to_reach": request.user.email}
    )
    valid = form.is_bound and form.is_valid()
    if valid and "send" in request.POST and recipients:
        count = send_introduction_letter(
            sender=request.user,
            section=section,
            letters=form.letters(),
            how_to_reach=form.cleaned_data["how_to_reach"],
            office_hours=form.cleaned_data["office_hours"],
        )
        messages.success(
            request,
            ngettext(
                "Your introduction letter is on its way to %(count)d family.",
                "Your introduction letter is on its way to %(count)d families.",
                count,
            )
            % {"count": count},
        )
        school = section.term.school
        held_until = email_held_until(school)
        _say_when_held(request, held_until and held_until.astimezone(zoneinfo.ZoneInfo(school.time_zone)))
        return redirect("students:section_detail", section_id=section.pk)
    letters = form.letters() if valid else {code: default_letter(code) for code in plan.languages}
    previews = letter_previews(
        recipients=recipients,
        letters=letters,
        sender=request.user,
        section=section,
        how_to_reach=form.cleaned_data["how_to_reach"] if valid else request.user.email,
        office_hours=form.cleaned_data["office_hours"] if valid else "…",
    )
    return render(
        request,
        "communication/introduction_letter.html",
        {
            "section": section,
            "form": form,
            "recipients": recipients,
            "plan": plan,
            "previews": previews,
            "status": introduction_status(section=section),
            "merge_fields": MERGE_FIELDS,
        },
    )


@require_http_methods(["GET", "POST"])
@staff_required
def family_introduction(request: AuthenticatedRequest, section_id: int, guardian_id: int) -> HttpResponse:
    """The introduction letter written for one family: a personal contact, where the form letter is a notice."""
    section = get_object_or_404(sections_taught_by(request.user).select_related("term__school"), pk=section_id)
    recipient = next((r for r in introduction_recipients(section=section) if r.guardian.pk == guardian_id), None)
    if recipient is None:
        raise Http404
    record_views(actor=request.user, students=recipient.students, what="introduction letter", request=request)
    draft = family_letter_draft(recipient=recipient, sender=request.user, section=section)
    form = FamilyLetterForm(request.POST or None, initial={"subject": draft.subject, "body": draft.body})
    if form.is_bound and form.is_valid():
        try:
            sent = send_family_introduction(
                sender=request.user,
                section=section,
                guardian_id=recipient.guardian.pk,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _say_message_sent(request, sent)
            return redirect("communication:introduction_letter", section_id=section.pk)
    return render(
        request,
        "communication/family_introduction.html",
        {"section": section, "recipient": recipient, "form": form},
    )


def _say_when_held(request: AuthenticatedRequest, families_time: datetime.datetime | None) -> None:
    """Email and texts held for the families' quiet hours: the sender is told when they go, in the families' time."""
    if families_time is not None:
        messages.info(
            request,
            _(
                "It is quiet hours for the families: email and texts will be delivered at %(time)s on %(day)s, "
                "their time."
            )
            % {"time": date_format(families_time, "G:i"), "day": date_format(families_time, "l j F")},
        )


# --- Messages and conversations --------------------------------------------------------------------------------


@require_safe
@staff_required
def conversations(request: AuthenticatedRequest) -> HttpResponse:
    entries = messages_of_staff(staff=request.user)
    children = [child for entry in entries if isinstance(entry, ThreadSummary) for child in entry.children]
    record_views(actor=request.user, students=children, what="Conversations", request=request)
    hours = OfficeHours.objects.filter(staff=request.user).first()
    return render(
        request,
        "communication/conversations.html",
        {
            "entries": entries,
            "undelivered": undelivered_from(sender=request.user),
            "office_hours": hours,
            "office_days": office_days(hours),
        },
    )


@require_http_methods(["GET", "POST"])
@staff_required
def new_message(request: AuthenticatedRequest) -> HttpResponse:
    families = families_in_care_of(sender=request.user)
    children = {student.pk: student for family in families for student in family.students}
    record_views(actor=request.user, students=children.values(), what="new message", request=request)
    sections = list(sections_taught_by(request.user).order_by("name", "id"))
    form = MessageForm(
        request.POST or None,
        sections=sections,
        families=families,
        told_us=summaries_by_guardian(family.guardian.pk for family in families),
        initial=_message_audience(request, sections),
    )
    previews: list[TranslationPreview] = []
    without_good_news: list[Student] = []
    if form.is_bound and form.is_valid():
        audience = form.audience_of(families)
        if "send_anyway" not in request.POST:
            without_good_news = good_news_first_for_families(tone=form.cleaned_data["tone"], families=audience)
        try:
            if "preview" in request.POST or without_good_news:
                previews = translation_previews(
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    source=request.user.language or "en",
                    families=audience,
                )
            else:
                sent = send_message(
                    sender=request.user,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    tone=form.cleaned_data["tone"],
                    section=form.section,
                    guardian_ids=form.guardian_ids,
                )
                _say_message_sent(request, sent)
                return redirect("communication:conversations")
        except ValidationError as error:
            form.add_error(None, error)
    return render(
        request,
        "communication/new_message.html",
        {
            "form": form,
            "families": families,
            "languages": family_languages(families),
            "translates": translator().name != "none",
            "previews": previews,
            "asks_good_news_first": bool(without_good_news),
            "without_good_news": without_good_news,
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def new_notice(request: AuthenticatedRequest) -> HttpResponse:
    """A school leader's notice to every family of the school."""
    schools = list(schools_led_by(request.user).order_by("name"))
    if not schools:
        raise Http404
    form = NoticeForm(request.POST or None, schools=schools)
    previews: list[TranslationPreview] = []
    if form.is_bound and form.is_valid():
        school = form.schools[form.cleaned_data["school"]]
        try:
            if "preview" in request.POST:
                previews = translation_previews(
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    source=request.user.language or "en",
                    families=families_of_school(school),
                )
            else:
                sent = send_notice(
                    sender=request.user,
                    school=school,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    urgent=form.cleaned_data["urgent"],
                )
                _say_message_sent(request, sent)
                return redirect("communication:new_notice")
        except ValidationError as error:
            form.add_error(None, error)
    return render(
        request,
        "communication/new_notice.html",
        {"form": form, "previews": previews, "translates": translator().name != "none"},
    )


@require_http_methods(["GET", "POST"])
@staff_required
def office_hours(request: AuthenticatedRequest) -> HttpResponse:
    """When the member of staff reads families' messages: outside them families get an automatic answer."""
    hours = OfficeHours.objects.filter(staff=request.user).first()
    initial = (
        {"weekdays": list(hours.weekdays), "opens_at": hours.opens_at, "closes_at": hours.closes_at}
        if hours
        else {"opens_at": datetime.time(8), "closes_at": datetime.time(16)}
    )
    form = OfficeHoursForm(request.POST or None, initial=initial)
    if request.method == "POST" and "clear" in request.POST:
        clear_office_hours(staff=request.user)
        messages.success(request, _("Office hours removed: families get no automatic answer."))
        return redirect("communication:conversations")
    if form.is_bound and form.is_valid():
        set_office_hours(
            staff=request.user,
            weekdays="".join(sorted(form.cleaned_data["weekdays"])),
            opens_at=form.cleaned_data["opens_at"],
            closes_at=form.cleaned_data["closes_at"],
            time_zone=staff_time_zone(request.user),
        )
        messages.success(request, _("Office hours saved."))
        return redirect("communication:conversations")
    return render(request, "communication/office_hours.html", {"form": form, "hours": hours})


def _message_audience(request: AuthenticatedRequest, sections: list[Section]) -> dict[str, Any]:
    """Opened from a class page or a family's row: that class, or that family, is already chosen."""
    family = parse_id(request.GET.get("family"))
    if family is not None:
        return {"audience": CHOSEN_FAMILIES, "families": [family]}
    chosen_class = request.GET.get("class", "")
    if any(str(section.pk) == chosen_class for section in sections):
        return {"audience": f"class-{chosen_class}"}
    return {"audience": f"class-{sections[0].pk}" if len(sections) == 1 else CHOSEN_FAMILIES}


def _say_message_sent(request: AuthenticatedRequest, sent: SentMessage) -> None:
    messages.success(
        request,
        ngettext(
            "Your message is on its way to %(count)d family.",
            "Your message is on its way to %(count)d families.",
            sent.families,
        )
        % {"count": sent.families},
    )
    _say_when_held(request, sent.held_until)


@require_http_methods(["GET", "POST"])
@staff_required
def conversation(request: AuthenticatedRequest, thread_id: int) -> HttpResponse:
    thread = get_object_or_404(
        threads_visible_to(request.user).filter(staff=request.user).select_related("staff", "guardian"), pk=thread_id
    )
    form = MessageTextForm(request.POST or None)
    if form.is_bound and form.is_valid():
        try:
            sent = send_message(
                sender=request.user,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                tone=form.cleaned_data["tone"],
                guardian_ids=[thread.guardian_id],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _say_message_sent(request, sent)
            return redirect("communication:conversation", thread_id=thread.pk)
    children = thread_students(thread=thread)
    record_views(actor=request.user, students=children, what="Conversation", request=request)
    entries = thread_entries(thread=thread)
    mark_read_by_staff(thread=thread)
    return render(
        request,
        "communication/conversation.html",
        {
            "thread": thread,
            "entries": entries,
            "children": children,
            "form": form,
            "family_summary": summaries_by_guardian([thread.guardian_id]).get(thread.guardian_id, ""),
        },
    )


# --- Replies waiting to be placed ("who is this?") ---------------------------------------------------------------


@require_safe
@staff_required
def unrouted_replies(request: AuthenticatedRequest) -> HttpResponse:
    """Texts and emails Homeroom could not place in a conversation on its own, of families this person sees."""
    waiting = list(unrouted_replies_visible_to(request.user).order_by("received_at", "id")[:UNROUTED_PAGE_SIZE])
    items = list(zip(waiting, placements_of_each(staff=request.user, waiting=waiting), strict=True))
    students = {student for _unrouted, placements in items for p in placements for student in p.students}
    record_views(actor=request.user, students=students, what="Replies waiting to be placed", request=request)
    return render(request, "communication/unrouted_replies.html", {"items": items})


UNROUTED_PAGE_SIZE = 50


@require_http_methods(["POST"])
@staff_required
def place_unrouted(request: AuthenticatedRequest, unrouted_id: int) -> HttpResponse:
    unrouted = get_object_or_404(unrouted_replies_visible_to(request.user), pk=unrouted_id)
    if request.POST.get("set_aside"):
        set_aside_unrouted_reply(staff=request.user, unrouted=unrouted, request=request)
        messages.success(request, _("The reply was set aside: it waits no longer."))
        return redirect("communication:unrouted_replies")
    placements = placements_for(staff=request.user, unrouted=unrouted)
    choices = {placement.thread.pk: placement.thread for placement in placements}
    try:
        thread = choices[int(request.POST.get("thread", ""))]
    except (KeyError, ValueError, OverflowError):
        raise Http404 from None
    try:
        place_unrouted_reply(staff=request.user, unrouted=unrouted, thread=thread, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("communication:unrouted_replies")
    messages.success(
        request,
        _("The reply is now in the conversation with %(name)s.") % {"name": thread.guardian.display_name},
    )
    return redirect("communication:unrouted_replies")
