"""The behavior pages as staff use them: writing a note, the patterns, reaching out early, and who sees what."""

import datetime
import re
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from audit.models import AccessEvent, AuditAction
from behavior.models import BehaviorNote, Cause, SuspectedCause
from behavior.services import record_note
from communication.models import Interaction, Topic
from communication.services import log_interaction
from roster.grades import grade_label
from roster.models import Guardian, Student

WORDS = "Ana pushed a classmate in the lunch line."
CLUSTER = "3 minor notes in the last 14 days."


def _note(world, days_ago: int, *, behavior: str = WORDS, author=None, causes=(Cause.PEER_CONFLICT,), **fields):
    """A minor note about Ana, written `days_ago` days and an hour before now: always in the past."""
    return record_note(
        author=author or world.people["teacher"],
        student=world.student,
        fields={
            "behavior": behavior,
            "occurred_at": timezone.now() - datetime.timedelta(days=days_ago, hours=1),
            **fields,
        },
        causes=causes,
    )


def _three_minor_notes(world) -> list[BehaviorNote]:
    return [_note(world, days_ago) for days_ago in (1, 2, 3)]


def _local(world, moment: datetime.datetime) -> str:
    """A moment as the form's datetime-local input types it, in the school's time zone."""
    return moment.astimezone(zoneinfo.ZoneInfo(world.school.time_zone)).strftime("%Y-%m-%dT%H:%M")


def _note_form(**changes) -> dict:
    data = {
        "behavior": "Ana tore up her spelling worksheet and left her seat.",
        "antecedent": "The class started a spelling test.",
        "response": "I offered a break corner and a fresh sheet.",
        "setting": "classroom",
        "subject": "Spelling",
        "severity": "minor",
        "causes": ["too_hard", "hunger_fatigue"],
        "cause_note": "She skipped breakfast, she said.",
        **changes,
    }
    return {key: value for key, value in data.items() if value is not None}


def _guardian(world, person: str = "guardian") -> Guardian:
    return Guardian.objects.get(user=world.people[person])


def _outcome_form(world, **changes) -> dict:
    return {
        "guardian": _guardian(world).pk,
        "channel": "call",
        "outcome": "reached",
        "agreed": "Mom will ask Ana about the lunch line tonight.",
        "next_step": "Ana lines up first for a week; we talk again Friday.",
        **changes,
    }


def _reach_out_early_section(page: str) -> str:
    """Today's "Reach out early" section, or "" when the page has none."""
    match = re.search(r'<section aria-labelledby="reach-early-heading".*?</section>', page, re.DOTALL)
    return match.group(0) if match else ""


# --- Writing a note ----------------------------------------------------------------------------------------------


def test_the_teacher_writes_a_note_from_the_student_page_and_it_is_audited(client, world):
    teacher = world.people["teacher"]
    client.force_login(teacher)
    student_url = reverse("students:student_detail", args=[world.student.pk])
    new_note_url = reverse("behavior:new_note", args=[world.student.pk])
    assert new_note_url in client.get(student_url).content.decode()
    two_hours_ago = timezone.now() - datetime.timedelta(hours=2)

    response = client.post(new_note_url, _note_form(occurred_at=_local(world, two_hours_ago)))

    assert response.status_code == 302
    assert response.url == student_url + "#behavior-heading"
    note = BehaviorNote.objects.get()
    assert (note.student, note.author) == (world.student, teacher)
    assert note.behavior == "Ana tore up her spelling worksheet and left her seat."
    assert (note.antecedent, note.response) == (
        "The class started a spelling test.",
        "I offered a break corner and a fresh sheet.",
    )
    assert (note.setting, note.subject, note.severity) == ("classroom", "Spelling", "minor")
    assert note.cause_note == "She skipped breakfast, she said."
    # The typed moment is the school's local time, to the minute.
    assert note.occurred_at == two_hours_ago.replace(second=0, microsecond=0)
    assert sorted(SuspectedCause.objects.filter(note=note).values_list("cause", flat=True)) == [
        "hunger_fatigue",
        "too_hard",
    ]
    assert AccessEvent.objects.filter(
        actor=teacher, student=world.student, action=AuditAction.CREATED, what="wrote a behavior note"
    ).exists()
    page = client.get(student_url).content.decode()
    assert "Ana tore up her spelling worksheet and left her seat." in page
    assert "The class started a spelling test." in page
    assert str(Cause.TOO_HARD.label) in page and str(Cause.HUNGER_FATIGUE.label) in page


