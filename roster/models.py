import zoneinfo
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from roster.languages import FAMILY_LANGUAGE_CODES, FAMILY_LANGUAGE_NAMES, FAMILY_LANGUAGES
from roster.phone import validate_e164

# Read once: available_timezones() walks the tz database (~30 ms) and validation runs per row of an import.
KNOWN_TIME_ZONES = frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in KNOWN_TIME_ZONES:
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class District(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    # The student information system's key for this record (OneRoster sourcedId); empty when entered in Homeroom.
    sourced_id = models.CharField(_("SIS identifier"), max_length=255, blank=True, default="")

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        ordering: ClassVar = ["name"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["sourced_id"], condition=~Q(sourced_id=""), name="district_sourced_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class School(models.Model):
    district = models.ForeignKey(District, models.PROTECT, related_name="schools", verbose_name=_("district"))
    name = models.CharField(_("name"), max_length=200)
    # The student information system's key for this record (OneRoster sourcedId); empty when entered in Homeroom.
    sourced_id = models.CharField(_("SIS identifier"), max_length=255, blank=True, default="")
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="America/New_York", validators=[validate_time_zone]
    )
    contact_cadence_days = models.PositiveSmallIntegerField(
        _("contact every (days)"),
        default=settings.HOMEROOM_DEFAULT_CADENCE_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("Every family should hear from school at least this often."),
    )
    positive_ratio_target = models.PositiveSmallIntegerField(
        _("positive contacts per concern"),
        default=settings.HOMEROOM_DEFAULT_POSITIVE_RATIO,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        # Research on positive-to-negative interaction ratios (Gottman; Flora) puts healthy ones at 4:1 or more.
        help_text=_("The target ratio of positive contacts to concerns for each student, family and class."),
    )
    good_news_days = models.PositiveSmallIntegerField(
        _("good news every (days)"),
        default=settings.HOMEROOM_DEFAULT_GOOD_NEWS_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(180)],
        help_text=_("A child with no good news told to the family for this long joins the teacher's good news queue."),
    )
    # Email and text messages reach families only between these hours of the school's day: never wider than
    # 8:00-21:00, which the school may narrow.
    messages_from_hour = models.PositiveSmallIntegerField(
        _("send messages from (hour)"),
        default=8,
        validators=[MinValueValidator(8), MaxValueValidator(20)],
        help_text=_("Families receive email and text messages from this hour on (8 at the earliest)."),
    )
    messages_until_hour = models.PositiveSmallIntegerField(
        _("send messages until (hour)"),
        default=21,
        validators=[MinValueValidator(9), MaxValueValidator(21)],
        help_text=_("Families receive no email or text message from this hour on (21 at the latest)."),
    )

    # Said wherever a family may need a person at once: the HELP answer to a text, a teacher's automatic reply.
    office_phone = models.CharField(
        _("school office phone"),
        max_length=16,
        blank=True,
        default="",
        validators=[validate_e164],
        help_text=_("E.164, e.g. +16175551234"),
    )
    # Leaders and district administrators always need a second factor (see roster.access.needs_second_factor).
    teachers_need_second_factor = models.BooleanField(
        _("teachers and counselors need an authenticator app"),
        default=False,
        help_text=_(
            "When on, teachers and counselors at this school sign in with a code from an authenticator app as well as "
            "their password or emailed code. Leaders always do."
        ),
    )

    class Meta:
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        ordering: ClassVar = ["name"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["district", "name"], name="school_name_unique_in_district"),
            models.UniqueConstraint(
                fields=["sourced_id"], condition=~Q(sourced_id=""), name="school_sourced_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(contact_cadence_days__gte=1, contact_cadence_days__lte=365), name="school_cadence_range"
            ),
            models.CheckConstraint(
                condition=Q(positive_ratio_target__gte=1, positive_ratio_target__lte=20),
                name="school_ratio_target_range",
            ),
            models.CheckConstraint(
                condition=Q(good_news_days__gte=1, good_news_days__lte=180), name="school_good_news_days_range"
            ),
            models.CheckConstraint(
                condition=Q(messages_from_hour__gte=8, messages_until_hour__lte=21)
                & Q(messages_from_hour__lt=F("messages_until_hour")),
                name="school_message_hours_within_8_to_21",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Term(models.Model):
    school = models.ForeignKey(School, models.CASCADE, related_name="terms", verbose_name=_("school"))
    name = models.CharField(_("name"), max_length=100)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    is_current = models.BooleanField(_("current"), default=False)
    # The student information system's key for this record (OneRoster sourcedId); empty when entered in Homeroom.
    sourced_id = models.CharField(_("SIS identifier"), max_length=255, blank=True, default="")

    class Meta:
        verbose_name = _("term")
        verbose_name_plural = _("terms")
        ordering: ClassVar = ["-starts_on"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["school", "name"], name="term_name_unique_in_school"),
            # One academic session of the SIS is a term at each school whose classes use it.
            models.UniqueConstraint(
                fields=["school", "sourced_id"], condition=~Q(sourced_id=""), name="term_sourced_id_unique_in_school"
            ),
            models.UniqueConstraint(
                fields=["school"], condition=Q(is_current=True), name="one_current_term_per_school"
            ),
            models.CheckConstraint(condition=Q(ends_on__gt=models.F("starts_on")), name="term_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.name


class Section(models.Model):
    """A class: a group of students taught together in one term."""

    term = models.ForeignKey(Term, models.CASCADE, related_name="sections", verbose_name=_("term"))
    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=64, help_text=_("The school's own identifier for this class."))
    grade_level = models.SmallIntegerField(
        _("grade"), validators=[MinValueValidator(-1), MaxValueValidator(12)], help_text=_("-1 pre-K, 0 kindergarten")
    )
    teachers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="sections_taught", blank=True, verbose_name=_("teachers")
    )
    # The student information system's key for this record (OneRoster sourcedId); empty when entered in Homeroom.
    sourced_id = models.CharField(_("SIS identifier"), max_length=255, blank=True, default="")
    # Off when the student information system no longer lists the class: kept, never deleted, with its history.
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("class")
        verbose_name_plural = _("classes")
        ordering: ClassVar = ["grade_level", "name"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["term", "code"], name="section_code_unique_in_term"),
            models.UniqueConstraint(
                fields=["sourced_id"], condition=~Q(sourced_id=""), name="section_sourced_id_unique"
            ),
            models.CheckConstraint(condition=Q(grade_level__gte=-1, grade_level__lte=12), name="section_grade_range"),
        ]

    def __str__(self) -> str:
        return self.name


