"""A demo school to click through, built by `manage.py seed_demo [--if-empty]`.

Riverside Elementary & Middle School: 300 students in 12 classes, their families in six languages, teachers,
a counselor, a school leader and a district administrator. The same data on every run: a fixed seed and fixed
name lists, no Faker, and no sets iterated (string hashing changes between runs).
"""

import datetime
import random
import unicodedata
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password

from accounts.models import User
from roster.models import (
    CaseloadAssignment,
    Channel,
    District,
    Enrollment,
    Guardian,
    Relationship,
    Role,
    School,
    Section,
    StaffRole,
    Student,
    Term,
)
from roster.services import create_guardian, give_portal_account, link_guardian

SEED = 2026
DEMO_PASSWORD = "homeroom-demo"  # noqa: S105 - the published password of the demo staff, on demo data only
DISTRICT_NAME = "Riverside Unified School District"
SCHOOL_NAME = "Riverside Elementary & Middle School"
FAMILY_EMAIL_DOMAIN = "example.org"
STUDENT_NUMBER_START = 260001
CASELOAD_SIZE = 15


@dataclass(frozen=True)
class ClassPlan:
    code: str
    name: str
    grade_level: int
    size: int
    teachers: tuple[str, ...]  # emails of STAFF below; two when co-taught


@dataclass(frozen=True)
class StaffPlan:
    email: str
    full_name: str
    role: str


STAFF = [
    # K-2
    StaffPlan("teacher@example.org", "Jordan Rivera", Role.TEACHER),
    StaffPlan("priya.shah@example.org", "Priya Shah", Role.TEACHER),
    StaffPlan("marcus.bell@example.org", "Marcus Bell", Role.TEACHER),
    # 3-5
    StaffPlan("david.okafor@example.org", "David Okafor", Role.TEACHER),
    StaffPlan("hannah.kim@example.org", "Hannah Kim", Role.TEACHER),
    StaffPlan("laura.mitchell@example.org", "Laura Mitchell", Role.TEACHER),
    # 6-8
    StaffPlan("rachel.goldberg@example.org", "Rachel Goldberg", Role.TEACHER),
    StaffPlan("andre.thompson@example.org", "Andre Thompson", Role.TEACHER),
    StaffPlan("counselor@example.org", "Alicia Moreno", Role.COUNSELOR),
    StaffPlan("leader@example.org", "Karen Whitfield", Role.LEADER),
    StaffPlan("district@example.org", "Robert Hayes", Role.DISTRICT_ADMIN),
]

CLASSES = [
    ClassPlan("K-A", "Kindergarten A", 0, 22, ("teacher@example.org", "priya.shah@example.org")),
    ClassPlan("K-B", "Kindergarten B", 0, 22, ("priya.shah@example.org",)),
    ClassPlan("1-A", "Grade 1A", 1, 26, ("teacher@example.org",)),
    ClassPlan("2-A", "Grade 2A", 2, 27, ("marcus.bell@example.org",)),
    ClassPlan("3-A", "Grade 3A", 3, 24, ("david.okafor@example.org",)),
    ClassPlan("3-B", "Grade 3B", 3, 24, ("hannah.kim@example.org",)),
    ClassPlan("4-A", "Grade 4A", 4, 25, ("laura.mitchell@example.org", "david.okafor@example.org")),
    ClassPlan("4-B", "Grade 4B", 4, 25, ("hannah.kim@example.org",)),
    ClassPlan("5-A", "Grade 5A", 5, 27, ("laura.mitchell@example.org",)),
    ClassPlan("HR-6A", "Homeroom 6A", 6, 26, ("rachel.goldberg@example.org",)),
    ClassPlan("HR-7A", "Homeroom 7A", 7, 26, ("andre.thompson@example.org",)),
    ClassPlan("HR-8A", "Homeroom 8A", 8, 26, ("rachel.goldberg@example.org", "andre.thompson@example.org")),
]


@dataclass(frozen=True)
class NameBank:
    children: tuple[str, ...]
    women: tuple[str, ...]
    men: tuple[str, ...]
    surnames: tuple[str, ...]
    spouse_keeps_surname: float  # how often a married mother keeps her own surname
    has_email: float
    channels: tuple[tuple[str, int], ...]  # preferred channel and its weight, where the family can use it


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


