"""The education record a family asks to inspect (FERPA §99.10), in the small world of the root conftest.py: Ana is
in 3A, taught by `teacher`, at Maple Elementary, led by `leader`; her parent (`guardian`) sees her in the portal;
her other parent (`restricted_guardian`) may not see her record, and the school may not contact them."""

import datetime
import re
import zoneinfo
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from audit.models import AccessEvent, AuditAction
from audit.services import record, record_by_link
from behavior.models import BehaviorNote, Cause
from behavior.services import record_note
from communication.models import Interaction
from communication.services import log_interaction
from goals.models import Goal
from goals.services import record_checkin, save_goal
from goals.tests.conftest import goal_fields
from intake.services import invitation_for_typing_in, save_answers
from records.services import produce_education_record
from roster.models import Guardian, StudentGuardian
from roster.tests.factories import EnrollmentFactory, StudentGuardianFactory

DAY = datetime.timedelta(days=1)

ANTECEDENT = "The class started a timed spelling test."
BEHAVIOR = "Ana tore up her worksheet and left her seat."
RESPONSE = "I offered the break corner and a fresh sheet."
CAUSE_NOTE = "She said she had skipped breakfast."


def record_url(student, guardian: Guardian | None = None) -> str:
    url = reverse("records:record", args=[student.pk])
    return f"{url}?for={guardian.pk}" if guardian is not None else url


def _guardian(world, person: str = "guardian") -> Guardian:
    return Guardian.objects.get(user=world.people[person])


def _note(world, *, days_ago: int = 2, behavior: str = BEHAVIOR) -> BehaviorNote:
    return record_note(
        author=world.people["teacher"],
        student=world.student,
        fields={
            "occurred_at": timezone.now() - days_ago * DAY,
            "setting": "classroom",
            "subject": "Spelling",
            "antecedent": ANTECEDENT,
            "behavior": behavior,
            "response": RESPONSE,
            "severity": "minor",
            "cause_note": CAUSE_NOTE,
        },
        causes=[Cause.TOO_HARD, Cause.HUNGER_FATIGUE],
    )


def _contact(world, *, summary: str = "Ana helped a classmate who fell.", **fields) -> Interaction:
    return log_interaction(
        logged_by=world.people["teacher"],
        students=[world.student],
        guardian=_guardian(world),
        tone=fields.pop("tone", "positive"),
        summary=summary,
        occurred_at=fields.pop("occurred_at", timezone.now() - 3 * DAY),
        **fields,
    )


def _goal(world, *, statement: str = "Ana will read 60 words correct per minute.") -> Goal:
    today = timezone.localdate()
    goal = save_goal(author=world.people["teacher"], student=world.student, fields=goal_fields(statement=statement))
    record_checkin(user=world.people["teacher"], goal=goal, on=today - DAY, value=Decimal(47), note="Smoother today.")
    return goal


def _answers(world) -> None:
    """What Ana's parent told the teacher on the phone, typed in."""
    link = StudentGuardian.objects.get(student=world.student, guardian=_guardian(world))
    invitation = invitation_for_typing_in(user=world.people["teacher"], section=world.section, link=link)
    first_question = invitation.questionnaire.questions.order_by("position").first()
    save_answers(
        invitation=invitation,
        answers={first_question.pk: "She loves drawing horses."},
        language="en",
        submit=True,
        entered_by=world.people["teacher"],
        answers_from="phone",
    )


def _section(page: str, heading_id: str) -> str:
    match = re.search(rf'<section aria-labelledby="{heading_id}">.*?</section>', page, re.DOTALL)
    assert match, heading_id
    return match.group(0)


# --- What the record holds -------------------------------------------------------------------------------------


def test_a_behavior_note_is_in_the_record_with_all_its_facts(client, world):
    _note(world)
    client.force_login(world.people["leader"])

    page = client.get(record_url(world.student, _guardian(world))).content.decode()

    notes = _section(page, "behavior-heading")
    for fact in (
        escape(ANTECEDENT),
        escape(BEHAVIOR),
        escape(RESPONSE),
        escape(CAUSE_NOTE),
        "The task was too hard",
        "Hunger or tiredness",
        "Classroom",
        "Spelling",
        "Minor",
        world.people["teacher"].full_name,
    ):
        assert fact in notes, fact


def test_the_family_portal_does_not_show_the_note_that_the_record_holds(client, world):
    _note(world)
    client.force_login(world.people["guardian"])

    page = client.get(reverse("portal:child_detail", args=[world.student.pk])).content.decode()

    assert world.student.display_name in page  # the right page, read
    for words in (BEHAVIOR, ANTECEDENT, RESPONSE, CAUSE_NOTE):
        assert escape(words) not in page


