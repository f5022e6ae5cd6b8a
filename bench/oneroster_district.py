"""A district-sized OneRoster 1.2 CSV set for benchmarking roster imports, deterministic for a seed.

    python bench/oneroster_district.py var/oneroster                                 # 50,000 students
    python bench/oneroster_district.py var/oneroster --students 5000 --zip var/oneroster.zip

    from bench.oneroster_district import write_district
    counts = write_district(Path("var/oneroster"), students=5000)   # rows per file, headers not counted

At the default size: one district and 84 schools of about 600 students (middle schools 06-08, high schools 09-12),
50,000 students, 90,000 guardians, about 680 teachers, 2,000 classes of about 150 students, 300,000 student
enrollments plus one teacher enrollment per class, and the school year 2026-27 with its two semesters, which every
class is taught in. Every figure scales with `students`.

Each student takes one class in each of the school's six periods: a period's classes split the school's students,
sorted by grade, into equal runs, so a class holds one grade, or two where a run crosses a grade boundary
(`grades` is then a list). Families live within one school: about 15% of students share their guardians with a
sibling, most families have two guardians and some one. Names are mostly Latin script (Spanish and Vietnamese
accents included), with some Arabic and Chinese families written in their own script.

The rows are streamed to disk school by school with csv.writer (UTF-8, CRLF, lists in one quoted field); only one
school's rows are held at a time. Run as a script, the set is generated, timed, and checked on reading it back.
"""

import argparse
import csv
import itertools
import math
import random
import shutil
import time
import unicodedata
import zipfile
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import IO, Any, NamedTuple

MODIFIED = "2026-08-01T00:00:00Z"
DISTRICT_ID = "dist-1"
YEAR_ID = "ay-2026"
YEAR_START, YEAR_END = "2026-08-24", "2027-06-18"
SEMESTERS = (
    ("sem-2026-1", "Fall 2026", "2026-08-24", "2027-01-22"),
    ("sem-2026-2", "Spring 2027", "2027-01-25", "2027-06-18"),
)
TERM_IDS = ",".join(sourced_id for sourced_id, *_ in SEMESTERS)

STUDENTS_PER_SCHOOL = 600
PERIODS = 6  # classes per student
CLASS_SIZE = 150
GUARDIANS_PER_STUDENT = 1.8
SIBLING_SHARE = 0.15  # of students, who share their guardians with a brother or sister at the same school
MIDDLE_SCHOOL_SHARE = 0.45
TEACHER_LOADS = (1, 2, 3, 3, 3, 4, 5)  # classes per teacher, drawn: three on average
MIDDLE_GRADES = ("06", "07", "08")
HIGH_GRADES = ("09", "10", "11", "12")
# Earliest birthday of a grade's students who are on track, as an ordinal: they are grade + 5 on 1 September 2026.
BIRTH_WINDOW_START = {grade: date(2026 - int(grade) - 6, 9, 2).toordinal() for grade in (*MIDDLE_GRADES, *HIGH_GRADES)}

HEADERS: dict[str, tuple[str, ...]] = {
    "manifest.csv": ("propertyName", "value"),
    "orgs.csv": ("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"),
    "academicSessions.csv": (
        *("sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate"),
        *("parentSourcedId", "schoolYear"),
    ),
    "classes.csv": (
        *("sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode"),
        *("classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"),
    ),
    "users.csv": (
        *("sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds", "givenName"),
        *("familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades"),
        *("password", "userMasterIdentifier", "resourceSourcedIds", "preferredGivenName", "preferredMiddleName"),
        *("preferredFamilyName", "primaryOrgSourcedId", "pronouns"),
    ),
    "roles.csv": (
        *("sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role", "orgSourcedId"),
        *("userProfileSourcedId", "beginDate", "endDate"),
    ),
    "enrollments.csv": (
        *("sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId"),
        *("role", "primary", "beginDate", "endDate"),
    ),
    "demographics.csv": (
        *("sourcedId", "status", "dateLastModified", "birthDate", "sex", "americanIndianOrAlaskaNative"),
        *("asian", "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white"),
        *("demographicRaceTwoOrMoreRaces", "hispanicOrLatinoEthnicity", "countryOfBirthCode"),
        *("stateOfBirthAbbreviation", "cityOfBirth", "publicSchoolResidenceStatus"),
    ),
}
BULK = ("academicSessions", "classes", "demographics", "enrollments", "orgs", "roles", "users")
ABSENT = (
    *("categories", "classResources", "courseResources", "courses", "lineItemLearningObjectiveIds", "lineItems"),
    *("lineItemScoreScales", "resources", "resultLearningObjectiveIds", "results", "resultScoreScales"),
    *("scoreScales", "userProfiles", "userResources"),
)
MANIFEST = (
    ("manifest.version", "1.0"),
    ("oneroster.version", "1.2"),
    *sorted((f"file.{name}", "bulk" if name in BULK else "absent") for name in (*BULK, *ABSENT)),
    ("source.systemName", "Bench SIS"),
    ("source.systemCode", "bench"),
)

