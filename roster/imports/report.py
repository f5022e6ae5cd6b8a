"""What an import found wrong, row by row, in plain words, and what it changed."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

# Enough to fix a file by; a file with a million bad rows still reports how many there were.
MAX_PROBLEMS_KEPT = 1000


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int  # 0: the file as a whole
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        where = ", ".join(part for part in (self.file, f"line {self.line}" if self.line else "", self.column) if part)
        return f"{where}: {self.message}" if where else self.message


class RosterFileError(Exception):
    """A file that cannot be read at all: nothing further is looked at."""

    def __init__(self, message: str, *, file: str = "") -> None:
        super().__init__(message)
        self.problem = Problem(file=file, line=0, column="", message=message)


@dataclass
class Report:
    """Three lists, for three different things: `problems` stopped the import (nothing was written), `skipped`
    names the rows left out while the rest went in, and `notices` are worth knowing but changed nothing."""

    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    notices: list[str] = field(default_factory=list)
    # Rows left out on their own (a reference to nothing, a name with a line break): the rest is imported.
    skipped: list[Problem] = field(default_factory=list)
    skipped_count: int = 0
    # How many rows each file lost for a reason of their own (what depends on them is not counted here): the
    # safety limits weigh these against the file's rows.
    skipped_rows: Counter[str] = field(default_factory=Counter)
    # Per kind of record (students, classes…): the records skipped, dependants included, for the summary.
    skipped_kinds: Counter[str] = field(default_factory=Counter)
    # Deactivations held until a person confirms them: kind -> (count, some of their names).
    held: dict[str, tuple[int, list[str]]] = field(default_factory=dict)

    def add(self, file: str, line: int, column: str, message: str) -> None:
        """A reason to stop the whole import."""
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(Problem(file, line, column, message))

    def notice(self, message: str) -> None:
        if len(self.notices) < MAX_PROBLEMS_KEPT:
            self.notices.append(message)

    def value_left_out(self, file: str, line: int, column: str, message: str) -> None:
        """A bad optional value: dropped, with a notice, and the rest of its row imported."""
        self.notice(
            _(
                "%(file)s, line %(line)d, %(column)s: %(message)s The value was left out; the rest of the row was "
                "imported."
            )
            % {"file": file, "line": line, "column": column, "message": message}
        )

    def skip(
        self, file: str, line: int, column: str, message: str, *, kind: str = "", count: int = 1, own: bool = True
    ) -> None:
        """`count` records of `kind` left out, and why. `own`: the row's own fault (it counts against the file);
        a dependant of a skipped row is said in one line for all of them, with own=False."""
        self.skipped_count += 1
        if len(self.skipped) < MAX_PROBLEMS_KEPT:
            self.skipped.append(Problem(file, line, column, message))
        if own:
            self.skipped_rows[file.lower()] += 1
        if kind:
            self.skipped_kinds[kind] += count

    @property
    def ok(self) -> bool:
        return self.problem_count == 0


KINDS = ("schools", "terms", "classes", "teachers", "students", "guardians", "family_links", "enrollments")
CHANGES = ("created", "updated", "deactivated", "unchanged", "skipped")


@dataclass
class Summary:
    """Per kind of record, how many the import created, updated, deactivated and left as they were."""

    counts: dict[str, Counter[str]] = field(default_factory=lambda: {kind: Counter() for kind in KINDS})

    def add(self, kind: str, change: str, n: int = 1) -> None:
        self.counts[kind][change] += n

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {kind: {change: self.counts[kind][change] for change in CHANGES} for kind in KINDS}

    @property
    def changed(self) -> int:
        return sum(c["created"] + c["updated"] + c["deactivated"] for c in self.counts.values())