NAMES: dict[str, NameBank] = {
    "en": NameBank(
        children=_names(
            "Olivia Liam Emma Noah Ava Elijah Sophia James Harper Lucas Mia Mason Amelia Ethan Evelyn Logan "
            "Abigail Jackson Ella Caleb Grace Owen Chloe Wyatt Lily Henry Zoe Carter Nora Dylan Aaliyah Jayden "
            "Imani Malik Hannah Isaiah Madison Miles Brooklyn Xavier Riley Connor"
        ),
        women=_names(
            "Jennifer Sarah Jessica Ashley Amanda Nicole Melissa Rachel Megan Heather Keisha Danielle Tiffany "
            "Kimberly Lauren Erin Tasha Brittany Katie Monique"
        ),
        men=_names(
            "Michael David Chris Brian Kevin Jason Ryan Marcus Daniel Andrew Jamal Patrick Tyrone Matthew Justin "
            "Derek Sean Anthony Eric Travis"
        ),
        surnames=_names(
            "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Jackson Martin "
            "White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Green Baker Adams Nelson Hill "
            "Campbell Roberts Carter Phillips Evans Turner Parker Collins Edwards Stewart Murphy O'Brien Sullivan "
            "Brooks Bennett Reed Coleman Foster Washington"
        ),
        spouse_keeps_surname=0.2,
        has_email=0.95,
        channels=((Channel.EMAIL, 5), (Channel.SMS, 3), (Channel.APP, 3), (Channel.PHONE, 1)),
    ),
    "es": NameBank(
        children=_names(
            "Sofía Mateo Valentina Santiago Camila Diego Isabella Sebastián Lucía Emiliano Ximena Leonardo Renata "
            "Daniel Mariana Gael Daniela Adrián Valeria Alejandro Natalia Julián Ana Carlos Elena Andrés Victoria "
            "Nicolás"
        ),
        women=_names(
            "María Guadalupe Rosa Carmen Ana Leticia Yolanda Patricia Claudia Verónica Gabriela Maribel Adriana "
            "Lorena Marisol Elizabeth"
        ),
        men=_names(
            "José Juan Luis Jorge Miguel Francisco Ricardo Javier Roberto Alejandro Fernando Óscar Carlos Raúl "
            "Héctor Manuel"
        ),
        surnames=_names(
            "García Rodríguez Martínez Hernández López González Pérez Sánchez Ramírez Torres Flores Rivera Gómez "
            "Díaz Reyes Morales Cruz Ortiz Gutiérrez Chávez Ramos Ruiz Mendoza Vargas Castillo Jiménez Romero "
            "Herrera Medina Aguilar"
        ),
        spouse_keeps_surname=0.6,
        has_email=0.7,
        channels=((Channel.SMS, 5), (Channel.PHONE, 3), (Channel.APP, 2), (Channel.EMAIL, 1)),
    ),
    "zh-hans": NameBank(
        children=_names("Haoran Yuxuan Zihan Xinyi Yutong Jiayi Ruoxi Muchen Zhiyuan Siyu Mingze Yichen Kevin Emily"),
        women=_names("Jing Li Min Hui Fang Yan Hong Ling Xiaoyan Mei"),
        men=_names("Wei Jun Lei Qiang Tao Xiaoming Jian Hao Bin Gang"),
        surnames=_names("Wang Li Zhang Liu Chen Yang Huang Zhao Zhou Wu Xu Sun Lin"),
        spouse_keeps_surname=1.0,
        has_email=0.8,
        channels=((Channel.APP, 3), (Channel.SMS, 3), (Channel.EMAIL, 2), (Channel.PHONE, 1)),
    ),
    "vi": NameBank(
        children=_names("Minh Anh Bao Linh Khoa Ngoc Huy Thao Duc Mai Phuc Vy Tuan"),
        women=_names("Hoa Lan Huong Hanh Thuy Phuong Trang Nga Hien Loan"),
        men=_names("Thanh Long Hung Dung Son Nam Quang Vinh Hai Tien"),
        surnames=_names("Nguyen Tran Le Pham Hoang Huynh Phan Vu Vo Dang Bui Do Ngo"),
        spouse_keeps_surname=1.0,
        has_email=0.65,
        channels=((Channel.SMS, 4), (Channel.PHONE, 3), (Channel.APP, 1), (Channel.EMAIL, 1)),
    ),
    "ar": NameBank(
        children=_names("Omar Layla Yusuf Mariam Adam Noor Zain Salma Hamza Amira Karim Lina Ibrahim Yasmin Ali Hana"),
        women=_names("Fatima Aisha Rania Samira Huda Nadia Mona Reem Dalia Iman"),
        men=_names("Ahmed Mohammed Khaled Mahmoud Tariq Hassan Samir Walid Bilal Youssef"),
        surnames=_names("Haddad Khalil Hassan Mansour Saleh Nasser Abdullah Farah Aziz Hamdan Suleiman Darwish"),
        spouse_keeps_surname=0.7,
        has_email=0.65,
        channels=((Channel.PHONE, 4), (Channel.SMS, 3), (Channel.EMAIL, 1), (Channel.APP, 1)),
    ),
    "ht": NameBank(
        children=_names(
            "Kervens Woodley Nadège Mackenson Widline Fabienne Jameson Roseline Djenane Peterson Sherly Daphney "
            "Stanley Bethania"
        ),
        women=_names("Marie Rose Guerline Nadège Yolette Marjorie Ketly Mirlande Lourdes Carline"),
        men=_names("Jean-Claude Jacques Pierre Frantz Emmanuel Wilner Jean-Robert Ernst Reginald"),
        surnames=_names(
            "Jean-Baptiste Pierre Joseph Louis Charles Étienne Desir Dorvil Fleurant Saint-Fleur Jean-Louis "
            "Toussaint Augustin Célestin"
        ),
        spouse_keeps_surname=0.4,
        has_email=0.6,
        channels=((Channel.PHONE, 4), (Channel.SMS, 4), (Channel.EMAIL, 1), (Channel.APP, 1)),
    ),
}
LANGUAGE_WEIGHTS = (("en", 50), ("es", 31), ("zh-hans", 5), ("vi", 5), ("ar", 4), ("ht", 5))
NICKNAMES = {
    "Alejandro": "Alex",
    "Sebastián": "Sebas",
    "Santiago": "Santi",
    "Valentina": "Vale",
    "Nicolás": "Nico",
    "Isabella": "Bella",
    "Abigail": "Abby",
    "Elizabeth": "Liz",
    "Haoran": "Henry",
    "Yuxuan": "Sean",
    "Zihan": "Zoe",
    "Xinyi": "Cindy",
    "Mackenson": "Mack",
}
BEST_TIMES = (
    "",
    "",
    "Any time",
    "Mornings before 8 am",
    "After 5 pm",
    "Evenings after 7 pm",
    "Lunch break, 12-1 pm",
    "Weekends",
    "Afternoons, 3-5 pm",
    "Not before 11 am (works nights)",
)
AREA_CODES = ("617", "857", "781")
PORTAL_SHARE = 0.6  # of guardians with an email
SIBLING_SHARE = 0.15
TWO_HOUSEHOLD_SHARE = 0.12
TWO_PARENT_SHARE = 0.45


