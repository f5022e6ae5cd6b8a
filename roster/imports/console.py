"""What the import commands print: a progress bar while they run, then the problems or the summary."""

import sys
from typing import TextIO

from django.core.management.base import CommandError, OutputWrapper
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from roster.imports.report import CHANGES, KINDS
from roster.imports.run import ImportResult

BAR_WIDTH = 30
BY_HELP = (
    "The email of the person running it (an administrator of what it reads or changes): the access log names them."
)


def operator(email: str, *, may_act: QuerySet[User]) -> User:
    """The person a command acts for, named by `--by`: every student it reads or changes is in the access log under
    their name, and they must be one of `may_act` (or a platform administrator)."""
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        raise CommandError(_("No active account has the email %(email)s.") % {"email": email})
    if not (user.is_superuser or may_act.filter(pk=user.pk).exists()):
        raise CommandError(
            _("%(email)s does not administer what this command reads or changes.") % {"email": user.email}
        )
    return user


class ProgressBar:
    """Steps of the import on one line, redrawn in place on a terminal; one line per step otherwise."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        line = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {stage}"
        if self.tty:
            self.stream.write("\r" + line.ljust(BAR_WIDTH + 30))
            if stage == "done":
                self.stream.write("\n")
        elif stage != self.last:
            self.stream.write(line + "\n")
        self.last = stage
        self.stream.flush()


def print_result(result: ImportResult, out: OutputWrapper, err: OutputWrapper, *, dry_run: bool) -> int:
    """What stopped the import, then the summary, what was skipped and the notices. The exit status: 0 when the
    roster was imported whole (or, checking only, would be), 3 with rows skipped, 1 when nothing was."""
    report = result.report
    if not report.ok:
        for problem in report.problems:
            err.write(str(problem))
        hidden = report.problem_count - len(report.problems)
        if hidden:
            err.write(_("…and %(count)d more problems.") % {"count": hidden})
        err.write(_("Nothing was imported: %(count)d problems.") % {"count": report.problem_count})
        return result.exit_code
    counts = result.summary.as_dict()
    out.write(f"{'':14}" + "".join(f"{change:>13}" for change in CHANGES))
    for kind in KINDS:
        out.write(f"{kind:14}" + "".join(f"{counts[kind][change]:>13,}" for change in CHANGES))
    if report.held:
        err.write(_("Held: this file would deactivate more records than the safety limits allow."))
        for kind, (count, names) in report.held.items():
            listed = f": {', '.join(names)}" + ("…" if count > len(names) and names else "")
            err.write(f"  {kind}: {count:,}{listed if names else ''}")
        err.write(
            _("Nothing was imported. If these records really left, run the import again with --allow-deactivations.")
        )
    if report.skipped:
        err.write(_("Skipped (%(count)d):") % {"count": report.skipped_count})
        for problem in report.skipped:
            err.write(f"  {problem}")
    for notice in report.notices:
        out.write(notice)
    if not report.held:
        if dry_run:
            out.write(_("Checked: nothing was changed."))
        elif report.skipped_count:
            out.write(_("Imported, except the rows listed as skipped."))
        else:
            out.write(_("Imported."))
    return result.exit_code