def test_a_note_without_a_time_is_dated_now(client, world):
    client.force_login(world.people["teacher"])
    before = timezone.now()

    response = client.post(reverse("behavior:new_note", args=[world.student.pk]), _note_form(causes=None))

    assert response.status_code == 302
    note = BehaviorNote.objects.get()
    assert before <= note.occurred_at <= timezone.now()
    assert not note.causes.exists()


def test_a_note_without_what_the_student_did_is_shown_again_and_nothing_is_saved(client, world):
    client.force_login(world.people["teacher"])

    response = client.post(reverse("behavior:new_note", args=[world.student.pk]), _note_form(behavior=""))

    page = response.content.decode()
    assert response.status_code == 400
    assert "This field is required." in page
    assert "The class started a spelling test.</textarea>" in page
    assert "I offered a break corner and a fresh sheet.</textarea>" in page
    assert 'value="Spelling"' in page
    assert not BehaviorNote.objects.exists() and not SuspectedCause.objects.exists()
    assert not AccessEvent.objects.filter(what="wrote a behavior note").exists()


def test_a_note_about_the_future_is_refused(client, world):
    client.force_login(world.people["teacher"])
    tomorrow = timezone.now() + datetime.timedelta(days=1)

    response = client.post(
        reverse("behavior:new_note", args=[world.student.pk]), _note_form(occurred_at=_local(world, tomorrow))
    )

    assert response.status_code == 400
    assert "That is in the future: write it once it has happened." in response.content.decode()
    assert not BehaviorNote.objects.exists() and not SuspectedCause.objects.exists()


# --- Who may write -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("person", ["other_teacher", "far_teacher", "leader", "guardian", "stranger"])
def test_no_one_outside_the_child_s_care_writes_notes_or_opens_the_guide(client, world, person):
    _three_minor_notes(world)
    notes_before = BehaviorNote.objects.count()
    client.force_login(world.people[person])
    new_note_url = reverse("behavior:new_note", args=[world.student.pk])
    guide_url = reverse("behavior:guide", args=[world.student.pk])

    statuses = {
        "get new_note": client.get(new_note_url).status_code,
        "post new_note": client.post(new_note_url, _note_form()).status_code,
        "get guide": client.get(guide_url).status_code,
        "post guide": client.post(guide_url, _outcome_form(world)).status_code,
    }

    assert set(statuses.values()) <= {403, 404}, statuses
    assert BehaviorNote.objects.count() == notes_before
    assert not Interaction.objects.exists()
    assert not AccessEvent.objects.filter(actor=world.people[person]).exists()


def test_the_counselor_writes_notes_and_opens_the_guide(client, world):
    counselor = world.people["counselor"]
    client.force_login(counselor)

    assert client.get(reverse("behavior:new_note", args=[world.student.pk])).status_code == 200
    assert client.get(reverse("behavior:guide", args=[world.student.pk])).status_code == 200
    response = client.post(reverse("behavior:new_note", args=[world.student.pk]), _note_form())

    assert response.status_code == 302
    assert BehaviorNote.objects.get().author == counselor


# --- Who reads what ----------------------------------------------------------------------------------------------


def test_a_leader_sees_the_pattern_but_not_the_notes_words(client, world):
    _three_minor_notes(world)
    student_url = reverse("students:student_detail", args=[world.student.pk])

    client.force_login(world.people["leader"])
    leader_page = client.get(student_url).content.decode()
    client.force_login(world.people["teacher"])
    teacher_page = client.get(student_url).content.decode()

    assert CLUSTER in leader_page
    assert "The notes themselves are for the staff who work with the child." in leader_page
    assert WORDS not in leader_page
    assert "Possible causes" not in leader_page  # a note's own causes, as opposed to the pattern of causes
    assert reverse("behavior:new_note", args=[world.student.pk]) not in leader_page
    assert reverse("behavior:guide", args=[world.student.pk]) not in leader_page
    assert CLUSTER in teacher_page
    assert WORDS in teacher_page
    assert reverse("behavior:guide", args=[world.student.pk]) in teacher_page


