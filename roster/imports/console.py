"""What the import commands print: a progress bar while they run, then the problems or the summary."""

import sys
from typing import TextIO

from django.core.management.base import OutputWrapper
from django.utils.translation import gettext as _

from roster.imports.report import CHANGES, KINDS
from roster.imports.run import ImportResult

BAR_WIDTH = 30


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
