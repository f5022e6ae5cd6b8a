"""Every staff page that shows a student's data writes an access event for that student, named by its path. A new
staff URL fails `test_every_staff_url_is_classified` until it is listed here as audited or as showing no one."""

from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from audit.models import AccessEvent, AuditAction
from communication.models import UnroutedReason, UnroutedReply
from delivery.models import DeliveryChannel, Thread
from goals.models import Goal
from goals.services import save_goal
from goals.tests.conftest import goal_fields
from homeroom.testing import count_security_probes
from roster.models import StudentGuardian

pytestmark = [pytest.mark.security, pytest.mark.django_db]

# url name -> (who opens it, how its arguments are found from the fixture's records)
AUDITED_STAFF_PAGES: dict[str, tuple[str, Any]] = {
    "students:student_detail": ("teacher", lambda r: [r["student"].pk]),
    "students:section_detail": ("teacher", lambda r: [r["section"].pk]),
    "roster:caseload": ("counselor", lambda r: []),
    "students:today": ("teacher", lambda r: []),
    "communication:log_contact": ("teacher", lambda r: [r["student"].pk]),
    "communication:good_news": ("teacher", lambda r: [r["student"].pk]),
    "communication:new_message": ("teacher", lambda r: []),
    "communication:conversations": ("teacher", lambda r: []),
    "communication:conversation": ("teacher", lambda r: [r["thread"].pk]),
    "communication:introduction_letter": ("teacher", lambda r: [r["section"].pk]),
    "communication:family_introduction": ("teacher", lambda r: [r["section"].pk, r["link"].guardian_id]),
    "communication:unrouted_replies": ("teacher", lambda r: []),
    "goals:new_goal": ("teacher", lambda r: [r["student"].pk]),
    "goals:goal": ("teacher", lambda r: [r["goal"].pk]),
    "goals:edit_goal": ("teacher", lambda r: [r["goal"].pk]),
    "goals:translation": ("teacher", lambda r: [r["goal"].pk, "es"]),
    "goals:class_goals": ("teacher", lambda r: [r["section"].pk]),
    "behavior:new_note": ("teacher", lambda r: [r["student"].pk]),
    "behavior:guide": ("teacher", lambda r: [r["student"].pk]),
    "intake:class_families": ("teacher", lambda r: [r["section"].pk]),
    "intake:type_in_answers": ("teacher", lambda r: [r["section"].pk, r["link"].pk]),
}

# Staff URLs that show no single student's data, or only change it (each change is audited by its own service).
NO_STUDENT_SHOWN = {
    "roster:section_list",  # class names and sizes
    "roster:invite_families",  # POST: invitations, audited per family
    "roster:export_roster",  # audited in bulk by the export
    "roster:import_roster",
    "roster:import_template",
    "roster:import_detail",  # the import's counts and row errors
    "roster:import_confirm",  # POST: runs the held import again, audited as the import
    "communication:office_hours",
    "communication:new_notice",  # a school-wide notice: no student named
    "communication:place_unrouted",  # POST, audited as the reply it becomes
    "goals:add_checkin",  # POST
    "goals:add_activity",  # POST
    "goals:remove_activity",  # POST
    "goals:tell_family",  # POST
    "goals:count_reply",  # POST
    "behavior:school",  # counts by pattern, no names
    "intake:ask_families",  # POST
    "intake:customise",  # questions, not answers
    "intake:revoke",  # POST
    "intake:school_questions",  # a redirect
    "intake:questions",  # questions, not answers
    "intake:observe",  # POST, audited by add_observation
    "insights:overview",  # a school's figures
    "records:record",  # the chooser names who may ask; the record itself is audited as an export when produced
}

# Pages families open, hooks the providers call, signed links: not staff pages.
NOT_STAFF = ("portal:", "goals:family_", "goals:link_", "intake:answer", "delivery:incoming_", "unsubscribe")


def _url_names(resolver: URLResolver, namespace: str = "") -> set[str]:
    names = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin" or "allauth" in str(pattern.urlconf_module):
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _url_names(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name and namespace:
            names.add(f"{namespace}{pattern.name}")
    return names


def test_every_staff_url_is_classified():
    staff_urls = {
        name
        for name in _url_names(get_resolver())
        if not any(marker in name for marker in NOT_STAFF) and name != "delivery:text_status"
    }
    assert staff_urls == set(AUDITED_STAFF_PAGES) | NO_STUDENT_SHOWN


@pytest.fixture
def records(world):
    teacher = world.people["teacher"]
    link = StudentGuardian.objects.get(student=world.student, guardian__user=world.people["guardian"])
    now = timezone.now()
    thread = Thread.objects.create(staff=teacher, guardian=link.guardian, last_message_at=now, last_personal_at=now)
    waiting = UnroutedReply.objects.create(
        channel=DeliveryChannel.SMS,
        sender="+16175550100",
        body="Who is this?",
        reason=UnroutedReason.values[0],
        received_at=timezone.now(),
    )
    waiting.candidates.add(thread)
    waiting.students.add(world.student)
    goal: Goal = save_goal(author=teacher, student=world.student, fields=goal_fields())
    return {"student": world.student, "section": world.section, "thread": thread, "goal": goal, "link": link}


def test_every_staff_page_that_shows_a_student_writes_its_access_event(client, world, records):
    unaudited = []
    for url_name, (person, arguments) in AUDITED_STAFF_PAGES.items():
        client.force_login(world.people[person])
        url = reverse(url_name, args=arguments(records))
        response = client.get(url)
        assert response.status_code == 200, (url_name, response.status_code)
        logged = AccessEvent.objects.filter(
            actor=world.people[person], student=world.student, action=AuditAction.VIEWED, path=url
        ).exists()
        if not logged:
            unaudited.append(url_name)
    count_security_probes("staff pages audited", probes=len(AUDITED_STAFF_PAGES), leaks=len(unaudited))
    assert not unaudited, ", ".join(unaudited)
