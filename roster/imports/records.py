"""A roster as read from a file, checked and normalised, before it touches the database.

Every format (OneRoster 1.1 and 1.2, the plain CSV) is read into this one shape, which the import then applies.
Records are keyed by the SIS's sourcedId; a record read from a plain CSV has none, and is matched by its natural
key (a student's number at the school, a guardian's email, a class's code in the term).
"""

import datetime
from dataclasses import dataclass, field
from enum import StrEnum


class Mode(StrEnum):
    BULK = "bulk"  # the whole set: a record missing from it is deactivated
    DELTA = "delta"  # changes only: records marked tobedeleted are deactivated, the rest untouched


@dataclass(slots=True)
class OrgRecord:
    sourced_id: str
    name: str
    line: int


@dataclass(slots=True)
class TermRecord:
    sourced_id: str
    name: str
    starts_on: datetime.date
    ends_on: datetime.date
    line: int


@dataclass(slots=True)
class ClassRecord:
    sourced_id: str
    name: str
    code: str
    grade: int | None
    school: str  # the school's key
    term: str  # the term's key
    line: int


@dataclass(slots=True)
class StudentRecord:
    sourced_id: str
    number: str
    first_name: str
    last_name: str
    preferred_name: str
    grade: int | None
    school: str
    line: int
    date_of_birth: datetime.date | None = None


@dataclass(slots=True)
class GuardianRecord:
    sourced_id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    language: str  # "" when the file does not say
    relationship: str
    line: int


@dataclass(slots=True)
class TeacherRecord:
    sourced_id: str
    first_name: str
    last_name: str
    email: str
    schools: list[str]
    line: int
    enabled: bool = True


@dataclass(slots=True)
class LinkRecord:
    """A guardian's link to a student. Only the restrictions a file states are applied: an import may close
    contact or portal access, never reopen what the school closed in Homeroom."""

    relationship: str = ""
    primary: bool | None = None
    lives_with: bool | None = None
    no_contact: bool = False
    no_portal: bool = False


@dataclass
class RosterSet:
    district: OrgRecord | None = None
    schools: dict[str, OrgRecord] = field(default_factory=dict)
    terms: dict[str, TermRecord] = field(default_factory=dict)
    classes: dict[str, ClassRecord] = field(default_factory=dict)
    students: dict[str, StudentRecord] = field(default_factory=dict)
    guardians: dict[str, GuardianRecord] = field(default_factory=dict)
    teachers: dict[str, TeacherRecord] = field(default_factory=dict)
    links: dict[tuple[str, str], LinkRecord] = field(default_factory=dict)  # (student, guardian)
    enrollments: set[tuple[str, str]] = field(default_factory=set)  # (class, student)
    teaching: set[tuple[str, str]] = field(default_factory=set)  # (class, teacher)
    # How each kind of record arrived; a kind absent from the files is left as it is.
    modes: dict[str, Mode] = field(default_factory=dict)
    # Delta files: the keys marked tobedeleted, per kind ("students", "enrollments": (class, user) pairs, …).
    to_delete: dict[str, set[object]] = field(default_factory=dict)
    # Records matched by natural key only (the plain CSV), never given a sourcedId.
    sourced: bool = True
    # Whether the files hold students' birth dates (OneRoster's optional demographics.csv).
    birth_dates_given: bool = True
    # The file's name as the school uploaded it (a plain CSV), for what the report says of its rows.
    file_name: str = ""
    # The district to create for a set that names none (the command's --district).
    district_name: str = ""
    # A plain CSV is for one school, chosen by whoever imports it.
    school_pk: int | None = None
    # Keys of rows the reader left out (a reference to nothing, a name with a line break): the records Homeroom has
    # for them stay as they are, never deactivated nor unlinked because the file does not list them. "students": a
    # plain CSV's student numbers; "users" and "classes": OneRoster sourcedIds.
    skipped: dict[str, set[str]] = field(default_factory=dict)
    # (class, user) of enrollment rows skipped: an enrollment Homeroom has for them stays as it is.
    skipped_pairs: set[tuple[str, str]] = field(default_factory=set)