@dataclass
class GuardianPlan:
    first_name: str
    last_name: str
    relationship: str
    language: str
    email: str = ""
    phone: str = ""
    channel: str = Channel.EMAIL
    best_time: str = ""
    portal: bool = False
    is_primary_contact: bool = False
    lives_with_student: bool = True
    restricted: bool = False  # a no-contact order: no messages, no portal


@dataclass
class ChildPlan:
    first_name: str
    last_name: str
    section_code: str
    preferred_name: str = ""


@dataclass
class FamilyPlan:
    language: str
    children: list[ChildPlan]
    guardians: list[GuardianPlan] = field(default_factory=list)


@dataclass
class SeedReport:
    students: int = 0
    classes: int = 0
    families: int = 0
    guardians: int = 0
    portal_accounts: int = 0
    staff: int = 0
    languages: dict[str, int] = field(default_factory=dict)


# The named demo families, listed by demo_signins: each is a reason to sign in.
NAMED_FAMILIES = [
    # An English-speaking parent with two children, one in the demo teacher's class.
    FamilyPlan(
        "en",
        [ChildPlan("Ava", "Johnson", "1-A"), ChildPlan("Noah", "Johnson", "4-A")],
        [
            GuardianPlan(
                "Sarah",
                "Johnson",
                Relationship.MOTHER,
                "en",
                email="parent@example.org",
                phone="(617) 284-3391",
                channel=Channel.APP,
                best_time="After 5 pm",
                portal=True,
                is_primary_contact=True,
            ),
            GuardianPlan(
                "Michael",
                "Johnson",
                Relationship.FATHER,
                "en",
                email="michael.johnson@example.org",
                phone="(617) 284-7710",
                channel=Channel.SMS,
                best_time="Lunch break, 12-1 pm",
            ),
        ],
    ),
    # A Spanish-speaking father: the portal's pages and his messages come in Spanish.
    FamilyPlan(
        "es",
        [ChildPlan("Mateo", "Hernández", "K-A")],
        [
            GuardianPlan(
                "José",
                "Hernández",
                Relationship.FATHER,
                "es",
                email="padre@example.org",
                phone="(857) 231-5820",
                channel=Channel.SMS,
                best_time="Evenings after 7 pm",
                portal=True,
                is_primary_contact=True,
            ),
            GuardianPlan(
                "Guadalupe",
                "Ramírez",
                Relationship.MOTHER,
                "es",
                phone="(857) 231-4467",
                channel=Channel.PHONE,
                best_time="Mornings before 8 am",
            ),
        ],
    ),
    # Two households; a court order forbids contact with the father, who has an account and sees nothing.
    FamilyPlan(
        "en",
        [ChildPlan("Lily", "Miller", "K-A")],
        [
            GuardianPlan(
                "Emily",
                "Carter",
                Relationship.MOTHER,
                "en",
                email="emily.carter@example.org",
                phone="(781) 259-6034",
                channel=Channel.EMAIL,
                portal=True,
                is_primary_contact=True,
            ),
            GuardianPlan(
                "Daniel",
                "Miller",
                Relationship.FATHER,
                "en",
                email="restricted@example.org",
                phone="(781) 259-1187",
                channel=Channel.EMAIL,
                portal=True,
                lives_with_student=False,
                restricted=True,
            ),
        ],
    ),
]


