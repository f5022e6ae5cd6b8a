"""CSV cells a spreadsheet would run as a formula are neutralised by the one writer every CSV of Homeroom uses."""

import io
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from homeroom import spreadsheets
from homeroom.spreadsheets import neutralise, restore

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("'already quoted", "''already quoted"),
        ("+15551234567", "+15551234567"),  # an E.164 phone stays a number
        ("-3", "-3"),
        ("+1.5", "+1.5"),
        ("O'Brien", "O'Brien"),
        ("María-José", "María-José"),
        ("", ""),
    ],
)
def test_a_cell_that_would_run_is_written_as_text_and_numbers_stay_numbers(value: str, written: str) -> None:
    assert neutralise(value) == written
    assert restore(written) == value


@given(st.text())
def test_restoring_a_neutralised_cell_gives_it_back_exactly(value: str) -> None:
    written = neutralise(value)
    assert restore(written) == value
    assert not written.startswith(spreadsheets.FORMULA_STARTS) or spreadsheets.NUMBER.fullmatch(written)


def test_the_writer_neutralises_every_cell() -> None:
    out = io.StringIO()
    spreadsheets.writer(out, lineterminator="\n").writerow(["=1+1", "+15551234567", None, 3])
    assert out.getvalue() == "'=1+1,+15551234567,,3\n"


# The app's CSV writers, each through homeroom.spreadsheets. Tests write raw CSV on purpose (the files an SIS sends);
# bench/ writes the synthetic SIS files the import is timed on: neither is a file Homeroom gives anyone.
WRITERS = {"roster/imports/export.py", "roster/imports/plain.py"}
RAW_WRITER = re.compile(r"csv\.(writer|DictWriter)\(|openpyxl|xlsxwriter|\bxlwt\b|to_csv\(|to_excel\(")


def _app_files() -> list[Path]:
    skipped = {".venv", "node_modules", "bench", "tests", "migrations", ".git"}
    return [
        path
        for path in ROOT.rglob("*.py")
        if not skipped & set(path.relative_to(ROOT).parts) and path.name != "conftest.py"
    ]


def test_every_csv_the_app_writes_goes_through_the_neutraliser() -> None:
    raw = sorted(
        str(path.relative_to(ROOT))
        for path in _app_files()
        if RAW_WRITER.search(path.read_text(encoding="utf-8")) and path.name != "spreadsheets.py"
    )
    users = sorted(
        str(path.relative_to(ROOT))
        for path in _app_files()
        if "spreadsheets.writer(" in path.read_text(encoding="utf-8")
    )
    assert raw == [], "write CSV with homeroom.spreadsheets.writer(), never csv.writer"
    assert users == sorted(WRITERS)