def test_the_family_never_sees_the_notes_in_the_portal(client, world):
    _three_minor_notes(world)
    client.force_login(world.people["guardian"])

    home = client.get(reverse("portal:home"))
    child = client.get(reverse("portal:child_detail", args=[world.student.pk]))

    assert home.status_code == 200 and child.status_code == 200
    for page in (home.content.decode(), child.content.decode()):
        assert WORDS not in page
        assert CLUSTER not in page
        assert str(Cause.PEER_CONFLICT.label) not in page


# --- Reach out early ---------------------------------------------------------------------------------------------


def test_today_asks_the_teacher_to_reach_out_early_and_the_guide_prepares_the_call(client, world):
    teacher = world.people["teacher"]
    guardian = _guardian(world)
    log_interaction(
        logged_by=teacher,
        students=[world.student],
        guardian=guardian,
        tone="positive",
        summary="Ana helped a new classmate find the library.",
        occurred_at=timezone.now() - datetime.timedelta(days=10),
    )
    _three_minor_notes(world)
    client.force_login(teacher)
    guide_url = reverse("behavior:guide", args=[world.student.pk])

    section = _reach_out_early_section(client.get(reverse("students:today")).content.decode())
    guide = client.get(guide_url)

    assert "Reach out early" in section
    assert f'<a href="{guide_url}">{escape(world.student.display_name)}</a>' in section
    assert CLUSTER in section
    assert guide.status_code == 200
    page = guide.content.decode()
    assert CLUSTER in page
    assert WORDS in page
    assert escape(Cause(Cause.PEER_CONFLICT).question) in page
    assert "Ana helped a new classmate find the library." in page
    assert AccessEvent.objects.filter(actor=teacher, student=world.student, what="conversation guide").exists()


def test_the_guide_says_so_when_the_log_has_no_good_news_yet(client, world):
    _three_minor_notes(world)
    client.force_login(world.people["teacher"])

    page = client.get(reverse("behavior:guide", args=[world.student.pk])).content.decode()

    assert "The log has no good news about Ana yet" in page


def test_logging_the_conversation_takes_the_child_off_reach_out_early(client, world):
    teacher = world.people["teacher"]
    _three_minor_notes(world)
    client.force_login(teacher)
    today_url = reverse("students:today")
    assert reverse("behavior:guide", args=[world.student.pk]) in _reach_out_early_section(
        client.get(today_url).content.decode()
    )

    response = client.post(reverse("behavior:guide", args=[world.student.pk]), _outcome_form(world))

    assert response.status_code == 302
    assert response.url == reverse("students:student_detail", args=[world.student.pk]) + "#behavior-heading"
    interaction = Interaction.objects.get(student_links__student=world.student)
    assert (interaction.topic, interaction.channel, interaction.outcome) == (Topic.BEHAVIOR, "call", "reached")
    assert (interaction.guardian, interaction.logged_by) == (_guardian(world), teacher)
    assert "Mom will ask Ana about the lunch line tonight." in interaction.summary
    assert "Ana lines up first for a week; we talk again Friday." in interaction.summary
    section = _reach_out_early_section(client.get(today_url).content.decode())
    assert reverse("behavior:guide", args=[world.student.pk]) not in section
    assert escape(world.student.display_name) not in section
    student_page = client.get(response.url).content.decode()
    assert "You talked with the family about it on" in student_page


def test_a_conversation_with_nothing_agreed_is_refused(client, world):
    _three_minor_notes(world)
    client.force_login(world.people["teacher"])

    response = client.post(
        reverse("behavior:guide", args=[world.student.pk]), _outcome_form(world, agreed="  ", next_step="")
    )

    assert response.status_code == 400
    assert "Write what you and the family agreed, or what happened when you called." in response.content.decode()
    assert not Interaction.objects.exists()


