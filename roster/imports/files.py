"""Reading roster files safely: a zip or a folder of CSV files, or one CSV file, streamed row by row.

Zip files are checked before a byte is decompressed: the number of entries, the total uncompressed size and each
entry's compression ratio (a zip bomb declares small and inflates huge; zipfile itself stops an entry at the size
it declares). Nothing is extracted to disk. File names match whatever their case, at the top of the archive or in
in a folder inside it, as student information systems write them.
"""

import csv
import difflib
import io
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from homeroom.spreadsheets import restore
from roster.imports.report import Report, RosterFileError
from roster.imports.values import CONTROL, control_character

# Names (Vietnamese, Arabic) and free text stay far below this; a longer field is a broken file, not a name.
csv.field_size_limit(1_000_000)


def _limits() -> tuple[int, int, int, int]:
    return (
        settings.HOMEROOM_IMPORT_MAX_BYTES,
        settings.HOMEROOM_IMPORT_MAX_ZIP_ENTRIES,
        settings.HOMEROOM_IMPORT_MAX_UNCOMPRESSED_BYTES,
        settings.HOMEROOM_IMPORT_MAX_COMPRESSION_RATIO,
    )


def _megabytes(size: int) -> str:
    return str(filesizeformat(size))


class CsvFiles:
    """The CSV files of a OneRoster set, by lower-case name ("users.csv"), from a zip or a folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._names: dict[str, str] = {}
        if path.is_dir():
            self._read_folder(path)
        elif zipfile.is_zipfile(path):
            self._read_zip(path)
        else:
            raise RosterFileError(_("This is neither a zip file nor a folder of CSV files."))

    def _read_folder(self, path: Path) -> None:
        files = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".csv"]
        if not files:
            folders = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))]
            if len(folders) == 1:
                files = [p for p in folders[0].iterdir() if p.is_file() and p.suffix.lower() == ".csv"]
        max_bytes = _limits()[0]
        for file in files:
            if file.stat().st_size > max_bytes:
                raise RosterFileError(
                    _("This file is larger than %(limit)s.") % {"limit": _megabytes(max_bytes)}, file=file.name
                )
            self._add(file.name, str(file))

    def _read_zip(self, path: Path) -> None:
        max_bytes, max_entries, max_uncompressed, max_ratio = _limits()
        if path.stat().st_size > max_bytes:
            raise RosterFileError(_("The file is larger than %(limit)s.") % {"limit": _megabytes(max_bytes)})
        try:
            archive = zipfile.ZipFile(path)
            entries = archive.infolist()
        except (zipfile.BadZipFile, OSError):
            raise RosterFileError(_("The zip file is damaged and cannot be opened.")) from None
        if len(entries) > max_entries:
            raise RosterFileError(
                _("The zip file holds %(count)d entries; a roster holds at most %(limit)d files.")
                % {"count": len(entries), "limit": max_entries}
            )
        total = sum(entry.file_size for entry in entries)
        if total > max_uncompressed:
            raise RosterFileError(
                _("The zip file unpacks to %(size)s, more than the %(limit)s allowed.")
                % {"size": _megabytes(total), "limit": _megabytes(max_uncompressed)}
            )
        for entry in entries:
            name = PurePosixPath(entry.filename)
            if entry.is_dir() or name.name.startswith(".") or "__MACOSX" in name.parts:
                continue
            if entry.file_size > 1_000_000 and entry.file_size > max_ratio * max(entry.compress_size, 1):
                raise RosterFileError(
                    _("%(name)s is compressed more than %(ratio)d to 1, as only a zip bomb is. Zip the files again.")
                    % {"name": name.name, "ratio": max_ratio},
                    file=name.name,
                )
            if name.suffix.lower() == ".csv":
                self._add(name.name, entry.filename)
        self._zip = archive

    def _add(self, name: str, location: str) -> None:
        key = name.lower()
        if key in self._names:
            raise RosterFileError(_("The set holds two files named %(name)s.") % {"name": name}, file=name)
        self._names[key] = location

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def drop(self, name: str) -> None:
        del self._names[name]

    def names(self) -> list[str]:
        return sorted(self._names)

    def display_name(self, name: str) -> str:
        """A file's name as the set spells it ("Users.CSV"), for problems people look for."""
        location = self._names.get(name)
        return PurePosixPath(location).name if location else name

    def open(self, name: str) -> IO[bytes]:
        location = self._names[name]
        if self._zip:
            # zipfile reads lines in Python; a buffered reader on top reads them in C, 600,000 lines 1 s sooner.
            return io.BufferedReader(self._zip.open(location), buffer_size=1 << 20)  # type: ignore[type-var]
        return open(location, "rb")

    def close(self) -> None:
        if self._zip:
            self._zip.close()


class Row:
    """One record of a CSV file: its first line in the file and the fields Homeroom reads, by column name."""

    __slots__ = ("line", "refused", "values")

    def __init__(self, line: int, values: dict[str, str], refused: tuple[tuple[str, str], ...] = ()) -> None:
        self.line = line
        self.values = values
        # (column, reason) of each name the row may not be imported with: the reader leaves the row out.
        self.refused = refused

    def get(self, column: str) -> str:
        return self.values.get(column, "")

    def deleted(self) -> "Row":
        """The same row marked as a deletion (a negative line) for the caller."""
        return Row(-self.line, self.values, self.refused)