# (name, short code) of a class's subject; the code makes the course id and the class code
SUBJECTS = (
    ("Mathematics", "math"),
    ("English Language Arts", "ela"),
    ("Science", "sci"),
    ("Social Studies", "ss"),
    ("Spanish", "span"),
    ("Physical Education", "pe"),
    ("Visual Arts", "art"),
    ("Music", "mus"),
    ("Computer Science", "cs"),
)
SCHOOL_NAMES = (
    *("Abraham Lincoln", "Harriet Tubman", "César Chávez", "Frederick Douglass", "Rachel Carson", "Benjamin Banneker"),
    *("Sor Juana Inés de la Cruz", "Phillis Wheatley", "John Adams", "Clara Barton", "Roberto Clemente", "Mary Lyon"),
    *("Dorothea Dix", "Crispus Attucks", "Emily Dickinson", "Paul Revere", "Maria Mitchell", "W. E. B. Du Bois"),
    *("Horace Mann", "Lucy Stone", "Patsy Mink", "Dolores Huerta", "Elizabeth Peabody", "Louisa May Alcott"),
    *("Eliot", "Hawthorne", "Longfellow", "Thoreau", "Emerson", "Riverside", "Harbor View", "Hillcrest", "Oak Grove"),
    *("Maple Street", "Charles River", "Mystic Valley", "Blue Hills", "Fenway", "Jamaica Plain", "Brighton"),
    *("Dorchester", "Roxbury", "Mattapan", "Hyde Park", "Charlestown", "Chinatown", "East Boston", "Back Bay"),
)
MA_CITIES = ("Boston", "Cambridge", "Somerville", "Quincy", "Chelsea", "Lynn", "Worcester", "Lowell", "Brockton")
OTHER_STATES = ("NY", "NH", "RI", "CT", "NJ", "FL", "TX", "CA", "PR")


class Name(NamedTuple):
    written: str  # as in the roster: the family's own script
    latin: str  # the same name in Latin script
    ascii: str  # lowercase letters and digits, for e-mail addresses


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D")).lower()
    return "".join(char for char in folded if char.isascii() and char.isalnum())


def _latin(names: str) -> tuple[Name, ...]:
    return tuple(Name(name, name, _ascii(name)) for name in (part.strip() for part in names.split(",")))


def _native(pairs: str) -> tuple[Name, ...]:
    """'محمد:Mohammed, ...': the name in its own script, then in Latin script."""
    split = (pair.strip().split(":") for pair in pairs.split(","))
    return tuple(Name(written, latin, _ascii(latin)) for written, latin in split)


class Culture(NamedTuple):
    weight: int  # share of families, out of the cultures' total
    female: tuple[Name, ...]
    male: tuple[Name, ...]
    family: tuple[Name, ...]
    middle_female: tuple[Name, ...]  # empty: no middle names
    middle_male: tuple[Name, ...]
    own_script: float  # share of families written in their own script rather than in Latin script
    born_abroad: float  # share of students born abroad
    countries: tuple[str, ...]  # ISO 3166 codes of those births
    nicknames: tuple[str, ...]  # English names some students go by (preferredGivenName)
    compound_surnames: bool  # a father's and a mother's surname


