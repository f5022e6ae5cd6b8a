"""Both importers fed arbitrary files: random headers, cells, encodings, byte-order marks, NUL bytes, line breaks
and fields past the size limit. Whatever comes in, the import never raises, stores no name or code with a control
character, and explains in its report every row it left out and every file it refused."""

import codecs
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import User
from homeroom.testing import count_security_probes
from roster.imports.oneroster import COLUMNS as COLUMNS_OF
from roster.imports.plain import COLUMNS
from roster.imports.run import ImportResult, import_oneroster, import_plain_csv
from roster.imports.values import CONTROL
from roster.models import Guardian, School, Section, Student
from roster.tests.factories import SchoolFactory, TermFactory
from roster.tests.test_import_oneroster import TODAY, csv_text, oneroster_set, write_set
from roster.tests.test_import_plain import sofia

pytestmark = [pytest.mark.django_db, pytest.mark.security]

ODD = ["", " ", "\x00", "\n", "\r\n", "\r", "\t", "\u2028", "\ufeff", '"', ",", "'", "=1+1", "+15551234567", "é", "😀"]
CELL = st.one_of(
    st.text(max_size=30),
    st.sampled_from(ODD),
    st.tuples(st.sampled_from(ODD), st.text(max_size=10), st.sampled_from(ODD)).map("".join),
    st.sampled_from(["3", "KG", "PK", "2017-04-12", "maria@example.org", "mother", "es", "student", "parent"]),
)
HUGE = st.sampled_from([0] * 10 + [200_000, 1_100_000])  # past csv's field limit (1,000,000) now and then
ENCODINGS = st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "utf-16", "latin-1", "cp1252"])


@st.composite
def csv_bytes(draw: st.DrawFn, known: tuple[str, ...], template: tuple[str, ...] = ()) -> bytes:
    """Mostly a file whose header and rows are right but for a few cells; else anything at all."""
    if template and draw(st.integers(0, 3)):
        header = [column.upper() if draw(st.booleans()) else column for column in known]
        rows = [list(template) for _ in range(draw(st.integers(1, 4)))]
        for number, row in enumerate(rows):
            row[0] = f"{row[0]}{number}"  # one student number each
            names = [n for n, column in enumerate(known) if "name" in column]
            for _ in range(draw(st.integers(0, 2))):
                anywhere = st.integers(0, len(row) - 1)
                row[draw(st.sampled_from(names) if names and draw(st.integers(0, 3)) else anywhere)] = draw(CELL)
    else:
        header = draw(
            st.lists(st.one_of(st.sampled_from(known), st.sampled_from([c.upper() for c in known]), CELL), max_size=25)
        )
        rows = draw(st.lists(st.lists(CELL, max_size=len(header) + 2), max_size=6))
    huge = draw(HUGE)
    if huge and rows and rows[0]:
        rows[0][0] = "x" * huge
    text = csv_text([header, *rows], newline=draw(st.sampled_from(["\n", "\r\n"])))
    encoding = draw(ENCODINGS)
    data = (draw(st.sampled_from(["", "\ufeff"])) + text).encode(encoding, errors="replace")
    if draw(st.booleans()):
        data += draw(st.binary(max_size=40))  # bytes that are no text at all, at the end
    return data


def broken_values() -> list[str]:
    """Every stored name, number and code with a control character: there must be none."""
    values: list[str] = []
    for model, fields in (
        (Student, ("first_name", "last_name", "preferred_name", "student_number", "sourced_id")),
        (Guardian, ("first_name", "last_name", "email", "phone", "sourced_id")),
        (User, ("full_name", "email", "sourced_id")),
        (Section, ("name", "code", "sourced_id")),
        (School, ("name", "sourced_id")),
    ):
        for row in model._default_manager.values_list(*fields):
            values.extend(value for value in row if CONTROL.search(value or ""))
    return values


def explained(result: ImportResult) -> bool:
    """A refused file says why; each row left out says why."""
    if not result.imported and not result.report.problems:
        return False
    return all(problem.message.strip() for problem in (*result.report.problems, *result.report.skipped))


class Fuzz:
    """What the examples found, counted for docs/security.md before the test asserts."""

    def __init__(self) -> None:
        self.examples = 0
        self.failures: list[str] = []

    def run(self, load: Any) -> None:
        self.examples += 1
        with transaction.atomic():
            try:
                result = load()
            except Exception as error:
                self.failures.append(f"raised {error!r}")
            else:
                broken = broken_values()
                if broken:
                    self.failures.append(f"stored {broken[:3]!r}")
                if not explained(result):
                    self.failures.append(f"unexplained {result.report}")
            transaction.set_rollback(True)


@pytest.fixture
def school(db: None) -> School:
    school = SchoolFactory(name="Maple Elementary")
    TermFactory(school=school, name="2026-2027", is_current=True)
    return school


def test_the_plain_csv_import_takes_any_file_without_raising_or_storing_broken_names(
    tmp_path: Path, school: School
) -> None:
    fuzz = Fuzz()
    path = tmp_path / "roster.csv"

    @given(data=csv_bytes(COLUMNS, tuple(sofia().values())))
    @hypothesis_settings(max_examples=60)
    def property(data: bytes) -> None:
        path.write_bytes(data)
        fuzz.run(lambda: import_plain_csv(path, school=school))

    property()
    count_security_probes("importers fuzzed", probes=fuzz.examples, errors=len(fuzz.failures))
    assert fuzz.failures == []


USERS = tuple(COLUMNS_OF["users.csv"])  # every column Homeroom reads


@st.composite
def oneroster_files(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """The minimal valid set with one file replaced by arbitrary bytes, or random cells written into its own."""
    files: dict[str, Any] = oneroster_set()
    name = draw(st.sampled_from(["users.csv"] * 4 + sorted(files)))
    if not draw(st.integers(0, 3)):
        files[name] = draw(csv_bytes(USERS if name == "users.csv" else tuple(files[name][0])))
    else:
        names = ["givenName", "familyName", "preferredGivenName"]
        for _ in range(draw(st.integers(1, 4))):
            row = draw(st.sampled_from(files[name]))
            column = draw(st.sampled_from(names if name == "users.csv" and draw(st.integers(0, 3)) else sorted(row)))
            row[column] = draw(CELL)
    return files, draw(st.booleans())


def test_the_oneroster_import_takes_any_set_without_raising_or_storing_broken_names(tmp_path: Path) -> None:
    fuzz = Fuzz()
    count = iter(range(10_000))

    @given(drawn=oneroster_files())
    @hypothesis_settings(max_examples=60)
    def property(drawn: tuple[dict[str, Any], bool]) -> None:
        files, as_zip = drawn
        path = write_set(tmp_path, files, as_zip=as_zip, name=f"set-{next(count)}")
        fuzz.run(lambda: import_oneroster(path, today=TODAY))

    property()
    count_security_probes("importers fuzzed", probes=fuzz.examples, errors=len(fuzz.failures))
    assert fuzz.failures == []


@given(data=st.binary(max_size=2000), bom=st.sampled_from([b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE]))
@hypothesis_settings(max_examples=30)
def test_a_zip_of_arbitrary_bytes_is_refused_with_a_reason(tmp_path: Path, data: bytes, bom: bytes) -> None:
    path = tmp_path / "upload.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("users.csv", bom + data)
        archive.writestr("orgs.csv", io.BytesIO(data[::-1]).getvalue())
    fuzz = Fuzz()
    fuzz.run(lambda: import_oneroster(path, today=TODAY))
    count_security_probes("importers fuzzed", probes=fuzz.examples, errors=len(fuzz.failures))
    assert fuzz.failures == []