class Student(models.Model):
    school = models.ForeignKey(School, models.PROTECT, related_name="students", verbose_name=_("school"))
    student_number = models.CharField(_("student number"), max_length=64)
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    preferred_name = models.CharField(_("preferred name"), max_length=100, blank=True)
    # Empty when the student information system gives none (OneRoster leaves a student's grades optional).
    grade_level = models.SmallIntegerField(
        _("grade"), null=True, blank=True, validators=[MinValueValidator(-1), MaxValueValidator(12)]
    )
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    # The student information system's key for this record (OneRoster sourcedId); empty when entered in Homeroom.
    sourced_id = models.CharField(_("SIS identifier"), max_length=255, blank=True, default="")
    # Off when the student information system no longer lists it: kept, never deleted, with its history.
    is_active = models.BooleanField(_("active"), default=True)
    sections: "models.ManyToManyField[Section, Enrollment]" = models.ManyToManyField(
        Section, through="Enrollment", related_name="students", blank=True, verbose_name=_("classes")
    )

    class Meta:
        verbose_name = _("student")
        verbose_name_plural = _("students")
        ordering: ClassVar = ["last_name", "first_name", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["school", "student_number"], name="student_number_unique_in_school"),
            models.UniqueConstraint(
                fields=["sourced_id"], condition=~Q(sourced_id=""), name="student_sourced_id_unique"
            ),
            models.CheckConstraint(condition=Q(grade_level__gte=-1, grade_level__lte=12), name="student_grade_range"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return f"{self.preferred_name or self.first_name} {self.last_name}"


class Enrollment(models.Model):
    section = models.ForeignKey(Section, models.CASCADE, related_name="enrollments", verbose_name=_("class"))
    student = models.ForeignKey(Student, models.CASCADE, related_name="enrollments", verbose_name=_("student"))

    class Meta:
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["section", "student"], name="enrollment_unique"),
        ]
        # Serves the access policy's "students of my current classes" and a student's classes.
        indexes: ClassVar = [models.Index(fields=["student", "section"], name="enrollment_student")]

    def __str__(self) -> str:
        return f"{self.student_id} in {self.section_id}"


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")
    PHONE = "phone", _("Phone call")
    APP = "app", _("Homeroom app")


