import tempfile
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from audit.services import record_views
from homeroom.http import AuthenticatedRequest
from roster.access import (
    get_visible_roster_import_or_404,
    schools_led_by,
    staff_students_visible_to,
)
from roster.decorators import staff_required
from roster.forms import InviteFamiliesForm, RosterImportForm
from roster.imports.export import export_oneroster
from roster.imports.plain import template_csv
from roster.imports.progress import read_progress, stage_label
from roster.imports.report import CHANGES, KINDS
from roster.models import ImportStatus
from roster.selectors import recent_roster_imports, sections_for_user
from roster.services import confirm_roster_import, invite_families_to_portal, start_roster_import


@require_safe
@staff_required
def section_list(request: AuthenticatedRequest) -> HttpResponse:
    return render(request, "roster/section_list.html", {"sections": sections_for_user(user=request.user)})


@require_safe
@staff_required
def caseload(request: AuthenticatedRequest) -> HttpResponse:
    students = list(staff_students_visible_to(request.user).filter(caseload_assignments__counselor=request.user))
    record_views(actor=request.user, students=students, what="caseload", request=request)
    return render(request, "roster/caseload.html", {"students": students})


@require_POST
@staff_required
def invite_families(request: AuthenticatedRequest) -> HttpResponse:
    form = InviteFamiliesForm(request.POST, user=request.user)
    if not form.is_valid():
        return HttpResponseBadRequest(_("That school is not one you lead."))
    count = invite_families_to_portal(invited_by=request.user, school=form.cleaned_data["school"])
    if count:
        messages.success(
            request,
            ngettext(
                "An invitation to %(count)d parent or guardian is on its way.",
                "Invitations to %(count)d parents and guardians are on their way.",
                count,
            )
            % {"count": count},
        )
    else:
        messages.info(request, _("Every parent and guardian with an email address has already been invited."))
    return redirect("insights:overview")


KIND_LABELS = {
    "schools": gettext_lazy("Schools"),
    "terms": gettext_lazy("Terms"),
    "classes": gettext_lazy("Classes"),
    "teachers": gettext_lazy("Teachers"),
    "students": gettext_lazy("Students"),
    "guardians": gettext_lazy("Guardians"),
    "family_links": gettext_lazy("Family links"),
    "enrollments": gettext_lazy("Enrollments"),
}
IN_PROGRESS = (ImportStatus.QUEUED, ImportStatus.RUNNING)


@require_http_methods(["GET", "POST"])
@login_required
def import_roster(request: AuthenticatedRequest) -> HttpResponse:
    form = RosterImportForm(
        request.POST if request.method == "POST" else None, request.FILES or None, user=request.user
    )
    if not form.has_places:
        raise Http404  # not a page for someone who leads no school or district
    if form.is_valid():
        roster_import = start_roster_import(
            uploaded_by=request.user,
            upload=form.cleaned_data["file"],
            format=form.cleaned_data["format"],
            school=form.cleaned_data["school"],
            district=form.cleaned_data["district"],
            dry_run=form.cleaned_data["dry_run"],
        )
        return redirect("roster:import_detail", import_id=roster_import.pk)
    return render(
        request,
        "roster/import_upload.html",
        {"form": form, "recent_imports": recent_roster_imports(user=request.user)},
    )


@require_safe
@login_required
def import_detail(request: AuthenticatedRequest, import_id: int) -> HttpResponse:
    roster_import = get_visible_roster_import_or_404(request.user, import_id)
    running = roster_import.status in IN_PROGRESS
    progress = read_progress(roster_import.pk) if running else None
    return render(
        request,
        "roster/import_detail.html",
        {
            "roster_import": roster_import,
            "running": running,
            # Reloading by itself every two seconds, the page can be stopped doing so: WCAG 2.2.1 and 2.2.2.
            "auto_refresh": running and request.GET.get("refresh") != "off",
            "progress": progress,
            "stage": stage_label(progress["stage"]) if progress else "",
            "summary_rows": _summary_rows(roster_import.summary),
            "more_problems": max(roster_import.problem_count - len(roster_import.problems), 0),
            "more_skipped": max(roster_import.skipped_count - len(roster_import.skipped), 0),
            "held_rows": [
                {"label": KIND_LABELS.get(kind, kind), "count": count, "names": names, "more": count > len(names)}
                for kind, (count, names) in roster_import.held.items()
            ],
            "may_confirm": roster_import.status == ImportStatus.HELD
            and roster_import.uploaded_by_id == request.user.pk,
        },
    )


@require_POST
@login_required
def import_confirm(request: AuthenticatedRequest, import_id: int) -> HttpResponse:
    """The uploader confirms a held import's deactivations (the checkbox says they mean it): it runs again."""
    roster_import = get_visible_roster_import_or_404(request.user, import_id)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the box to confirm the deactivations, or upload another file."))
    elif not confirm_roster_import(roster_import=roster_import, confirmed_by=request.user):
        messages.error(request, _("This import is no longer waiting for a confirmation."))
    return redirect("roster:import_detail", import_id=roster_import.pk)


def _summary_rows(summary: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """Each kind of record with its counts, in the import's order, named in the reader's language."""
    return [
        {"label": KIND_LABELS[kind], "counts": [summary[kind].get(change, 0) for change in CHANGES]}
        for kind in KINDS
        if kind in summary
    ]


@require_safe
@login_required
def import_template(request: AuthenticatedRequest) -> HttpResponse:
    if not RosterImportForm(user=request.user).has_places:
        raise Http404
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="homeroom-roster.csv"'
    return response


@require_safe
@login_required
def export_roster(request: AuthenticatedRequest) -> FileResponse:
    """The roster of the schools this user leads, as OneRoster 1.2 CSV: for another system, or a backup."""
    schools = schools_led_by(request.user).select_related("district")
    first = schools.first()
    if first is None:
        raise Http404
    out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it once sent
    export_oneroster(
        out,
        district=first.district,
        schools=schools.filter(district=first.district),
        exported_by=request.user,
        request=request,
    )
    out.seek(0)
    name = f"homeroom-oneroster-{timezone.localdate():%Y-%m-%d}.zip"
    return FileResponse(out, as_attachment=True, filename=name, content_type="application/zip")
