"""Every URL that takes an id, walked as every kind of person: own, other class, other school, other family,
restricted guardian. A new URL with an id fails `test_the_matrix_covers_every_url_with_an_id` until it is added."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import StringConverter
from django.utils import timezone

from communication.models import Thread
from roster.models import ImportFormat, ImportStatus, RosterImport
from roster.tests.factories import StudentGuardianFactory

OWN, OTHER_CLASS, OTHER_SCHOOL = "student", "other_student", "far_student"

# url name -> the kind of object its id names
URLS_WITH_IDS = {
    "roster:student_detail": "student",
    "roster:section_detail": "section",
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
    # communication/tests/test_sms.py: test_a_teacher_of_another_school_sees_none_of_the_waiting_replies
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
    "roster:student_detail": STUDENT_FOR_STAFF,
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
    "intake:class_families": "roster:section_detail",
    "goals:class_goals": "roster:section_detail",
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
    "roster:section_detail": {
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


@pytest.mark.parametrize(("url_name", "person", "target", "status"), CASES)
def test_no_page_shows_a_record_to_someone_who_may_not_see_it(client, world, url_name, person, target, status):
    client.force_login(world.people[person])
    response = client.get(reverse(url_name, args=[_target_id(world, url_name, target)]))
    assert response.status_code == status


@pytest.mark.parametrize("url_name", sorted(URLS_WITH_IDS))
def test_an_id_that_does_not_exist_is_a_404_like_a_forbidden_one(client, world, url_name):
    person = "guardian" if url_name.startswith("portal:") else "district_admin"
    client.force_login(world.people[person])
    assert client.get(reverse(url_name, args=[999_999])).status_code == 404


@pytest.mark.parametrize("url_name", sorted(URLS_WITH_IDS))
def test_signed_out_visitors_are_sent_to_sign_in(client, world, url_name):
    response = client.get(reverse(url_name, args=[_target_id(world, url_name, OWN)]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