class Guardian(models.Model):
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(
        _("mobile phone"),
        max_length=16,
        blank=True,
        validators=[validate_e164],
        help_text=_("E.164, e.g. +16175551234"),
    )
    preferred_language = models.CharField(_("preferred language"), max_length=8, choices=FAMILY_LANGUAGES, default="en")
    preferred_channel = models.CharField(
        _("best way to reach"), max_length=8, choices=Channel.choices, default=Channel.EMAIL
    )
    best_time_to_reach = models.CharField(_("best time to reach"), max_length=100, blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="America/New_York", validators=[validate_time_zone]
    )
    portal_invited_at = models.DateTimeField(_("invited to the portal"), null=True, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="guardian",
        verbose_name=_("sign-in account"),
    )
    # The student information system's key for this record (OneRoster sourcedId); empty when entered in Homeroom.
    sourced_id = models.CharField(_("SIS identifier"), max_length=255, blank=True, default="")
    # Off when the student information system no longer lists this guardian: kept, never deleted, with its history.
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")
        ordering: ClassVar = ["last_name", "first_name", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(preferred_language__in=FAMILY_LANGUAGE_CODES), name="guardian_language_valid"
            ),
            models.CheckConstraint(condition=Q(preferred_channel__in=Channel.values), name="guardian_channel_valid"),
            models.CheckConstraint(condition=Q(email=Lower("email")), name="guardian_email_lowercase"),
            models.UniqueConstraint(
                fields=["sourced_id"], condition=~Q(sourced_id=""), name="guardian_sourced_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    # get_FOO_display() translates every choice on each call; a class page shows dozens of guardians.
    @property
    def language_label(self) -> str:
        return str(FAMILY_LANGUAGE_NAMES.get(self.preferred_language, self.preferred_language))

    @property
    def channel_label(self) -> str:
        return str(Channel(self.preferred_channel).label)

    def clean(self) -> None:
        super().clean()
        self.email = self.email.strip().lower()


class Relationship(models.TextChoices):
    MOTHER = "mother", _("Mother")
    FATHER = "father", _("Father")
    PARENT = "parent", _("Parent")
    STEPPARENT = "stepparent", _("Stepparent")
    GRANDPARENT = "grandparent", _("Grandparent")
    FOSTER_PARENT = "foster", _("Foster parent")
    GUARDIAN = "guardian", _("Legal guardian")
    OTHER = "other", _("Other relative or carer")


class StudentGuardian(models.Model):
    """How a guardian stands to a student. Custody orders exist: contact and portal access are per link."""

    student = models.ForeignKey(Student, models.CASCADE, related_name="guardian_links", verbose_name=_("student"))
    guardian = models.ForeignKey(Guardian, models.CASCADE, related_name="student_links", verbose_name=_("guardian"))
    relationship = models.CharField(_("relationship"), max_length=12, choices=Relationship.choices)
    is_primary_contact = models.BooleanField(_("primary contact"), default=False)
    lives_with_student = models.BooleanField(_("lives with the student"), default=True)
    contact_allowed = models.BooleanField(
        _("contact allowed"), default=True, help_text=_("Off when a court order or the school forbids contact.")
    )
    portal_access_allowed = models.BooleanField(
        _("portal access allowed"),
        default=True,
        help_text=_("Off when this guardian may not see the student's record."),
    )

    class Meta:
        verbose_name = _("student's guardian")
        verbose_name_plural = _("students' guardians")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["student", "guardian"], name="student_guardian_unique"),
            models.CheckConstraint(condition=Q(relationship__in=Relationship.values), name="relationship_valid"),
        ]
        # Serves the access policy's "my children" for a signed-in guardian.
        indexes: ClassVar = [models.Index(fields=["guardian", "student"], name="guardian_children")]

    def __str__(self) -> str:
        return f"{self.relationship_label} ({self.guardian_id} → {self.student_id})"

    @property
    def relationship_label(self) -> str:
        return str(Relationship(self.relationship).label)


class Role(models.TextChoices):
    TEACHER = "teacher", _("Teacher")
    COUNSELOR = "counselor", _("Counselor or support staff")
    LEADER = "leader", _("School leader")
    DISTRICT_ADMIN = "district_admin", _("District administrator")