class DemoPlanner:
    """Draws the random parts of the demo from one seeded generator, in a fixed order."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        # Membership tests only: never iterated, so their order cannot leak into the data.
        self.used_emails: set[str] = {plan.email for plan in STAFF}
        self.used_emails.update(g.email for family in NAMED_FAMILIES for g in family.guardians if g.email)
        self.used_phones = {_digits(g.phone) for family in NAMED_FAMILIES for g in family.guardians if g.phone}

    def families(self) -> list[FamilyPlan]:
        seats = [plan.code for plan in CLASSES for _ in range(plan.size)]
        for family in NAMED_FAMILIES:
            for child in family.children:
                seats.remove(child.section_code)
        self.rng.shuffle(seats)
        grade_of = {plan.code: plan.grade_level for plan in CLASSES}
        families = list(NAMED_FAMILIES)
        while seats:
            language = self.rng.choices([code for code, _w in LANGUAGE_WEIGHTS], [w for _c, w in LANGUAGE_WEIGHTS])[0]
            bank = NAMES[language]
            surname = self.rng.choice(bank.surnames)
            codes = [seats.pop()]
            if seats and self.rng.random() < SIBLING_SHARE:
                # Siblings are in different grades.
                other = next((i for i, code in enumerate(seats) if grade_of[code] != grade_of[codes[0]]), None)
                if other is not None:
                    codes.append(seats.pop(other))
            children = self._children(bank, surname, codes)
            families.append(FamilyPlan(language, children, self._guardians(language, surname)))
        return families

    def _children(self, bank: NameBank, surname: str, codes: list[str]) -> list[ChildPlan]:
        first_names = self.rng.sample(bank.children, len(codes))
        children = []
        for first_name, code in zip(first_names, codes, strict=True):
            nickname = NICKNAMES.get(first_name, "") if self.rng.random() < 0.5 else ""
            children.append(ChildPlan(first_name, surname, code, preferred_name=nickname))
        return children

    def _guardians(self, language: str, surname: str) -> list[GuardianPlan]:
        bank = NAMES[language]
        roll = self.rng.random()
        mother_first = self.rng.random() < 0.7
        if roll < TWO_HOUSEHOLD_SHARE:
            primary = self._parent(language, surname, mother=mother_first)
            other_surname = self.rng.choice(bank.surnames)
            other = self._parent(language, other_surname, mother=not mother_first)
            other.lives_with_student = False
            guardians = [primary, other]
        elif roll < TWO_HOUSEHOLD_SHARE + TWO_PARENT_SHARE:
            primary = self._parent(language, surname, mother=mother_first)
            spouse_surname = surname
            if self.rng.random() < bank.spouse_keeps_surname:
                spouse_surname = self.rng.choice(bank.surnames)
            other = self._parent(language, spouse_surname, mother=not mother_first)
            guardians = [primary, other]
        else:
            kind = self.rng.random()
            if kind < 0.08:
                grandmother = self.rng.random() < 0.7
                guardians = [self._person(language, surname, Relationship.GRANDPARENT, woman=grandmother)]
            elif kind < 0.12:
                guardians = [self._person(language, self.rng.choice(bank.surnames), Relationship.FOSTER_PARENT)]
            elif kind < 0.15:
                guardians = [self._person(language, surname, Relationship.GUARDIAN)]
            else:
                guardians = [self._parent(language, surname, mother=mother_first)]
        guardians[0].is_primary_contact = True
        return guardians

    def _parent(self, language: str, surname: str, *, mother: bool) -> GuardianPlan:
        relationship = Relationship.MOTHER if mother else Relationship.FATHER
        return self._person(language, surname, relationship, woman=mother)

    def _person(self, language: str, surname: str, relationship: str, *, woman: bool | None = None) -> GuardianPlan:
        bank = NAMES[language]
        if woman is None:
            woman = self.rng.random() < 0.6
        first_name = self.rng.choice(bank.women if woman else bank.men)
        email = self._email(first_name, surname) if self.rng.random() < bank.has_email else ""
        phone = self._phone() if not email or self.rng.random() < 0.85 else ""
        portal = bool(email) and self.rng.random() < PORTAL_SHARE
        usable = [
            (channel, weight)
            for channel, weight in bank.channels
            if (channel == Channel.EMAIL and email)
            or (channel in (Channel.SMS, Channel.PHONE) and phone)
            or (channel == Channel.APP and portal)
        ]
        channel = self.rng.choices([c for c, _w in usable], [w for _c, w in usable])[0]
        return GuardianPlan(
            first_name,
            surname,
            relationship,
            language,
            email=email,
            phone=phone,
            channel=channel,
            best_time=self.rng.choice(BEST_TIMES),
            portal=portal,
        )

    def _email(self, first_name: str, last_name: str) -> str:
        base = f"{_ascii(first_name)}.{_ascii(last_name)}"
        email, n = f"{base}@{FAMILY_EMAIL_DOMAIN}", 1
        while email in self.used_emails:
            n += 1
            email = f"{base}{n}@{FAMILY_EMAIL_DOMAIN}"
        self.used_emails.add(email)
        return email

    def _phone(self) -> str:
        """A mobile number as a parent would type it; create_guardian stores it in E.164."""
        while True:
            area = self.rng.choice(AREA_CODES)
            exchange = self.rng.randint(220, 299)
            line = self.rng.randint(0, 9999)
            if f"{area}{exchange}{line:04d}" not in self.used_phones:
                break
        self.used_phones.add(f"{area}{exchange}{line:04d}")
        style = self.rng.randrange(3)
        if style == 0:
            return f"({area}) {exchange}-{line:04d}"
        if style == 1:
            return f"{area}-{exchange}-{line:04d}"
        return f"+1 {area} {exchange} {line:04d}"


def _ascii(name: str) -> str:
    """Jean-Baptiste → jeanbaptiste, Hernández → hernandez: the part of an email address a name becomes."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _digits(phone: str) -> str:
    """(617) 284-3391 → 6172843391."""
    return "".join(ch for ch in phone if ch.isdigit())