def test_the_guide_never_offers_a_guardian_the_school_may_not_contact(client, world):
    _three_minor_notes(world)
    client.force_login(world.people["teacher"])
    guide_url = reverse("behavior:guide", args=[world.student.pk])
    restricted = _guardian(world, "restricted_guardian")

    form = client.get(guide_url).context["form"]
    response = client.post(guide_url, _outcome_form(world, guardian=restricted.pk))

    choices = list(form.fields["guardian"].queryset)
    assert _guardian(world) in choices
    assert restricted not in choices
    assert response.status_code == 400
    assert not Interaction.objects.exists()


# --- Across the school -------------------------------------------------------------------------------------------


def test_the_leader_sees_the_school_s_patterns_without_the_notes_words(client, world):
    _three_minor_notes(world)
    leader = world.people["leader"]
    client.force_login(leader)

    response = client.get(reverse("behavior:school"))

    page = response.content.decode()
    assert response.status_code == 200
    assert f'href="{reverse("students:student_detail", args=[world.student.pk])}"' in page
    assert escape(world.student.display_name) in page
    assert CLUSTER in page
    assert "Suspected causes by grade" in page
    grade = grade_label(world.student.grade_level)
    assert f'<th scope="row">{grade}</th><td>{Cause.PEER_CONFLICT.label} (3)</td>' in page
    assert WORDS not in page
    assert AccessEvent.objects.filter(actor=leader, student=world.student, what="behavior patterns").exists()


@pytest.mark.parametrize(("level", "label"), [(0, "Kindergarten"), (None, "Grade unknown")])
def test_the_school_s_patterns_name_a_kindergarten_and_an_unknown_grade_in_words(client, world, level, label):
    Student.objects.filter(pk=world.student.pk).update(grade_level=level)
    _three_minor_notes(world)
    client.force_login(world.people["leader"])

    page = client.get(reverse("behavior:school")).content.decode()

    assert f'<th scope="row">{label}</th>' in page
    assert f"· {label}</span>" in page
    assert "Grade 0" not in page and "Grade None" not in page


def test_a_teacher_does_not_open_the_school_s_patterns(client, world):
    _three_minor_notes(world)
    client.force_login(world.people["teacher"])

    assert client.get(reverse("behavior:school")).status_code == 403


# --- Cost --------------------------------------------------------------------------------------------------------


def test_the_student_page_reads_the_notes_in_a_fixed_number_of_queries(client, world):
    client.force_login(world.people["teacher"])
    url = reverse("students:student_detail", args=[world.student.pk])
    _note(world, 1, behavior="Note 0.")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(1, 12):
        _note(world, n % 10 + 1, behavior=f"Note {n}.", causes=[Cause.PEER_CONFLICT, Cause.TOO_HARD])
    with CaptureQueriesContext(connection) as twelve:
        page = client.get(url).content.decode()

    assert BehaviorNote.objects.count() == 12
    assert all(f"Note {n}." in page for n in range(12))
    assert len(twelve) == len(one), [query["sql"] for query in twelve.captured_queries]


# --- Time zones --------------------------------------------------------------------------------------------------


def test_the_pattern_counts_today_s_notes_whatever_the_server_s_time_zone(client, world, settings):
    # 26 hours apart: the school's date is always ahead of the server's, so the result does not depend on the clock.
    settings.TIME_ZONE = "Etc/GMT+12"
    world.school.time_zone = "Pacific/Kiritimati"
    world.school.save(update_fields=["time_zone"])
    for minutes in (1, 2, 3):
        record_note(
            author=world.people["teacher"],
            student=world.student,
            fields={"behavior": WORDS, "occurred_at": timezone.now() - datetime.timedelta(minutes=minutes)},
        )
    client.force_login(world.people["teacher"])

    page = client.get(reverse("students:student_detail", args=[world.student.pk])).content.decode()

    assert WORDS in page
    assert CLUSTER in page