class NotUtf8(ValueError):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def decoded_lines(stream: IO[bytes]) -> Iterator[str]:
    """Lines of UTF-8 text, one by one, so that a byte that is not UTF-8 is reported on its own line (a text
    stream decodes 8 KB at a time). The byte-order mark spreadsheet programs put first is dropped; CRLF is kept
    for the csv module, which reads both line endings."""
    for number, line in enumerate(stream, start=1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise NotUtf8(number) from None
        yield text.removeprefix("\ufeff") if number == 1 else text


def read_rows(
    stream: IO[bytes],
    *,
    file: str,
    columns: dict[str, str],
    required: tuple[str, ...],
    report: Report,
    written_by_homeroom: bool = False,
    aliases: dict[str, str] | None = None,
    standard: frozenset[str] = frozenset(),
    tally: tuple[Counter[str], str] | None = None,
) -> Iterator[Row]:
    """Rows of one CSV file, read by canonical column name. `columns` maps each known column, lower-cased, to its
    canonical name; `aliases` the older names vendors still send ("grade" for "grades"), used when the canonical
    column is absent. Other columns are ignored: `standard` (lower-cased) names those the format defines and
    Homeroom does not read; any other that looks like a misspelling of a column read gets a notice. A missing
    required column is one problem for the file and no rows. `tally`: (counter, key) that counts the rows read.
    `written_by_homeroom`: a file of Homeroom's own export, whose cells are read back as they were before the
    export kept spreadsheets from running them (homeroom/spreadsheets.py).

    A row shorter or longer than the header is read when what is missing or extra is trailing and empty (the
    header ends in empty names, or the row in empty fields); otherwise it comes with `refused` set, and the reader
    skips it. No field is stored with a control character (a NUL byte, a line break, a tab): such a row comes with
    `refused` set too."""
    reader = csv.reader(decoded_lines(stream))
    try:
        header = next(reader, None)
    except (NotUtf8, csv.Error, *DAMAGED) as error:
        report.add(file, 1, "", _not_readable(error))
        return
    if header is None:
        report.add(file, 0, "", _("The file is empty: it needs at least its header row."))
        return
    index: dict[str, int] = {}
    unknown: list[str] = []
    for position, name in enumerate(header):
        key = name.strip().lower()
        canonical = columns.get(key)
        if canonical:
            index.setdefault(canonical, position)
        elif key and key not in standard and (not aliases or key not in aliases):
            unknown.append(name.strip())
    for alias, canonical in (aliases or {}).items():
        found = next((p for p, name in enumerate(header) if name.strip().lower() == alias), None)
        if found is not None and canonical not in index:
            index[canonical] = found
    missing = [column for column in required if column not in index]
    if missing:
        report.add(file, 1, ", ".join(missing), _("The header row lacks these columns."))
        return
    _misspellings(file, unknown, [c for c in columns.values() if c not in index], report)
    positions = tuple(index.items())  # only the columns Homeroom reads: users.csv has 25, a third unused
    width = len(header)
    # A header that ends in empty names ("sourcedId,name,,,"): rows may stop before them.
    named = width
    while named > 0 and not header[named - 1].strip():
        named -= 1
    needed = max(index.values()) + 1
    line = reader.line_num
    count = 0
    try:
        for record in reader:
            start, line = line + 1, reader.line_num
            if len(record) != width:
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue  # blank lines, as spreadsheets leave at the end
                if not _trailing_empty(record, width, max(named, needed)):
                    # Skipped by the reader, with what can be read of its key: the record stays as it is.
                    message = _("This row has %(found)d fields; the header has %(expected)d.") % {
                        "found": len(record),
                        "expected": width,
                    }
                    values = {name: record[p].strip() for name, p in positions if p < len(record)}
                    count += 1
                    yield Row(start, values, (("", message),))
                    continue
                if len(record) < width:
                    record = record + [""] * (width - len(record))
            if written_by_homeroom:
                values = {name: restore(record[position].strip()) for name, position in positions}
            else:
                values = {name: record[position].strip() for name, position in positions}
            count += 1
            if CONTROL.search("".join(values.values())):
                yield _checked(values, start)
                continue
            yield Row(start, values)
    except (NotUtf8, csv.Error, *DAMAGED) as error:
        report.add(file, error.line if isinstance(error, NotUtf8) else line + 1, "", _not_readable(error))
    finally:
        if tally is not None:
            tally[0][tally[1]] += count


def _trailing_empty(record: list[str], width: int, needed: int) -> bool:
    """A row of another length that is read all the same: short of the header's empty trailing names only, or
    longer by empty fields only."""
    if len(record) > width:
        return not any(field.strip() for field in record[width:])
    return len(record) >= needed


def _misspellings(file: str, unknown: list[str], unread: list[str], report: Report) -> None:
    """A notice for each ignored column that looks like one Homeroom reads and did not find ("familyname_")."""
    lowered = {column.lower(): column for column in unread}
    for name in unknown:
        close = difflib.get_close_matches(name.lower(), lowered, n=1, cutoff=0.8)
        if close:
            report.notice(
                _("%(file)s: the column “%(name)s” was ignored. Did you mean “%(known)s”?")
                % {"file": file, "name": name, "known": lowered[close[0]]}
            )


def _checked(values: dict[str, str], line: int) -> Row:
    """A row with a control character somewhere: one the reader leaves out, with its key, so that the record
    Homeroom has for it stays as it is."""
    refused = []
    for column, value in values.items():
        reason = control_character(value)
        if reason is not None:
            refused.append((column, reason))
    return Row(line, values, tuple(refused))


# What a damaged zip entry raises part-way: a checksum that does not match, a compressed stream cut short.
DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError)


def _not_readable(error: Exception) -> str:
    if isinstance(error, NotUtf8):
        return _("This line is not UTF-8 text. Save the file as “CSV UTF-8” and try again.")
    if isinstance(error, DAMAGED):
        return _("The file is damaged and cannot be read. Export it again.")
    return _("This line cannot be read as CSV (%(error)s).") % {"error": error}