GENERAL = Culture(
    weight=44,
    female=_latin(
        "Emma, Olivia, Ava, Charlotte, Amelia, Grace, Chloé, Zoë, Hannah, Abigail, Maya, Nora, Claire, Renée, Aaliyah, "
        "Imani, Naomi, Fernanda, Conceição, Nadège, Siobhán, Brianna"
    ),
    male=_latin(
        "Liam, Noah, Oliver, James, Elijah, William, Henry, Lucas, Benjamin, Theodore, Jack, Owen, Samuel, Isaiah, "
        "Malik, Jean-Luc, François, João, Kwame, Seán, Darius, Marcus"
    ),
    family=_latin(
        "Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson, Taylor, Thomas, Moore, Jackson, "
        "Martin, Thompson, White, Harris, Clark, Lewis, Robinson, Walker, Young, Allen, King, O'Brien, O'Connor, "
        "Murphy, Sullivan, McCarthy, Fitzgerald, Jean-Baptiste, Pierre, Joseph, Silva, Santos, Gonçalves, Araújo"
    ),
    middle_female=_latin("Rose, Marie, Elizabeth, Anne, Louise, Grace, Jane"),
    middle_male=_latin("James, Michael, Alexander, Joseph, Thomas, David, Lee"),
    own_script=0.0,
    born_abroad=0.06,
    countries=("HT", "BR", "CV", "IE", "JM", "NG"),
    nicknames=(),
    compound_surnames=False,
)
HISPANIC = Culture(
    weight=36,
    female=_latin(
        "María, Sofía, Lucía, Valentina, Camila, Ximena, Ana, Isabel, Mónica, Verónica, Daniela, Inés, Guadalupe, "
        "Andrea, Paola, Nayeli, Itzel, Begoña, Luz, Yesenia"
    ),
    male=_latin(
        "José, Jesús, Andrés, Julián, Sebastián, Nicolás, Matías, Tomás, Martín, Rubén, Héctor, Óscar, Ángel, Luis, "
        "Diego, Carlos, Joaquín, Iñaki, Efraín, Raúl"
    ),
    family=_latin(
        "García, Rodríguez, Martínez, Hernández, López, González, Pérez, Sánchez, Ramírez, Núñez, Muñoz, Jiménez, "
        "Álvarez, Gómez, Díaz, Peña, Ibáñez, Castañeda, De la Cruz, Ortiz, Rivera, Méndez, Vásquez, Acuña"
    ),
    middle_female=_latin("José, Fernanda, Guadalupe, Isabel, Elena, del Carmen, Inés"),
    middle_male=_latin("José, Antonio, Manuel, Alejandro, Ángel, Emilio, Andrés"),
    own_script=0.0,
    born_abroad=0.25,
    countries=("MX", "DO", "SV", "GT", "CO", "HN", "VE"),
    nicknames=(),
    compound_surnames=True,
)
VIETNAMESE = Culture(
    weight=8,
    female=_latin("Thảo, Hương, Ngọc, Linh, Trang, Phương, Mai, Hà, Lan, Thủy, Quỳnh, Yến"),
    male=_latin("Minh, Đức, Tuấn, Huy, Khoa, Quang, Bảo, Long, Hoàng, Dũng, Thắng, Việt"),
    family=_latin("Nguyễn, Trần, Lê, Phạm, Hoàng, Huỳnh, Phan, Vũ, Võ, Đặng, Bùi, Đỗ, Hồ, Ngô, Dương"),
    middle_female=_latin("Thị, Ngọc, Thu, Thanh, Kim, Bích"),
    middle_male=_latin("Văn, Minh, Đức, Quốc, Hữu, Gia"),
    own_script=0.0,
    born_abroad=0.3,
    countries=("VN",),
    nicknames=("Kevin", "Tina", "Vivian", "Andy", "Tony", "Jenny", "Peter", "Lily"),
    compound_surnames=False,
)
ARABIC = Culture(
    weight=6,
    female=_native(
        "فاطمة:Fatima, عائشة:Aisha, مريم:Maryam, ليلى:Layla, نور:Nour, زينب:Zainab, سارة:Sara, هدى:Huda, "
        "ياسمين:Yasmin, رنا:Rana"
    ),
    male=_native(
        "محمد:Mohammed, أحمد:Ahmed, علي:Ali, عمر:Omar, يوسف:Youssef, خالد:Khalid, حسن:Hassan, إبراهيم:Ibrahim, "
        "كريم:Karim, طارق:Tariq"
    ),
    family=_native(
        "حداد:Haddad, الخطيب:Al-Khatib, منصور:Mansour, الحسيني:Al-Husseini, عبد الله:Abdullah, سليمان:Suleiman, "
        "نصر:Nasr, العلي:Al-Ali, الشامي:Al-Shami, بكر:Bakr"
    ),
    middle_female=(),
    middle_male=(),
    own_script=0.4,
    born_abroad=0.4,
    countries=("EG", "MA", "LB", "SY", "IQ", "SO"),
    nicknames=(),
    compound_surnames=False,
)
CHINESE = Culture(
    weight=6,
    female=_native("芳:Fang, 静:Jing, 丽:Li, 敏:Min, 婷:Ting, 雪:Xue, 欣怡:Xinyi, 梓涵:Zihan, 雨桐:Yutong, 佳怡:Jiayi"),
    male=_native(
        "伟:Wei, 强:Qiang, 磊:Lei, 军:Jun, 浩然:Haoran, 子轩:Zixuan, 宇轩:Yuxuan, 俊杰:Junjie, 浩宇:Haoyu, 明:Ming"
    ),
    family=_native("王:Wang, 李:Li, 张:Zhang, 刘:Liu, 陈:Chen, 杨:Yang, 黄:Huang, 赵:Zhao, 吴:Wu, 周:Zhou"),
    middle_female=(),
    middle_male=(),
    own_script=0.4,
    born_abroad=0.3,
    countries=("CN", "TW", "HK"),
    nicknames=("Kevin", "Amy", "Eric", "Grace", "Jason", "Emily", "Alex", "Cindy"),
    compound_surnames=False,
)
CULTURES = (GENERAL, HISPANIC, VIETNAMESE, ARABIC, CHINESE)
CULTURE_CUM_WEIGHTS = list(itertools.accumulate(culture.weight for culture in CULTURES))

