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
    """The exit status: 0 when the roster was imported (or, checking only, would be)."""
    for notice in result.report.notices:
        out.write(notice)
    if not result.report.ok:
        for problem in result.report.problems:
            err.write(str(problem))
        hidden = result.report.problem_count - len(result.report.problems)
        if hidden:
            err.write(_("…and %(count)d more problems.") % {"count": hidden})
        err.write(_("Nothing was imported: %(count)d problems.") % {"count": result.report.problem_count})
        return 1
    counts = result.summary.as_dict()
    out.write(f"{'':14}" + "".join(f"{change:>13}" for change in CHANGES))
    for kind in KINDS:
        out.write(f"{kind:14}" + "".join(f"{counts[kind][change]:>13,}" for change in CHANGES))
    out.write(_("Checked: nothing was changed.") if dry_run else _("Imported."))
    return 0