class StaffRole(models.Model):
    """A member of staff's role: at one school, or (district administrators) across a district."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="staff_roles", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    school = models.ForeignKey(
        School, models.CASCADE, null=True, blank=True, related_name="staff_roles", verbose_name=_("school")
    )
    district = models.ForeignKey(
        District, models.CASCADE, null=True, blank=True, related_name="staff_roles", verbose_name=_("district")
    )

    class Meta:
        verbose_name = _("staff role")
        verbose_name_plural = _("staff roles")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="staff_role_valid"),
            models.CheckConstraint(
                condition=(Q(role="district_admin", district__isnull=False, school__isnull=True))
                | (~Q(role="district_admin") & Q(school__isnull=False, district__isnull=True)),
                name="staff_role_scope",
            ),
            models.UniqueConstraint(fields=["user", "role", "school"], name="staff_role_unique_in_school"),
            models.UniqueConstraint(fields=["user", "role", "district"], name="staff_role_unique_in_district"),
        ]

    def __str__(self) -> str:
        return self.get_role_display()

    def clean(self) -> None:
        super().clean()
        if self.role == Role.DISTRICT_ADMIN and (self.district_id is None or self.school_id is not None):
            raise ValidationError(_("A district administrator belongs to a district, not a school."))
        if self.role != Role.DISTRICT_ADMIN and (self.school_id is None or self.district_id is not None):
            raise ValidationError(_("This role belongs to a school."))


class CaseloadAssignment(models.Model):
    """A student on a counselor's or support staff member's caseload."""

    counselor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="caseload", verbose_name=_("counselor")
    )
    student = models.ForeignKey(Student, models.CASCADE, related_name="caseload_assignments", verbose_name=_("student"))

    class Meta:
        verbose_name = _("caseload assignment")
        verbose_name_plural = _("caseload assignments")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["counselor", "student"], name="caseload_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} on {self.counselor_id}'s caseload"


class EndedFamilyLink(models.Model):
    """What Homeroom knew of a family link the student information system ended, kept so that the same link, sent
    again, comes back as it was: a custody restriction never lifts because a link left the SIS for a while."""

    student = models.ForeignKey(Student, models.CASCADE, related_name="+", verbose_name=_("student"))
    guardian = models.ForeignKey(Guardian, models.CASCADE, related_name="+", verbose_name=_("guardian"))
    relationship = models.CharField(_("relationship"), max_length=12, choices=Relationship.choices)
    is_primary_contact = models.BooleanField(_("primary contact"))
    lives_with_student = models.BooleanField(_("lives with the student"))
    contact_allowed = models.BooleanField(_("contact allowed"))
    portal_access_allowed = models.BooleanField(_("portal access allowed"))
    ended_at = models.DateTimeField(_("ended"), auto_now_add=True)

    class Meta:
        verbose_name = _("ended family link")
        verbose_name_plural = _("ended family links")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["student", "guardian"], name="ended_family_link_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.guardian_id} → {self.student_id} (ended)"


class ImportFormat(models.TextChoices):
    ONEROSTER = "oneroster", _("OneRoster CSV (1.1 or 1.2)")
    PLAIN_CSV = "plain_csv", _("Homeroom's plain CSV")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Running")
    IMPORTED = "imported", _("Imported")
    CHECKED = "checked", _("Checked, nothing changed")
    HELD = "held", _("Waiting for you to confirm the deactivations")
    REJECTED = "rejected", _("Not imported: the file has problems")
    FAILED = "failed", _("Failed")


class RosterImport(models.Model):
    """A roster file a leader uploaded, checked and imported by a background task, and what came of it."""

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="roster_imports", verbose_name=_("uploaded by")
    )
    district = models.ForeignKey(District, models.CASCADE, related_name="roster_imports", verbose_name=_("district"))
    # The school a leader imports into; empty for a district administrator's import of the whole district.
    school = models.ForeignKey(
        School, models.CASCADE, null=True, blank=True, related_name="roster_imports", verbose_name=_("school")
    )
    format = models.CharField(_("format"), max_length=10, choices=ImportFormat.choices)
    file_name = models.CharField(_("file name"), max_length=255)
    # Where the upload waits for the task, outside any served folder; removed once read.
    stored_path = models.CharField(max_length=500, blank=True)
    dry_run = models.BooleanField(_("check only"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    problems = models.JSONField(_("problems"), default=list, blank=True)
    problem_count = models.PositiveIntegerField(_("problems found"), default=0)
    notices = models.JSONField(default=list, blank=True)
    # Rows left out while the rest was imported, and how many in all.
    skipped = models.JSONField(default=list, blank=True)
    skipped_count = models.PositiveIntegerField(default=0)
    # Deactivations beyond the safety limits, held until the uploader confirms: kind -> [count, some names].
    held = models.JSONField(default=dict, blank=True)
    allow_deactivations = models.BooleanField(_("deactivations confirmed"), default=False)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("roster import")
        verbose_name_plural = _("roster imports")
        ordering: ClassVar = ["-created_at", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(format__in=ImportFormat.values), name="roster_import_format_valid"),
            models.CheckConstraint(condition=Q(status__in=ImportStatus.values), name="roster_import_status_valid"),
        ]

    def __str__(self) -> str:
        return self.file_name