# Mobile numbers: area codes 617 and 857 (Boston), any exchange but N11 service codes, 555 and 958/959 (test codes).
AREA_CODES = ("617", "857")
EXCHANGES = tuple(str(x) for x in range(201, 1000) if x % 100 != 11 and x not in (555, 958, 959))
PHONE_SPACE = len(AREA_CODES) * len(EXCHANGES) * 10_000


def _golden_step(space: int) -> int:
    """A step coprime with `space` near 0.618 of it: index * step % space runs through every number once, and
    neighbouring indices land far apart."""
    step = int(space * 0.6180339887)
    while math.gcd(step, space) != 1:
        step += 1
    return step


PHONE_STEP = _golden_step(PHONE_SPACE)
STATE_ID_STEP = _golden_step(10**8)  # state student ids: 10 and eight digits


def _phone(index: int, offset: int) -> str:
    """The index-th of a scrambled sequence of distinct E.164 numbers."""
    number = (index * PHONE_STEP + offset) % PHONE_SPACE
    area, rest = divmod(number, len(EXCHANGES) * 10_000)
    exchange, line = divmod(rest, 10_000)
    return f"+1{AREA_CODES[area]}{EXCHANGES[exchange]}{line:04d}"


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """`total` in parts proportional to `weights`, rounding the running sum: the parts add up to `total`."""
    whole, running, cut, parts = sum(weights), 0.0, 0, []
    for weight in weights:
        running += weight
        nxt = round(total * running / whole)
        parts.append(nxt - cut)
        cut = nxt
    return parts


class _Counters:
    def __init__(self) -> None:
        self.student = self.guardian = self.teacher = self.klass = self.enrollment = self.family = 0


class _Files:
    """One csv.writer per file, header written, rows counted."""

    def __init__(self, out_dir: Path, stack: ExitStack) -> None:
        self.writers: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        for name, header in HEADERS.items():
            path = out_dir / name
            handle: IO[str] = stack.enter_context(path.open("w", encoding="utf-8", newline="", buffering=1 << 20))
            self.writers[name] = csv.writer(handle)
            self.writers[name].writerow(header)
            self.counts[name] = 0

    def write(self, name: str, rows: Sequence[Sequence[str]]) -> None:
        self.writers[name].writerows(rows)
        self.counts[name] += len(rows)