def test_contacts_goals_answers_and_access_are_in_the_record(client, world):
    _contact(world, moment="kindness", topic="social_emotional")
    _goal(world)
    _answers(world)
    record(actor=world.people["other_teacher"], student=world.student, action=AuditAction.VIEWED, what="a look")
    record_by_link(guardian=_guardian(world), student=world.student, action=AuditAction.VIEWED, what="goal by link")
    client.force_login(world.people["leader"])

    page = client.get(record_url(world.student, _guardian(world))).content.decode()

    log = _section(page, "log-heading")
    for fact in ("Ana helped a classmate who fell.", "Kindness", "Social-emotional", "Positive", "Phone call"):
        assert fact in log, fact
    goals = _section(page, "goals-heading")
    for fact in ("Ana will read 60 words correct per minute.", "Smoother today.", "47", "Partner reading every day."):
        assert fact in goals, fact
    assert "She loves drawing horses." in _section(page, "told-us-heading")
    access = _section(page, "access-heading")
    for fact in ("a look", world.people["other_teacher"].full_name, "goal by link", "(family member, by link)"):
        assert fact in access, fact


def test_the_record_names_the_family_on_file_and_who_it_was_produced_for_and_by(client, world):
    client.force_login(world.people["leader"])

    page = client.get(record_url(world.student, _guardian(world))).content.decode()

    family = _section(page, "family-heading")
    assert _guardian(world).display_name in family
    assert _guardian(world, "restricted_guardian").display_name in family  # on file, though not a recipient
    header = page.split('<section aria-labelledby="student-heading">')[0]
    assert f"{_guardian(world).display_name} (Parent)" in header
    assert world.people["leader"].full_name in header
    assert world.section.name in _section(page, "student-heading")


def test_moments_in_the_record_are_told_in_the_school_s_time_zone(client, world):
    world.school.time_zone = "Asia/Tokyo"
    world.school.save(update_fields=["time_zone"])
    moment = (timezone.now() - 3 * DAY).replace(hour=23, minute=30, second=0, microsecond=0)
    _contact(world, occurred_at=moment)
    client.force_login(world.people["leader"])

    page = client.get(record_url(world.student, _guardian(world))).content.decode()

    local = moment.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))  # the next day, 08:30
    assert f"{local.day} {local:%b %Y}, 08:30" in _section(page, "log-heading")


def test_every_access_event_is_in_the_record_not_only_the_latest_fifty(client, world):
    for n in range(60):
        record(actor=world.people["teacher"], student=world.student, action=AuditAction.VIEWED, what=f"look {n}")
    client.force_login(world.people["leader"])

    response = client.get(record_url(world.student, _guardian(world)))

    assert len(response.context["record"].access_events) == 61  # and the production of this copy
    assert "look 0<" in _section(response.content.decode(), "access-heading")


# --- Who asked -------------------------------------------------------------------------------------------------


def test_the_chooser_offers_only_family_members_who_may_receive_the_record(client, world):
    client.force_login(world.people["leader"])

    response = client.get(record_url(world.student))

    assert response.status_code == 200
    page = response.content.decode()
    assert f'value="{_guardian(world).pk}"' in page
    assert f'value="{_guardian(world, "restricted_guardian").pk}"' not in page
    assert _guardian(world, "restricted_guardian").display_name not in page
    assert "whose access to the child&#x27;s records is restricted" in page
    assert "Every behavior note, including those the family portal does not show." in page


def test_viewing_the_chooser_writes_nothing_to_the_access_log(client, world):
    client.force_login(world.people["leader"])

    client.get(record_url(world.student))

    assert not AccessEvent.objects.exists()


def test_the_record_is_refused_for_a_family_member_whose_access_is_restricted(client, world):
    _note(world)
    before = AccessEvent.objects.count()
    client.force_login(world.people["leader"])

    refused = client.get(record_url(world.student, _guardian(world, "restricted_guardian")))

    assert refused.status_code == 400
    page = refused.content.decode()
    assert "The record was not produced." in page
    assert "they are not a family member on file who may receive this child" in page
    assert escape(BEHAVIOR) not in page and "record" not in refused.context
    assert AccessEvent.objects.count() == before
    # The same request for the parent who may receive it is answered.
    assert client.get(record_url(world.student, _guardian(world))).status_code == 200


@pytest.mark.parametrize("value", ["", "abc", "999999"])
def test_a_choice_that_is_no_one_on_file_is_refused_not_an_error(client, world, value):
    client.force_login(world.people["leader"])

    response = client.get(reverse("records:record", args=[world.student.pk]), {"for": value})

    assert response.status_code == 400
    assert "The record was not produced." in response.content.decode()
    assert not AccessEvent.objects.exists()


def test_a_family_member_of_another_child_is_refused(client, world):
    other_family = _guardian(world, "other_family")
    client.force_login(world.people["leader"])

    response = client.get(record_url(world.student, other_family))

    assert response.status_code == 400
    assert not AccessEvent.objects.exists()