def _date_of_birth(rng: random.Random, grade_level: int) -> datetime.date:
    # Five by September 1st for kindergarten, one year older per grade.
    earliest = datetime.date(2020 - grade_level, 9, 2)
    return earliest + datetime.timedelta(days=rng.randrange(365))


def build_demo_school() -> SeedReport:
    rng = random.Random(SEED)
    report = SeedReport()
    district = District(name=DISTRICT_NAME)
    district.full_clean()
    district.save()
    school = School(district=district, name=SCHOOL_NAME, time_zone="America/New_York")
    school.full_clean()
    school.save()
    term = Term(
        school=school,
        name="2026\u201327",  # with an en dash, as the school prints it
        starts_on=datetime.date(2026, 8, 24),
        ends_on=datetime.date(2027, 6, 18),
        is_current=True,
    )
    term.full_clean()
    term.save()

    # Argon2 takes a fifth of a second per hash, on purpose; the demo staff share one password, so one hash.
    password_hash = make_password(DEMO_PASSWORD)
    staff: dict[str, User] = {}
    for plan in STAFF:
        user = User.objects.create_user(
            plan.email, None, full_name=plan.full_name, is_staff=plan.role in (Role.LEADER, Role.DISTRICT_ADMIN)
        )
        user.password = password_hash
        user.save(update_fields=["password"])
        if plan.role == Role.DISTRICT_ADMIN:
            role = StaffRole(user=user, role=plan.role, district=district)
        else:
            role = StaffRole(user=user, role=plan.role, school=school)
        role.full_clean()
        role.save()
        staff[plan.email] = user
    report.staff = len(staff)

    sections: dict[str, Section] = {}
    for class_plan in CLASSES:
        section = Section(term=term, name=class_plan.name, code=class_plan.code, grade_level=class_plan.grade_level)
        section.full_clean()
        section.save()
        section.teachers.add(*(staff[email] for email in class_plan.teachers))
        sections[class_plan.code] = section
    report.classes = len(sections)

    families = DemoPlanner(rng).families()
    family_students: list[list[Student]] = []
    number = STUDENT_NUMBER_START
    for family in families:
        children = []
        for child in family.children:
            grade_level = sections[child.section_code].grade_level
            student = Student(
                school=school,
                student_number=str(number),
                first_name=child.first_name,
                last_name=child.last_name,
                preferred_name=child.preferred_name,
                grade_level=grade_level,
                date_of_birth=_date_of_birth(rng, grade_level),
            )
            # bulk_create skips validation; the school is known and the numbers are unique by construction.
            student.full_clean(exclude=["school"], validate_unique=False, validate_constraints=False)
            children.append(student)
            number += 1
        family_students.append(children)
    students = Student.objects.bulk_create([student for children in family_students for student in children])
    report.students = len(students)

    enrollments = []
    for family, children in zip(families, family_students, strict=True):
        for child_plan, student in zip(family.children, children, strict=True):
            enrollments.append(Enrollment(section=sections[child_plan.section_code], student=student))
        _create_family(family, children, report)
    Enrollment.objects.bulk_create(enrollments)
    report.families = len(families)

    # The counselor follows the named Spanish-speaking and two-household families (NAMED_FAMILIES[1:3]).
    named = family_students[1] + family_students[2]
    others = [student for children in family_students[len(NAMED_FAMILIES) :] for student in children]
    others = [student for student in others if (student.grade_level or 0) >= 3]
    caseload = named + rng.sample(others, CASELOAD_SIZE - len(named))
    counselor = staff["counselor@example.org"]
    CaseloadAssignment.objects.bulk_create(CaseloadAssignment(counselor=counselor, student=s) for s in caseload)
    return report


def _create_family(family: FamilyPlan, children: list[Student], report: SeedReport) -> None:
    for plan in family.guardians:
        guardian: Guardian = create_guardian(
            first_name=plan.first_name,
            last_name=plan.last_name,
            email=plan.email,
            phone=plan.phone,
            preferred_language=plan.language,
            preferred_channel=plan.channel,
            best_time_to_reach=plan.best_time,
        )
        for student in children:
            link_guardian(
                student=student,
                guardian=guardian,
                relationship=plan.relationship,
                is_primary_contact=plan.is_primary_contact,
                lives_with_student=plan.lives_with_student,
                contact_allowed=not plan.restricted,
                portal_access_allowed=not plan.restricted,
            )
        if plan.portal:
            give_portal_account(guardian=guardian)
            report.portal_accounts += 1
        report.guardians += 1
        report.languages[plan.language] = report.languages.get(plan.language, 0) + 1
