"""Every URL that takes an id, walked as every kind of person: own, other class, other school, other family,
restricted guardian. A new URL with an id fails `test_the_matrix_covers_every_url_with_an_id` until it is added."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.forms import ModelChoiceField, ModelMultipleChoiceField
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import StringConverter
from django.utils import timezone

from accounts.models import User
from audit.models import AccessEvent
from delivery.models import Thread
from homeroom.testing import count_security_probes
from roster.models import (
    CaseloadAssignment,
    District,
    Enrollment,
    Guardian,
    ImportFormat,
    ImportStatus,
    Role,
    RosterImport,
    School,
    Section,
    StaffRole,
    Student,
    StudentGuardian,
    Term,
)
from roster.tests.factories import (
    CaseloadAssignmentFactory,
    DistrictFactory,
    EnrollmentFactory,
    SectionFactory,
    StaffRoleFactory,
    StudentGuardianFactory,
    UserFactory,
)

OWN, OTHER_CLASS, OTHER_SCHOOL = "student", "other_student", "far_student"

# url name -> the kind of object its id names
URLS_WITH_IDS = {
    "students:student_detail": "student",
    "students:section_detail": "section",
    "portal:child_detail": "student",
    "communication:log_contact": "student",
    "communication:good_news": "student",
    "communication:introduction_letter": "section",
    "communication:conversation": "thread",
    "portal:conversation": "thread",
    "intake:class_families": "section",
    "goals:class_goals": "section",
    "goals:new_goal": "student",
    "behavior:new_note": "student",
    "behavior:guide": "student",
    "records:record": "student",
    "roster:import_detail": "roster_import",
}

# Pages that change something (POST) or name two records: walked by their own app's tests.
COVERED_BY_THEIR_APPS = {
    # communication/tests/test_notices.py: test_no_one_but_the_class_s_teacher_writes_its_letter_for_a_family
    "communication:family_introduction",
    # roster/tests/test_import_pages.py: test_a_held_deactivation_is_shown_confirmed_then_applied,
    # test_only_the_uploader_confirms_a_held_import
    "roster:import_confirm",
    # intake/tests/test_pages.py: test_only_the_classs_teacher_*, test_no_one_else_*
    "intake:ask_families",
    "intake:customise",
    "intake:type_in_answers",
    "intake:revoke",
    "intake:questions",
    "intake:observe",
    # goals/tests/test_pages.py: test_no_one_else_sees_or_changes_the_goal, test_a_leader_reads_the_goal_*
    "goals:goal",
    "goals:edit_goal",
    "goals:add_checkin",
    "goals:add_activity",
    "goals:remove_activity",
    "goals:translation",
    "goals:tell_family",
    "goals:count_reply",
    "goals:family_goal",
    "goals:family_agrees",
    "goals:family_checkin",
    "goals:family_activity_done",
    # goals/tests/test_sharing.py: a family member's own link, signed, dated and checked on each use
    "goals:link_activity_done",
    # delivery/tests/test_sms.py: test_a_teacher_of_another_school_sees_none_of_the_waiting_replies
    "communication:place_unrouted",
}

# (person, target) -> expected status code; each target is a student (or that student's class).
# The student page and logging a contact with the family: open to the staff who see the student.
STUDENT_FOR_STAFF = {
    "teacher": {OWN: 200, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
    "other_teacher": {OWN: 404, OTHER_CLASS: 200, OTHER_SCHOOL: 404},
    "far_teacher": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 200},
    "counselor": {OWN: 200, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
    "leader": {OWN: 200, OTHER_CLASS: 200, OTHER_SCHOOL: 404},
    "other_leader": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 200},
    "district_admin": {OWN: 200, OTHER_CLASS: 200, OTHER_SCHOOL: 200},
    # Families use the portal: the staff page is refused outright, whichever child.
    "guardian": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
    "restricted_guardian": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
    "other_family": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
    "stranger": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
}

# A conversation is between one member of staff and one family: nobody else reads it, leaders included.
STAFF_OWN_CONVERSATION = {
    "teacher": {OWN: 200, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
    "other_teacher": {OWN: 404, OTHER_CLASS: 200, OTHER_SCHOOL: 404},
    "far_teacher": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 200},
    **{
        person: {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 404}
        for person in ("counselor", "leader", "other_leader", "district_admin")
    },
    **{
        person: {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403}
        for person in ("guardian", "restricted_guardian", "other_family", "stranger")
    },
}

EXPECTED = {
    "communication:conversation": STAFF_OWN_CONVERSATION,
    "portal:conversation": {
        **{
            person: {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403}
            for person in (
                "teacher",
                "other_teacher",
                "far_teacher",
                "counselor",
                "leader",
                "other_leader",
                "district_admin",
                "stranger",
            )
        },
        "guardian": {OWN: 200, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
        "restricted_guardian": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
        "other_family": {OWN: 404, OTHER_CLASS: 200, OTHER_SCHOOL: 404},
    },
    "students:student_detail": STUDENT_FOR_STAFF,
    "communication:log_contact": STUDENT_FOR_STAFF,
    "communication:good_news": STUDENT_FOR_STAFF,
    # Only a class's own teachers write to its families in their name: leaders see the class but do not send.
    "communication:introduction_letter": {
        "teacher": {OWN: 200, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
        "other_teacher": {OWN: 404, OTHER_CLASS: 200, OTHER_SCHOOL: 404},
        "far_teacher": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 200},
        "counselor": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
        "leader": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
        "other_leader": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
        "district_admin": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
        "guardian": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
        "restricted_guardian": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
        "other_family": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
        "stranger": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
    },
    "intake:class_families": "students:section_detail",
    "goals:class_goals": "students:section_detail",
    # Goals are set by the staff who work with the child; a leader sees the child but sets none.
    "goals:new_goal": {
        **STUDENT_FOR_STAFF,
        "leader": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 404},
        "other_leader": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 403},
        "district_admin": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
    },
    # Behavior notes, like goals, are for the staff who work with the child: a leader sees patterns, not notes.
    "behavior:new_note": "goals:new_goal",
    "behavior:guide": "goals:new_goal",
    # A family's request to inspect the record is answered by the school's leaders: the staff who work with the
    # child see it, but do not produce it (403); a leader of another school does not see it (404).
    "records:record": {
        "teacher": {OWN: 403, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
        "other_teacher": {OWN: 404, OTHER_CLASS: 403, OTHER_SCHOOL: 404},
        "far_teacher": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 403},
        "counselor": {OWN: 403, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
        "leader": {OWN: 200, OTHER_CLASS: 200, OTHER_SCHOOL: 404},
        "other_leader": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 200},
        "district_admin": {OWN: 200, OTHER_CLASS: 200, OTHER_SCHOOL: 200},
        "guardian": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
        "restricted_guardian": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
        "other_family": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
        "stranger": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
    },
    # A roster import, by target: the leader's upload for Ana's school (OWN), the district administrator's upload
    # of the whole district (OTHER_CLASS), the other leader's upload for the far school (OTHER_SCHOOL). Only
    # leaders and district administrators import; everyone else gets the same 404 as for an id that does not exist.
    "roster:import_detail": {
        **{
            person: {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 404}
            for person in (
                "teacher",
                "other_teacher",
                "far_teacher",
                "counselor",
                "guardian",
                "restricted_guardian",
                "other_family",
                "stranger",
            )
        },
        "leader": {OWN: 200, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
        "other_leader": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 200},
        "district_admin": {OWN: 200, OTHER_CLASS: 200, OTHER_SCHOOL: 200},
    },
    "students:section_detail": {
        "teacher": {OWN: 200, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
        "other_teacher": {OWN: 404, OTHER_CLASS: 200, OTHER_SCHOOL: 404},
        "far_teacher": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 200},
        "counselor": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
        "leader": {OWN: 200, OTHER_CLASS: 200, OTHER_SCHOOL: 404},
        "other_leader": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 200},
        "district_admin": {OWN: 200, OTHER_CLASS: 200, OTHER_SCHOOL: 200},
        "guardian": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
        "restricted_guardian": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
        "other_family": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
        "stranger": {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403},
    },
    "portal:child_detail": {
        # Staff have no portal: refused whichever child.
        **{
            person: {OWN: 403, OTHER_CLASS: 403, OTHER_SCHOOL: 403}
            for person in (
                "teacher",
                "other_teacher",
                "far_teacher",
                "counselor",
                "leader",
                "other_leader",
                "district_admin",
                "stranger",
            )
        },
        "guardian": {OWN: 200, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
        "restricted_guardian": {OWN: 404, OTHER_CLASS: 404, OTHER_SCHOOL: 404},
        "other_family": {OWN: 404, OTHER_CLASS: 200, OTHER_SCHOOL: 404},
    },
}


def _named_urls_with_ids(resolver: URLResolver, namespace: str = "") -> set[str]:
    names = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace in ("admin",) or "allauth" in str(pattern.urlconf_module):
                continue  # the admin is scoped by its own tests; allauth's ids are its own keys, not records
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _named_urls_with_ids(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name and _has_record_id(pattern):
            names.add(f"{namespace}{pattern.name}")
    return names


def _has_record_id(pattern: URLPattern) -> bool:
    # A signed token (an unsubscribe link) is its own authority, not a record's id for the access policy.
    return any(not isinstance(converter, StringConverter) for converter in pattern.pattern.converters.values())


def test_the_matrix_covers_every_url_with_an_id():
    assert _named_urls_with_ids(get_resolver()) == set(URLS_WITH_IDS) | COVERED_BY_THEIR_APPS


def _target_id(world, url_name: str, target: str) -> int:
    student = getattr(world, target)
    if URLS_WITH_IDS[url_name] == "section":
        return student.sections.get().id
    if URLS_WITH_IDS[url_name] == "thread":
        return _conversation_about(student).id
    if URLS_WITH_IDS[url_name] == "roster_import":
        return _roster_import_for(world, target).id
    return student.id


def _roster_import_for(world, target: str) -> RosterImport:
    uploader, school = {
        OWN: ("leader", world.school),
        OTHER_CLASS: ("district_admin", None),
        OTHER_SCHOOL: ("other_leader", world.other_school),
    }[target]
    return RosterImport.objects.create(
        uploaded_by=world.people[uploader],
        district=world.school.district,
        school=school,
        format=ImportFormat.PLAIN_CSV if school else ImportFormat.ONEROSTER,
        file_name="roster.csv" if school else "oneroster.zip",
        status=ImportStatus.IMPORTED,
    )


def _conversation_about(student):
    """The conversation of the student's teacher with the student's (first) family."""
    link = student.guardian_links.order_by("id").first() or StudentGuardianFactory(student=student)
    thread, _created = Thread.objects.get_or_create(
        staff=student.sections.get().teachers.get(),
        guardian=link.guardian,
        defaults={"last_message_at": timezone.now()},
    )
    return thread


# A page open to exactly those who see another one.
EXPECTED = {name: EXPECTED[rule] if isinstance(rule, str) else rule for name, rule in EXPECTED.items()}

CASES = [
    (url_name, person, target, status)
    for url_name, by_person in EXPECTED.items()
    for person, by_target in by_person.items()
    for target, status in by_target.items()
]


@pytest.mark.security
@pytest.mark.parametrize(("url_name", "person", "target", "status"), CASES)
def test_no_page_shows_a_record_to_someone_who_may_not_see_it(client, world, url_name, person, target, status):
    client.force_login(world.people[person])
    response = client.get(reverse(url_name, args=[_target_id(world, url_name, target)]))
    shown = response.status_code == 200 and status != 200
    count_security_probes("routes and people", probes=1, leaks=int(shown), errors=int(response.status_code == 500))
    assert response.status_code == status


@pytest.mark.security
@pytest.mark.parametrize("url_name", sorted(URLS_WITH_IDS))
def test_an_id_that_does_not_exist_is_a_404_like_a_forbidden_one(client, world, url_name):
    person = "guardian" if url_name.startswith("portal:") else "district_admin"
    client.force_login(world.people[person])
    status = client.get(reverse(url_name, args=[999_999])).status_code
    count_security_probes("routes and people", probes=1, errors=int(status == 500))
    assert status == 404


@pytest.mark.security
@pytest.mark.parametrize("url_name", sorted(URLS_WITH_IDS))
def test_signed_out_visitors_are_sent_to_sign_in(client, world, url_name):
    response = client.get(reverse(url_name, args=[_target_id(world, url_name, OWN)]))
    count_security_probes("routes and people", probes=1, leaks=int(response.status_code == 200))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- The admin: every form, every field that points to another record ------------------------------------------
#
# As a school leader (or a district administrator) with every Django permission granted, so that only Homeroom's
# own scoping stands in the way, every registered model's add and change form is opened, and every field that
# picks another record (foreign keys, many-to-many fields, in the form and in each inline) is checked: no choice
# outside the person's schools, and a forged POST of an id outside them refused with "Select a valid choice" while
# an id inside them is taken. The autocomplete endpoint and the list filters are walked the same way.


def _admin_scope(person, world):
    """What a person administers, decided here from the world itself, not by asking the access policy."""
    if person == "leader":
        schools = {world.school.id}
        districts: set[int] = set()
    else:  # the district administrator: every school of the district
        schools = set(School.objects.filter(district=world.school.district).values_list("id", flat=True))
        districts = {world.school.district_id}
    staff = set(StaffRole.objects.filter(school__in=schools).values_list("user_id", flat=True)) | set(
        StaffRole.objects.filter(district__in=districts).values_list("user_id", flat=True)
    )
    return {
        School: schools,
        District: districts,
        Term: set(Term.objects.filter(school__in=schools).values_list("id", flat=True)),
        Section: set(Section.objects.filter(term__school__in=schools).values_list("id", flat=True)),
        Student: set(Student.objects.filter(school__in=schools).values_list("id", flat=True)),
        Guardian: set(Guardian.objects.filter(student_links__student__school__in=schools).values_list("id", flat=True)),
        User: staff,
        StudentGuardian: set(StudentGuardian.objects.filter(student__school__in=schools).values_list("id", flat=True)),
        Enrollment: set(Enrollment.objects.filter(section__term__school__in=schools).values_list("id", flat=True)),
        StaffRole: set(StaffRole.objects.filter(school__in=schools).values_list("id", flat=True)),
        CaseloadAssignment: set(
            CaseloadAssignment.objects.filter(student__school__in=schools).values_list("id", flat=True)
        ),
        AccessEvent: set(AccessEvent.objects.filter(student__school__in=schools).values_list("id", flat=True)),
    }


# A field whose choices are narrower than its model's scope: a family's sign-in account is the family's own, set by
# the sign-in itself, never picked by a member of staff.
NARROWER_FIELDS = {(Guardian, "user"): set()}


@pytest.fixture
def admin_world(world):
    """The world, with a second district beside it, and a record of every kind in and out of reach."""
    far_district = DistrictFactory(name="Far District")
    far_section = SectionFactory(term__school__district=far_district, term__school__name="Far High", name="9Z")
    far_school = far_section.term.school
    far_student = EnrollmentFactory(section=far_section, student__first_name="Dee").student
    far_teacher = StaffRoleFactory(user__email="far.district.teacher@example.org", school=far_school).user
    far_section.teachers.add(far_teacher)
    StaffRoleFactory(user__email="far.leader@example.org", role=Role.LEADER, school=far_school)
    StaffRoleFactory(
        user__email="far.district@example.org", role=Role.DISTRICT_ADMIN, school=None, district=far_district
    )
    CaseloadAssignmentFactory(counselor=far_teacher, student=far_student)
    far_guardian = StudentGuardianFactory(student=far_student).guardian
    far_guardian.user = UserFactory(email=far_guardian.email)
    far_guardian.save(update_fields=["user"])
    CaseloadAssignmentFactory(counselor=world.people["counselor"], student=world.other_student)
    StudentGuardianFactory(student=world.far_student)
    for student, actor in ((world.student, "leader"), (far_student, "far_teacher")):
        AccessEvent.objects.create(actor=world.people[actor], student=student, action="viewed", what="a test")
    Group.objects.get_or_create(name="Helpers")
    EmailAddress.objects.create(user=world.people["teacher"], email="teacher@example.org", verified=True)
    UserFactory(email="root@example.org", is_staff=True, is_superuser=True)
    for person in ("leader", "district_admin"):
        user = world.people[person]
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        # Every Django permission: only Homeroom's own scoping may stand in the way.
        user.user_permissions.set(Permission.objects.all())
    return world


class _Walk:
    def __init__(self, client, scope):
        self.client, self.scope = client, scope
        self.fields = self.leaks = self.refused = 0
        self.found: list[str] = []
        self.controlled: set = set()

    def allowed(self, model, form_model=None, name=""):
        if (form_model, name) in NARROWER_FIELDS:
            return NARROWER_FIELDS[(form_model, name)]
        return self.scope.get(model, set())  # a model the policy does not know: nothing may be picked

    def leak(self, what: str, count: int = 1) -> None:
        self.leaks += count
        self.found.append(what)

    def page(self, url):
        response = self.client.get(url)
        if response.status_code in (302, 403):
            self.refused += 1
            return None
        assert response.status_code == 200, url
        return response

    def forms(self, response):
        """The page's form and each inline's form, with the POST that leaves the inlines alone."""
        formsets = [inline.formset for inline in response.context["inline_admin_formsets"]]
        untouched = {}
        for formset in formsets:
            untouched |= {f"{formset.prefix}-TOTAL_FORMS": "0", f"{formset.prefix}-INITIAL_FORMS": "0"}
        yield "", response.context["adminform"].form, untouched, None
        for formset in formsets:
            yield formset.prefix, formset.empty_form, untouched, formset

    def walk_form(self, url, model):
        response = self.page(url)
        if response is None:
            return
        for prefix, form, untouched, formset in self.forms(response):
            form_model = form._meta.model
            for name, field in form.fields.items():
                if not isinstance(field, ModelChoiceField):
                    continue
                self.fields += 1
                related = field.queryset.model
                allowed = self.allowed(related, form_model, name)
                if formset is not None and name == form_model._meta.pk.name:
                    # An inline row names itself by id: only the parent's own rows.
                    allowed = allowed & set(formset.get_queryset().values_list("pk", flat=True))
                outside = set(field.queryset.values_list("pk", flat=True)) - allowed
                if outside:
                    self.leak(f"{url} {prefix}{name}: {len(outside)} choices out of reach", len(outside))
                self.forge(url, prefix, name, field, related, allowed, untouched)

    def forge(self, url, prefix, name, field, related, allowed, untouched):
        """A forged id out of reach (the nearest on an add form, the farthest on a change form) is refused; an id in
        reach is taken, once per field, so that the refusal is the scope's and not the form's."""
        out_of_reach = related._default_manager.exclude(pk__in=allowed).order_by("pk")
        forged = out_of_reach.first() if url.endswith("/add/") else out_of_reach.last()
        key = (related, url.split("/")[3], prefix, name)
        in_reach = sorted(allowed)[:1] if key not in self.controlled else []
        self.controlled.add(key)
        tries = [(forged.pk, True)] if forged is not None else []
        for pk, should_refuse in [*tries, *((pk, False) for pk in in_reach)]:
            value = [str(pk)] if isinstance(field, ModelMultipleChoiceField) else str(pk)
            data = dict(untouched)
            if prefix:
                data |= {f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-0-{name}": value}
            else:
                data[name] = value
            before = related._default_manager.count()
            response = self.client.post(url, data)
            assert response.status_code == 200, f"{url} {prefix}{name}={pk}: the form was saved"
            codes = self.error_codes(response, prefix, name)
            if should_refuse and "invalid_choice" not in codes:
                self.leak(f"{url} {prefix}{name}={pk} accepted")
            if not should_refuse:
                assert "invalid_choice" not in codes, f"{url} {prefix}{name}={pk}: an id in reach is refused"
            assert related._default_manager.count() == before

    @staticmethod
    def error_codes(response, prefix, name):
        if not prefix:
            errors = response.context["adminform"].form.errors.as_data()
        else:
            formset = next(
                inline.formset
                for inline in response.context["inline_admin_formsets"]
                if inline.formset.prefix == prefix
            )
            errors = formset.forms[0].errors.as_data()
        return {error.code for error in errors.get(name, [])}

    def walk_autocomplete(self, model_admin):
        for source in (model_admin, *model_admin.get_inline_instances(_request_for(model_admin))):
            for name in source.autocomplete_fields:
                self.fields += 1
                field = source.model._meta.get_field(name)
                response = self.client.get(
                    reverse("admin:autocomplete"),
                    {"app_label": source.opts.app_label, "model_name": source.opts.model_name, "field_name": name},
                )
                if response.status_code == 403:
                    self.refused += 1
                    continue
                found = {int(result["id"]) for result in response.json()["results"]}
                outside = found - self.allowed(field.related_model, source.model, name)
                if outside:
                    self.leak(f"autocomplete {source.model.__name__}.{name}: {len(outside)} out of reach", len(outside))

    def walk_filters(self, url):
        response = self.page(url)
        if response is None:
            return
        for spec in response.context["cl"].filter_specs:
            field = getattr(spec, "field", None)
            if field is None or not field.is_relation:
                continue
            self.fields += 1
            outside = {int(pk) for pk, _label in spec.lookup_choices} - self.allowed(field.related_model)
            if outside:
                self.leak(f"{url} filter {spec.field_path}: {len(outside)} out of reach", len(outside))


_REQUESTS: dict = {}


def _request_for(model_admin):
    return _REQUESTS["request"]


@pytest.mark.security
@pytest.mark.parametrize("person", ["leader", "district_admin"])
def test_no_admin_form_field_offers_or_takes_a_record_out_of_reach(client, admin_world, person, rf):
    user = admin_world.people[person]
    client.force_login(user)
    request = rf.get("/admin/")
    request.user = user
    _REQUESTS["request"] = request
    scope = _admin_scope(person, admin_world)
    walk = _Walk(client, scope)
    forms = 0
    # Chosen before the walk, which itself adds to the access log.
    out_of_reach_rows = {
        model: model._default_manager.exclude(pk__in=scope.get(model, set())).order_by("pk").last()
        for model in admin.site._registry
    }
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        in_reach = model._default_manager.filter(pk__in=scope.get(model, set())).first()
        any_row = in_reach or model._default_manager.first()
        urls = [reverse("admin:{}_{}_add".format(*info))]
        if any_row is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[any_row.pk]))
        for url in urls:
            forms += 1
            walk.walk_form(url, model)
        walk.walk_autocomplete(model_admin)
        walk.walk_filters(reverse("admin:{}_{}_changelist".format(*info)))
        # A record out of reach does not open at all.
        out_of_reach = out_of_reach_rows[model]
        if out_of_reach is not None:
            forms += 1
            response = client.get(reverse("admin:{}_{}_change".format(*info), args=[out_of_reach.pk]))
            if response.status_code == 200:
                walk.leak(f"{model.__name__} {out_of_reach.pk} opens")
    count_security_probes("admin fields", probes=walk.fields, leaks=walk.leaks)
    assert walk.found == [], "\n".join(walk.found)
    # The walk saw every registered model and a field of each kind: it is not vacuous.
    assert forms >= 2 * len(admin.site._registry)
    assert walk.fields >= 15