def test_when_no_family_member_may_receive_it_the_page_says_so_and_offers_nothing(client, world):
    student = EnrollmentFactory(section=world.section).student
    StudentGuardianFactory(student=student, portal_access_allowed=False)
    client.force_login(world.people["leader"])

    page = client.get(record_url(student)).content.decode()

    assert "No parent or guardian on file may receive this record." in page
    assert 'type="radio"' not in page and "Produce the record" not in page


# --- Producing it ----------------------------------------------------------------------------------------------


def test_producing_the_record_adds_one_exported_event_naming_the_guardian_and_writes_nothing_else(client, world):
    parent = _guardian(world)
    client.force_login(world.people["leader"])
    assert not AccessEvent.objects.exists()

    with CaptureQueriesContext(connection) as queries:
        response = client.get(record_url(world.student, parent))

    assert response.status_code == 200
    event = AccessEvent.objects.get()
    assert (event.action, event.actor, event.student) == (AuditAction.EXPORTED, world.people["leader"], world.student)
    assert parent.display_name in event.what
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]
    assert len(writes) == 1 and 'INTO "audit_accessevent"' in writes[0]
    # The copy's own access log ends with its production.
    assert response.context["record"].access_events[-1] == event


def test_the_service_produces_it_only_by_a_leader_for_a_family_member_who_may_receive_it(world):
    links = {link.guardian.user: link for link in world.student.guardian_links.select_related("guardian__user")}
    allowed, restricted = links[world.people["guardian"]], links[world.people["restricted_guardian"]]

    for by, link in ((world.people["leader"], restricted), (world.people["teacher"], allowed)):
        with pytest.raises(PermissionDenied):
            produce_education_record(produced_by=by, student=world.student, produced_for=link)
    assert not AccessEvent.objects.exists()

    produced = produce_education_record(produced_by=world.people["leader"], student=world.student, produced_for=allowed)
    assert produced.produced_for == allowed
    assert AccessEvent.objects.get().action == AuditAction.EXPORTED


def test_a_district_administrator_produces_the_record(client, world):
    client.force_login(world.people["district_admin"])

    response = client.get(record_url(world.student, _guardian(world)))

    assert response.status_code == 200
    assert AccessEvent.objects.get().action == AuditAction.EXPORTED


@pytest.mark.parametrize(
    ("person", "status"),
    [("leader", 200), ("teacher", 403), ("counselor", 403), ("other_leader", 404), ("guardian", 403)],
)
def test_only_the_school_s_leaders_produce_the_record(client, world, person, status):
    client.force_login(world.people[person])

    response = client.get(record_url(world.student, _guardian(world)))

    assert response.status_code == status
    assert AccessEvent.objects.filter(action=AuditAction.EXPORTED).exists() is (status == 200)


@pytest.mark.parametrize(("person", "offered"), [("leader", True), ("district_admin", True), ("teacher", False)])
def test_the_student_page_offers_the_record_only_to_those_who_produce_it(client, world, person, offered):
    client.force_login(world.people[person])

    page = client.get(reverse("students:student_detail", args=[world.student.pk])).content.decode()

    assert (reverse("records:record", args=[world.student.pk]) in page) is offered
    assert ("Education record (for a family's request)" in page) is offered


def test_the_record_reads_a_fixed_number_of_queries_however_long_its_history(client, world, django_assert_num_queries):
    parent = _guardian(world)
    _answers(world)

    def add(n: int) -> None:
        for i in range(n):
            _note(world, days_ago=i + 1, behavior=f"Note {i}.")
            _contact(world, summary=f"Contact {i}.", occurred_at=timezone.now() - (i + 1) * DAY)
            _goal(world, statement=f"Goal {i}.")
            record(actor=world.people["teacher"], student=world.student, action=AuditAction.VIEWED, what=f"look {i}")

    add(1)
    client.force_login(world.people["leader"])
    with CaptureQueriesContext(connection) as with_one:
        client.get(record_url(world.student, parent))

    add(9)
    with django_assert_num_queries(len(with_one.captured_queries)):
        response = client.get(record_url(world.student, parent))

    record_shown = response.context["record"]
    assert (len(record_shown.behavior_notes), len(record_shown.interactions), len(record_shown.goals)) == (10, 10, 10)


def test_what_a_restricted_family_member_said_or_was_told_stays_out_of_the_record(client, world):
    restricted = _guardian(world, "restricted_guardian")
    before_the_order = Interaction.objects.create(
        guardian=restricted,
        logged_by=world.people["teacher"],
        channel="call",
        tone="neutral",
        summary="Talked with the other parent about pick-up on Fridays.",
        occurred_at=timezone.now() - 30 * DAY,
    )
    before_the_order.students.add(world.student)
    _contact(world, summary="Told Ana's parent about her poem.")
    client.force_login(world.people["leader"])

    page = client.get(record_url(world.student, _guardian(world))).content.decode()

    assert "Told Ana&#x27;s parent about her poem." in page
    assert "pick-up on Fridays" not in page
    assert "records is restricted are not included" in page