def write_district(
    out_dir: Path, *, students: int = 50_000, seed: int = 2026, zip_path: Path | None = None
) -> dict[str, int]:
    """Write the district's OneRoster CSV files into `out_dir` (and zip them into `zip_path`); rows per file."""
    if students < 1:
        raise ValueError("students must be at least 1")
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)

    n_schools = math.ceil(students / STUDENTS_PER_SCHOOL)
    n_classes = max(n_schools, round(students * PERIODS / CLASS_SIZE))
    school_students = _split(students, [rng.uniform(0.8, 1.2) for _ in range(n_schools)])
    school_classes = [max(1, n) for n in _split(n_classes, school_students)]
    school_guardians = _split(round(students * GUARDIANS_PER_STUDENT), school_students)
    n_middle = round(n_schools * MIDDLE_SCHOOL_SHARE)
    is_middle = [True] * n_middle + [False] * (n_schools - n_middle)
    rng.shuffle(is_middle)
    names = list(SCHOOL_NAMES)
    rng.shuffle(names)

    # Identifier spaces: permutations, so numbers look assigned rather than counted and never repeat.
    digits = max(5, len(str(students)))
    space = 9 * 10**digits
    student_numbers = (space, _golden_step(space), 10**digits, rng.randrange(space))  # (space, step, base, offset)
    state_id_offset = rng.randrange(10**8)
    phone_offset = rng.randrange(PHONE_SPACE)
    guardians_total = sum(school_guardians)

    with ExitStack() as stack:
        files = _Files(out_dir, stack)
        files.write("manifest.csv", MANIFEST)
        schools = []
        for i in range(n_schools):
            kind = "Middle" if is_middle[i] else "High"
            base = names[i % len(names)]
            name = f"{base} {kind} School" + (f" {i // len(names) + 1}" if i >= len(names) else "")
            schools.append((f"sch-{i + 1:02d}", "", MODIFIED, name, "school", f"{1000 + 10 * (i + 1)}", DISTRICT_ID))
        files.write(
            "orgs.csv", [(DISTRICT_ID, "", MODIFIED, "Bench Public Schools", "district", "2599999", ""), *schools]
        )
        files.write(
            "academicSessions.csv",
            [
                (YEAR_ID, "", MODIFIED, "2026-27", "schoolYear", YEAR_START, YEAR_END, "", "2027"),
                *(
                    (sid, "", MODIFIED, title, "semester", start, end, YEAR_ID, "2027")
                    for sid, title, start, end in SEMESTERS
                ),
            ],
        )
        counters = _Counters()
        for i in range(n_schools):
            _write_school(
                files,
                rng,
                counters,
                school_id=schools[i][0],
                grades=MIDDLE_GRADES if is_middle[i] else HIGH_GRADES,
                n_students=school_students[i],
                n_classes=school_classes[i],
                n_guardians=school_guardians[i],
                student_numbers=student_numbers,
                state_id_offset=state_id_offset,
                phone_offset=phone_offset,
                guardians_total=guardians_total,
            )
        counts = dict(files.counts)

    if zip_path is not None:
        zip_path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in HEADERS:
                info = zipfile.ZipInfo(name, date_time=(2026, 8, 1, 0, 0, 0))  # a fixed time: the same bytes
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with open(out_dir / name, "rb") as source, archive.open(info, "w") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
    return counts


