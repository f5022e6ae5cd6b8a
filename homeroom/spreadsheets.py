"""Every CSV Homeroom writes goes through `writer()`: no cell it writes runs as a formula in a spreadsheet.

The rule (OWASP's "CSV injection"): a spreadsheet treats a cell beginning with `=`, `+`, `-` or `@` as a formula,
and a tab, carriage return or line feed before one hides it. Such a cell is written with an apostrophe in front,
which spreadsheets read as "this is text". So that the rule can be undone exactly, a cell that already begins with
an apostrophe gets one more.

Numbers stay as they are: a cell that is wholly a number, signed or not, in ASCII digits with at most one decimal
point (an E.164 phone `+15551234567`, `-3`, `+1.5`), is read by a spreadsheet as that number and never as a
formula, and other systems (an SIS reading Homeroom's OneRoster export) read it as written.

`restore()` undoes `neutralise()`: Homeroom's importer applies it to the files Homeroom itself wrote (their manifest
says so), so a name exported and imported again comes back identical. Files from anywhere else are read as they
are: an apostrophe an SIS wrote is part of the name.
"""

import csv
import re
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
TEXT_MARK = "'"
NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def neutralise(value: str) -> str:
    """The cell as written: an apostrophe before one a spreadsheet would run (or one beginning with an apostrophe),
    a number as it is."""
    if value.startswith(TEXT_MARK) or (value.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(value)):
        return TEXT_MARK + value
    return value


def restore(value: str) -> str:
    """The value `neutralise()` was given: for cells of a file Homeroom wrote."""
    return value[1:] if value.startswith(TEXT_MARK) else value


class SafeWriter:
    """csv.writer's writerow and writerows, each cell neutralised (None is written as an empty cell)."""

    def __init__(self, stream: _Writable, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([neutralise("" if cell is None else str(cell)) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: _Writable, **options: Any) -> SafeWriter:
    """The one way Homeroom writes CSV: as csv.writer(stream, **options), with every cell neutralised."""
    return SafeWriter(stream, **options)