def _write_school(
    files: _Files,
    rng: random.Random,
    counters: _Counters,
    *,
    school_id: str,
    grades: tuple[str, ...],
    n_students: int,
    n_classes: int,
    n_guardians: int,
    student_numbers: tuple[int, int, int, int],
    state_id_offset: int,
    phone_offset: int,
    guardians_total: int,
) -> None:
    rand, randrange, choice = rng.random, rng.randrange, rng.choice
    s = n_students

    # Students, in grade order: student j is in grades[grade_of[j]].
    first = counters.student + 1
    counters.student += s
    student_ids = [f"stu-{first + j:06d}" for j in range(s)]
    grade_of = [j * len(grades) // s for j in range(s)]

    # Families: siblings first (pairs, some threes), then only children; guardians spread so the school's
    # total comes out: a second guardian for most families, a third (a relative) only if there are more to place.
    order = list(range(s))
    rng.shuffle(order)
    families: list[list[int]] = []
    pos, siblings = 0, round(s * SIBLING_SHARE)
    while pos < siblings and s - pos >= 2:
        size = 3 if s - pos >= 3 and rand() < 0.2 else 2
        families.append(order[pos : pos + size])
        pos += size
    families.extend([j] for j in order[pos:])
    guardian_count = [1] * len(families)
    extra = n_guardians - len(families)
    while extra > 0:
        picked = rng.sample(range(len(families)), min(extra, len(families)))
        for f in picked:
            guardian_count[f] += 1
        extra -= len(picked)

    student_agents: list[str] = [""] * s
    student_culture: list[Culture] = [GENERAL] * s
    student_family_name: list[Name] = [GENERAL.family[0]] * s
    student_script: list[bool] = [False] * s
    guardian_rows: list[tuple[str, ...]] = []
    role_rows: list[tuple[str, ...]] = []
    for f, members in enumerate(families):
        culture = rng.choices(CULTURES, cum_weights=CULTURE_CUM_WEIGHTS)[0]
        own_script = rand() < culture.own_script
        surname, other_surname = choice(culture.family), choice(culture.family)
        children_surname = surname
        if culture.compound_surnames and rand() < 0.4:  # the first guardian's surname, then the second's
            children_surname = Name(
                f"{surname.written} {other_surname.written}", f"{surname.latin} {other_surname.latin}", ""
            )
        children = ",".join(student_ids[j] for j in members)
        counters.family += 1
        home_phone = _phone(guardians_total + counters.family, phone_offset) if rand() < 0.4 else ""
        ids = []
        for g in range(guardian_count[f]):
            counters.guardian += 1
            gid = f"grd-{counters.guardian:06d}"
            ids.append(gid)
            female = rand() < (0.6 if g == 0 else 0.4)
            given = choice(culture.female if female else culture.male)
            family_name = surname if g == 0 or rand() < 0.7 else other_surname
            if g == 0:
                role = "parent" if rand() < 0.85 else "guardian"
            elif g == 1:
                role = "parent" if rand() < 0.9 else choice(("guardian", "relative"))
            else:
                role = "relative"
            domain = ("example.com", "example.net", "example.org", "mail.example.com")[counters.guardian % 4]
            email = f"{given.ascii}.{family_name.ascii}{counters.guardian}@{domain}"
            sms = _phone(counters.guardian, phone_offset)
            written = 0 if own_script else 1
            guardian_rows.append(
                (
                    *(gid, "", MODIFIED, "true", email, "", given[written], family_name[written], "", ""),
                    *(email, sms, home_phone, children, "", "", "", "", "", "", "", school_id, ""),
                )
            )
            role_rows.append((f"role-{gid}", "", MODIFIED, gid, "primary", role, school_id, "", YEAR_START, YEAR_END))
        agents = ",".join(ids)
        for j in members:
            student_agents[j] = agents
            student_culture[j] = culture
            student_family_name[j] = children_surname
            student_script[j] = own_script

    # Classes: class c is taught in period c % 6 + 1; each period's classes split the school's students,
    # sorted by grade and shuffled within it, into equal runs.
    class_ids = [f"cls-{counters.klass + c + 1:04d}" for c in range(n_classes)]
    counters.klass += n_classes
    members_of: list[list[int]] = [[] for _ in range(n_classes)]
    by_grade = [[j for j in range(s) if grade_of[j] == k] for k in range(len(grades))]
    for period in range(min(PERIODS, n_classes)):
        in_period = list(range(period, n_classes, PERIODS))
        run: list[int] = []
        for group in by_grade:
            shuffled = group[:]
            rng.shuffle(shuffled)
            run.extend(shuffled)
        for n, c in enumerate(in_period):
            members_of[c] = sorted(run[s * n // len(in_period) : s * (n + 1) // len(in_period)])

    # Teachers: consecutive classes, so one teacher's classes are in different periods.
    teacher_of: list[str] = []
    teacher_rows: list[tuple[str, ...]] = []
    while len(teacher_of) < n_classes:
        counters.teacher += 1
        tid = f"tch-{counters.teacher:04d}"
        teacher_of.extend([tid] * min(choice(TEACHER_LOADS), n_classes - len(teacher_of)))
        culture = rng.choices(CULTURES, cum_weights=CULTURE_CUM_WEIGHTS)[0]
        given = choice(culture.female if rand() < 0.7 else culture.male)
        family_name = choice(culture.family)
        email = f"{given.ascii}.{family_name.ascii}{counters.teacher}@staff.bench.example.org"
        teacher_rows.append(
            (
                *(tid, "", MODIFIED, "true", email.split("@")[0], "", given.latin, family_name.latin, ""),
                *(f"E{counters.teacher:05d}", email, "", "", "", "", "", "", "", "", "", "", school_id, ""),
            )
        )
        role_rows.append((f"role-{tid}", "", MODIFIED, tid, "primary", "teacher", school_id, "", YEAR_START, YEAR_END))

    class_rows: list[tuple[str, ...]] = []
    enrollment_rows: list[tuple[str, ...]] = []
    for c, cid in enumerate(class_ids):
        members = members_of[c]
        low, high = (grade_of[members[0]], grade_of[members[-1]]) if members else (0, 0)
        subject, code = SUBJECTS[c % len(SUBJECTS)]
        label = str(int(grades[low])) + (f"-{int(grades[high])}" if high > low else "")
        taught_in = str(c % PERIODS + 1)
        class_rows.append(
            (
                *(cid, "", MODIFIED, f"{subject} {label} (P{taught_in})", ",".join(grades[low : high + 1])),
                *(f"crs-{code}-{grades[low]}", f"{code.upper()}{grades[low]}-{cid[4:]}", "scheduled"),
                *(f"Room {101 + c}", school_id, TERM_IDS, subject, "", taught_in),
            )
        )
        counters.enrollment += 1
        enrollment_rows.append(
            (
                *(f"enr-{counters.enrollment:07d}", "", MODIFIED, cid, school_id, teacher_of[c], "teacher", "true"),
                *(YEAR_START, YEAR_END),
            )
        )
        for j in members:
            counters.enrollment += 1
            enrollment_rows.append(
                (
                    *(f"enr-{counters.enrollment:07d}", "", MODIFIED, cid, school_id, student_ids[j], "student"),
                    *("false", YEAR_START, YEAR_END),
                )
            )

    student_rows: list[tuple[str, ...]] = []
    demographic_rows: list[tuple[str, ...]] = []
    space, step, base, offset = student_numbers
    for j in range(s):
        sid, grade, culture = student_ids[j], grades[grade_of[j]], student_culture[j]
        r = rand()
        sex = "female" if r < 0.49 else "male" if r < 0.98 else "other" if r < 0.99 else "unspecified"
        female = sex == "female" or (sex != "male" and rand() < 0.5)
        given = choice(culture.female if female else culture.male)
        middle_pool = culture.middle_female if female else culture.middle_male
        middle = choice(middle_pool).latin if middle_pool and rand() < 0.5 else ""
        written = 0 if student_script[j] else 1
        preferred = choice(culture.nicknames) if culture.nicknames and rand() < 0.2 else ""
        index = first + j
        number = str(base + (index * step + offset) % space)
        email = f"{number}@students.bench.example.org" if grade >= "09" and rand() < 0.2 else ""
        student_rows.append(
            (
                *(sid, "", MODIFIED, "true", f"s{number}", "", given[written], student_family_name[j][written]),
                *(middle, number, email, "", "", student_agents[j], grade, ""),
                *(f"10{(index * STATE_ID_STEP + state_id_offset) % 10**8:08d}", "", preferred, "", "", school_id),
                "they/them" if sex == "other" else "",
            )
        )
        role_rows.append((f"role-{sid}", "", MODIFIED, sid, "primary", "student", school_id, "", YEAR_START, YEAR_END))
        # Age on 1 September 2026 is the grade plus five (six for one student in twenty, held back a year).
        start = BIRTH_WINDOW_START[grade] - (365 if rand() < 0.05 else 0)
        if rand() < culture.born_abroad:
            country, state, city = choice(culture.countries), "", ""
        elif rand() < 0.85:
            country, state, city = "US", "MA", choice(MA_CITIES)
        else:
            country, state, city = "US", choice(OTHER_STATES), ""
        demographic_rows.append(
            (
                *(sid, "", MODIFIED, date.fromordinal(start + randrange(365)).isoformat(), sex),
                *("", "", "", "", "", "", "", country, state, city, "01652" if rand() < 0.95 else "01653"),
            )
        )

    files.write("classes.csv", class_rows)
    files.write("users.csv", teacher_rows)
    files.write("users.csv", student_rows)
    files.write("users.csv", guardian_rows)
    files.write("roles.csv", role_rows)
    files.write("enrollments.csv", enrollment_rows)
    files.write("demographics.csv", demographic_rows)


def _self_check(out_dir: Path, counts: dict[str, int]) -> None:
    """Read the set back: shapes, references both ways, uniqueness, formats."""
    import re
    import tempfile
    from collections import Counter

    def read(name: str) -> list[list[str]]:
        raw = (out_dir / name).read_bytes()
        assert raw.startswith(",".join(HEADERS[name]).encode() + b"\r\n"), name
        with open(out_dir / name, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))[1:]
        assert len(rows) == counts[name], (name, len(rows), counts[name])
        assert all(len(row) == len(HEADERS[name]) for row in rows), name
        assert name == "manifest.csv" or all(row[1] == "" for row in rows), name
        return rows

    manifest = dict(read("manifest.csv"))
    assert manifest["oneroster.version"] == "1.2" and len(manifest) == 2 + 21 + 2
    orgs = {row[0]: row for row in read("orgs.csv")}
    sessions = {row[0] for row in read("academicSessions.csv")}
    classes = {row[0]: row for row in read("classes.csv")}
    users = {row[0]: row for row in read("users.csv")}
    assert len(users) == counts["users.csv"], "duplicate user sourcedIds"
    assert all(set(row[10].split(",")) <= sessions and row[9] in orgs for row in classes.values())

    emails = [row[10] for row in users.values() if row[10]]
    assert len(emails) == len(set(emails)) and all(email == email.lower() for email in emails)
    assert all(row[15] == "" for row in users.values()), "password"
    sms = re.compile(r"\+1(617|857)([2-9]\d\d)\d{4}")
    for uid, row in users.items():
        if uid.startswith("grd-"):
            match = sms.fullmatch(row[11])
            assert match and match[2] != "555" and match[2][1:] != "11", row[11]
            assert all(uid in users[child][13].split(",") for child in row[13].split(",")), uid
        elif uid.startswith("stu-"):
            assert all(uid in users[agent][13].split(",") for agent in row[13].split(",")), uid
        else:
            assert row[10], f"teacher {uid} without e-mail"
    try:
        import phonenumbers

        for row in list(users.values())[::50]:
            if row[11]:
                assert phonenumbers.is_valid_number(phonenumbers.parse(row[11])), row[11]
    except ImportError:
        pass

    roles = read("roles.csv")
    assert Counter(row[3] for row in roles) == Counter(dict.fromkeys(users, 1)) and all(row[6] in orgs for row in roles)
    student_school = {uid: row[21] for uid, row in users.items() if uid.startswith("stu-")}
    for row in roles:
        if row[5] in ("parent", "guardian", "relative"):
            assert row[6] == student_school[users[row[3]][13].split(",")[0]], row

    enrollments = read("enrollments.csv")
    teachers = Counter(row[3] for row in enrollments if row[6] == "teacher")
    assert teachers == Counter(dict.fromkeys(classes, 1)), "one teacher per class"
    for row in enrollments:
        assert row[3] in classes and row[5] in users and classes[row[3]][9] == row[4] == users[row[5]][21], row
    sizes = Counter(row[3] for row in enrollments if row[6] == "student")
    per_student = Counter(row[5] for row in enrollments if row[6] == "student")
    demographics = read("demographics.csv")
    assert {row[0] for row in demographics} == set(student_school)

    small = Path(tempfile.mkdtemp())
    try:
        first = write_district(small / "a", students=3000, seed=7, zip_path=small / "a.zip")
        again = write_district(small / "b", students=3000, seed=7, zip_path=small / "b.zip")
        assert first == again and (small / "a.zip").read_bytes() == (small / "b.zip").read_bytes()
        assert all((small / "a" / name).read_bytes() == (small / "b" / name).read_bytes() for name in HEADERS)
    finally:
        shutil.rmtree(small)

    agents = Counter(len(users[uid][13].split(",")) for uid in student_school)
    shared = sum(1 for uid in student_school if len(users[users[uid][13].split(",")[0]][13].split(",")) > 1)
    non_latin = sum(1 for row in users.values() if not _ascii(row[6]) and row[6])
    print(
        f"check: ok · class size {min(sizes.values())}-{max(sizes.values())}"
        f" (mean {sum(sizes.values()) / len(sizes):.0f})"
        f" · classes per student {min(per_student.values())}-{max(per_student.values())}"
        f" · guardians per student {dict(sorted(agents.items()))} · siblings {shared / len(student_school):.1%}"
        f" · teachers {sum(1 for uid in users if uid.startswith('tch-'))}"
        f" · given names not in Latin script {non_latin} · deterministic"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--zip", type=Path, default=None, help="Also write the CSV files into this zip file.")
    parser.add_argument("--no-check", action="store_true", help="Skip reading the set back.")
    args = parser.parse_args()
    started = time.perf_counter()
    counts = write_district(args.out_dir, students=args.students, seed=args.seed, zip_path=args.zip)
    elapsed = time.perf_counter() - started
    print(f"{args.students:,} students written to {args.out_dir} in {elapsed:.1f} s")
    for name, rows in counts.items():
        size = (args.out_dir / name).stat().st_size
        print(f"  {name:<22} {rows:>9,} rows {size / 1e6:8.1f} MB")
    total = sum((args.out_dir / name).stat().st_size for name in counts)
    print(f"  {'total':<22} {sum(counts.values()):>9,} rows {total / 1e6:8.1f} MB")
    if args.zip:
        print(f"  {args.zip.name:<22} {'':>14} {args.zip.stat().st_size / 1e6:8.1f} MB")
    if not args.no_check:
        _self_check(args.out_dir, counts)


if __name__ == "__main__":
    main()
