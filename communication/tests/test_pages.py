"""Keep in touch as a teacher uses it: the log form, positive first, the student page and the class page."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from communication.models import ContactChannel, Interaction, Outcome, Source, Tone
from communication.tests.conftest import days_ago, log
from roster.tests.factories import EnrollmentFactory, StudentGuardianFactory

pytestmark = pytest.mark.usefixtures("on_a_wednesday_in_november")

TODAY_URL = reverse("students:today")


def log_url(student, **params):
    url = reverse("communication:log_contact", args=[student.pk])
    return f"{url}?{'&'.join(f'{k}={v}' for k, v in params.items())}" if params else url


def student_url(student):
    return reverse("students:student_detail", args=[student.pk])


def typed(student, guardian, **changes):
    """What a teacher sends from the log form: one sentence and the presets, with any changes."""
    data = {
        "summary": "Ana read her poem to the whole class.",
        "tone": Tone.POSITIVE,
        "outcome": Outcome.REACHED,
        "guardian": guardian.pk,
        "students": [student.pk],
        "channel": ContactChannel.CALL,
        "direction": "to_family",
        "topic": "",
        "occurred_at": "",
        "follow_up_on": "",
        "next": TODAY_URL,
    }
    data.update(changes)
    return data


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def signed_in(client, teacher):
    client.force_login(teacher)
    return client


# --- The log form ------------------------------------------------------------------------------------------------


def test_the_good_news_button_opens_the_form_with_a_positive_call_to_the_primary_contact(signed_in, ana, parent):
    response = signed_in.get(log_url(ana, tone="positive", channel="call"))

    assert response.status_code == 200
    form = response.context["form"]
    assert form["tone"].value() == Tone.POSITIVE
    assert form["channel"].value() == ContactChannel.CALL
    assert form["outcome"].value() == Outcome.REACHED
    assert form["guardian"].value() == parent.pk
    assert form["students"].value() == [ana.pk]
    page = response.content.decode()
    assert re.search(r'<input type="radio" name="tone" value="positive"[^>]* checked>', page)
    assert re.search(rf'<input type="radio" name="guardian" value="{parent.pk}"[^>]* checked>', page)


def test_saving_a_positive_call_logs_it_and_goes_back_where_the_teacher_came_from(signed_in, teacher, ana, parent):
    assert not Interaction.objects.exists()

    response = signed_in.post(log_url(ana), typed(ana, parent))

    assert response.status_code == 302
    assert response.url == TODAY_URL
    contact = Interaction.objects.get()
    assert (contact.tone, contact.channel, contact.outcome) == (Tone.POSITIVE, ContactChannel.CALL, Outcome.REACHED)
    assert (contact.guardian, contact.logged_by, list(contact.students.all())) == (parent, teacher, [ana])
    assert contact.summary == "Ana read her poem to the whole class."
    assert messages_of(response) == ["Contact logged."]


def test_a_form_without_a_summary_is_shown_again_with_what_was_typed_and_saves_nothing(signed_in, ana, parent):
    response = signed_in.post(
        log_url(ana), typed(ana, parent, summary="  ", channel="text", topic="academic", follow_up_on="2026-12-01")
    )

    assert response.status_code == 200
    assert not Interaction.objects.exists()
    form = response.context["form"]
    assert "summary" in form.errors
    page = response.content.decode()
    assert '<option value="text" selected>' in page
    assert '<option value="academic" selected>' in page
    assert 'value="2026-12-01"' in page
    assert f'<input type="hidden" name="next" value="{TODAY_URL}">' in page


def test_a_contact_in_the_future_is_refused(signed_in, ana, parent):
    response = signed_in.post(log_url(ana), typed(ana, parent, occurred_at="2026-11-25T18:00"))

    assert response.status_code == 200
    assert response.context["form"].errors["occurred_at"] == [
        "That is in the future: log a contact once it has happened."
    ]
    assert not Interaction.objects.exists()


def test_a_time_typed_on_the_form_is_the_schools_local_time(signed_in, world, ana, parent):
    world.school.time_zone = "America/Los_Angeles"
    world.school.save(update_fields=["time_zone"])

    signed_in.post(log_url(ana), typed(ana, parent, occurred_at="2026-11-25T08:30"))

    assert Interaction.objects.get().occurred_at.isoformat() == "2026-11-25T16:30:00+00:00"


def test_a_follow_up_before_today_is_refused(signed_in, ana, parent):
    response = signed_in.post(log_url(ana), typed(ana, parent, follow_up_on="2026-11-24"))

    assert response.context["form"].errors["follow_up_on"] == ["Choose today or a later day."]
    assert not Interaction.objects.exists()


def test_a_next_address_on_another_site_is_ignored(signed_in, ana, parent):
    response = signed_in.post(log_url(ana), typed(ana, parent, next="https://evil.example/phish"))

    assert response.status_code == 302
    assert response.url == student_url(ana)
    assert Interaction.objects.count() == 1


def test_a_guardian_the_school_may_not_contact_cannot_be_chosen_on_the_form(signed_in, ana, parent, restricted):
    response = signed_in.post(log_url(ana), typed(ana, restricted))

    assert "guardian" in response.context["form"].errors
    assert not Interaction.objects.exists()
    assert restricted.display_name not in response.content.decode()


def test_a_teacher_cannot_open_the_form_for_a_student_of_another_class(signed_in, world, ana):
    assert signed_in.get(log_url(ana)).status_code == 200

    assert signed_in.get(log_url(world.other_student)).status_code == 404


def test_a_family_cannot_open_the_log_form(client, world, ana):
    client.force_login(world.people["guardian"])

    assert client.get(log_url(ana)).status_code == 403


# --- Positive first ----------------------------------------------------------------------------------------------

CONCERN = "Ana has not handed in homework for two weeks."


def test_a_concern_to_a_family_without_good_news_asks_for_good_news_first_and_saves_nothing(signed_in, ana, parent):
    response = signed_in.post(log_url(ana), typed(ana, parent, tone=Tone.CONCERN, summary=CONCERN))

    assert response.status_code == 200
    assert response.context["ask_positive_first"] is True
    page = response.content.decode()
    assert "Good news first?" in page
    assert "Record good news first" in page
    assert "Log the concern anyway" in page
    assert CONCERN in page
    assert not Interaction.objects.exists()


def test_the_teacher_may_log_the_concern_anyway(signed_in, ana, parent):
    response = signed_in.post(log_url(ana), typed(ana, parent, tone=Tone.CONCERN, summary=CONCERN, confirm_concern="1"))

    assert response.status_code == 302
    assert Interaction.objects.get().tone == Tone.CONCERN


def test_choosing_good_news_first_saves_nothing_and_opens_a_positive_form(signed_in, ana, parent):
    response = signed_in.post(log_url(ana), typed(ana, parent, tone=Tone.CONCERN, summary=CONCERN, positive_first="1"))

    assert not Interaction.objects.exists()
    assert response.status_code == 302
    address = urlsplit(response.url)
    assert address.path == reverse("communication:good_news", args=[ana.pk])
    assert parse_qs(address.query) == {"guardian": [str(parent.pk)], "next": [TODAY_URL]}
    form = signed_in.get(response.url).context["form"]
    assert form["guardian"].value() == parent.pk
    assert form["sentence"].value() in (None, "")


def test_good_news_told_on_the_good_news_page_brings_the_concern_back_for_the_same_guardian(signed_in, ana, parent):
    other_home = StudentGuardianFactory(student=ana, is_primary_contact=False, lives_with_student=False).guardian
    to_good_news = signed_in.post(
        log_url(ana), typed(ana, other_home, tone=Tone.CONCERN, summary=CONCERN, positive_first="1")
    )
    assert signed_in.get(to_good_news.url).context["form"]["guardian"].value() == other_home.pk

    response = signed_in.post(
        to_good_news.url,
        {"moment": "helping", "sentence": "Ana helped a new classmate.", "guardian": other_home.pk, "action": "called"},
    )

    call = Interaction.objects.get()
    assert (call.guardian, call.tone, call.moment) == (other_home, Tone.POSITIVE, "helping")
    assert "Good news first: done. Here is the concern you started." in messages_of(response)
    form = signed_in.get(response.url).context["form"]
    assert (form["summary"].value(), str(form["guardian"].value())) == (CONCERN, str(other_home.pk))


def test_after_the_good_news_the_concern_comes_back_as_it_was_typed(signed_in, ana, parent):
    concern = typed(ana, parent, tone=Tone.CONCERN, summary=CONCERN, channel="email", topic="academic")
    signed_in.post(log_url(ana), {**concern, "positive_first": "1"})

    response = signed_in.post(log_url(ana), typed(ana, parent, summary="Ana helped a new classmate all week."))

    assert list(Interaction.objects.values_list("tone", flat=True)) == [Tone.POSITIVE]
    assert "Good news first: done. Here is the concern you started." in messages_of(response)
    draft = signed_in.get(response.url)
    form = draft.context["form"]
    assert (form["summary"].value(), form["tone"].value()) == (CONCERN, Tone.CONCERN)
    assert (form["channel"].value(), form["topic"].value()) == ("email", "academic")
    assert form["confirm_concern"].value() is True
    assert draft.context["next_url"] == TODAY_URL


def test_the_concern_brought_back_after_the_good_news_is_saved_without_asking_again(signed_in, ana, parent):
    signed_in.post(log_url(ana), typed(ana, parent, tone=Tone.CONCERN, summary=CONCERN, positive_first="1"))
    back_to_draft = signed_in.post(log_url(ana), typed(ana, parent, summary="Ana helped a new classmate."))
    signed_in.get(back_to_draft.url)

    response = signed_in.post(log_url(ana), typed(ana, parent, tone=Tone.CONCERN, summary=CONCERN, confirm_concern="1"))

    assert response.status_code == 302
    assert response.url == TODAY_URL
    assert list(Interaction.objects.order_by("id").values_list("tone", flat=True)) == [Tone.POSITIVE, Tone.CONCERN]


def test_the_draft_is_used_once(signed_in, ana, parent):
    signed_in.post(log_url(ana), typed(ana, parent, tone=Tone.CONCERN, summary=CONCERN, positive_first="1"))
    back_to_draft = signed_in.post(log_url(ana), typed(ana, parent, summary="Ana helped a new classmate."))
    assert signed_in.get(back_to_draft.url).context["form"]["summary"].value() == CONCERN

    again = signed_in.get(back_to_draft.url)

    assert again.context["form"]["summary"].value() in (None, "")


def test_the_concern_brought_back_is_still_addressed_to_the_guardian_it_was_for(signed_in, ana, parent):
    other_home = StudentGuardianFactory(student=ana, is_primary_contact=False, lives_with_student=False).guardian
    signed_in.post(log_url(ana), typed(ana, other_home, tone=Tone.CONCERN, summary=CONCERN, positive_first="1"))
    back_to_draft = signed_in.post(log_url(ana), typed(ana, other_home, summary="Ana helped a new classmate."))

    form = signed_in.get(back_to_draft.url).context["form"]

    assert form["summary"].value() == CONCERN
    assert str(form["guardian"].value()) == str(other_home.pk)


def test_good_news_that_did_not_reach_the_family_does_not_skip_the_question(signed_in, ana, parent):
    signed_in.post(log_url(ana), typed(ana, parent, tone=Tone.CONCERN, summary=CONCERN, positive_first="1"))
    back_to_draft = signed_in.post(
        log_url(ana), typed(ana, parent, summary="Tried to share good news.", outcome=Outcome.NO_ANSWER)
    )

    assert "Good news first: done. Here is the concern you started." not in messages_of(back_to_draft)
    form = signed_in.get(back_to_draft.url).context["form"]
    assert form["confirm_concern"].value() is not True


def test_a_concern_is_saved_at_once_once_the_family_has_had_good_news(signed_in, teacher, ana, parent):
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.POSITIVE, occurred_at=days_ago(4))

    response = signed_in.post(log_url(ana), typed(ana, parent, tone=Tone.CONCERN, summary=CONCERN))

    assert response.status_code == 302
    assert Interaction.objects.filter(tone=Tone.CONCERN).count() == 1


def test_a_concern_to_the_other_household_asks_for_good_news_first_even_if_the_first_had_some(
    signed_in, teacher, ana, parent
):
    other_home = StudentGuardianFactory(student=ana, is_primary_contact=False, lives_with_student=False).guardian
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.POSITIVE, occurred_at=days_ago(4))

    response = signed_in.post(log_url(ana), typed(ana, other_home, tone=Tone.CONCERN, summary=CONCERN))

    assert response.status_code == 200
    assert response.context["ask_positive_first"] is True
    assert not Interaction.objects.filter(tone=Tone.CONCERN).exists()


def test_a_concern_about_two_siblings_asks_first_when_one_of_them_has_had_no_good_news(
    signed_in, world, teacher, ana, parent
):
    leo = EnrollmentFactory(section=world.section, student__first_name="Leo").student
    StudentGuardianFactory(student=leo, guardian=parent)
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.POSITIVE, occurred_at=days_ago(4))

    response = signed_in.post(
        log_url(ana), typed(ana, parent, tone=Tone.CONCERN, summary=CONCERN, students=[ana.pk, leo.pk])
    )

    assert response.status_code == 200
    assert response.context["without_positive"] == [leo]
    assert Interaction.objects.filter(tone=Tone.CONCERN).count() == 0


# --- The student page --------------------------------------------------------------------------------------------


@pytest.fixture
def a_term_of_contacts(teacher, ana, parent):
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.POSITIVE, occurred_at=days_ago(20), summary="Kind.")
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.CONCERN, occurred_at=days_ago(10), summary="Late.")
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.POSITIVE, occurred_at=days_ago(5), summary="Brave.")
    log(
        by=teacher,
        guardian=parent,
        students=[ana],
        tone=Tone.NEUTRAL,
        occurred_at=days_ago(2),
        summary="Trip form.",
        channel=ContactChannel.APP,
        source=Source.SENT,
    )


def test_the_student_page_shows_the_ratio_against_the_target(signed_in, ana, a_term_of_contacts):
    page = signed_in.get(student_url(ana)).content.decode()

    assert "Positive to concern: 2 to 1" in page
    assert "target 4 to 1" in page
    assert "2 more positive contacts to reach it" in page


def test_the_student_page_shows_the_timeline_newest_first(signed_in, ana, a_term_of_contacts):
    response = signed_in.get(student_url(ana))

    assert [item.summary for item in response.context["timeline"]] == ["Trip form.", "Brave.", "Late.", "Kind."]
    page = response.content.decode()
    assert page.index("Trip form.") < page.index("Brave.") < page.index("Late.") < page.index("Kind.")


def test_the_timeline_can_be_filtered_by_tone(signed_in, ana, a_term_of_contacts):
    response = signed_in.get(student_url(ana), {"tone": Tone.POSITIVE})

    assert [item.summary for item in response.context["timeline"]] == ["Brave.", "Kind."]
    assert "Late." not in response.content.decode()


@pytest.mark.parametrize(("kind", "shown"), [("message", ["Trip form."]), ("contact", ["Brave.", "Late.", "Kind."])])
def test_the_timeline_can_be_filtered_by_kind(signed_in, ana, a_term_of_contacts, kind, shown):
    response = signed_in.get(student_url(ana), {"kind": kind})

    assert [item.summary for item in response.context["timeline"]] == shown


def test_the_timeline_shows_a_failed_attempt_as_such(signed_in, teacher, ana, parent):
    log(by=teacher, guardian=parent, students=[ana], outcome=Outcome.VOICEMAIL, summary="Left a message.")

    page = signed_in.get(student_url(ana)).content.decode()

    assert '<span class="warning">Left a voicemail</span>' in page


# session, user, roles, student with its school, audit INSERT, family links, classes, their teachers, ratio
# summary, current term, family links for ratios, family counts, timeline, may log contact, what the family told us (its
# answers in one query with their questions), the teacher's own observations, the child's goals (their history is
# prefetched only when there are goals), may set goals, may write behavior notes, the notes of the patterns' weeks
# and the notes shown (their causes and the talks about behavior are read only when there are notes)
STUDENT_PAGE_QUERIES = 21


@pytest.mark.parametrize("items", [3, 30])
def test_the_student_page_reads_a_fixed_number_of_queries_whatever_the_timeline_length(
    signed_in, django_assert_num_queries, teacher, ana, parent, items
):
    for n in range(items):
        log(by=teacher, guardian=parent, students=[ana], tone=[Tone.POSITIVE, Tone.CONCERN][n % 2])
    with django_assert_num_queries(STUDENT_PAGE_QUERIES):
        response = signed_in.get(student_url(ana))
    assert len(response.context["timeline"]) == items


# --- The class page ----------------------------------------------------------------------------------------------


def test_the_class_page_shows_the_class_ratio_and_the_students_furthest_from_the_target_first(
    signed_in, world, teacher, ana, parent
):
    def classmate(first_name):
        student = EnrollmentFactory(section=world.section, student__first_name=first_name).student
        return student, StudentGuardianFactory(student=student).guardian

    bo, bo_parent = classmate("Bo")
    cy, cy_parent = classmate("Cy")
    di, di_parent = classmate("Di")
    log(by=teacher, guardian=parent, students=[ana], tone=Tone.CONCERN)  # 4 more needed
    for _ in range(2):
        log(by=teacher, guardian=bo_parent, students=[bo], tone=Tone.CONCERN)  # 8 more needed
    log(by=teacher, guardian=cy_parent, students=[cy], tone=Tone.POSITIVE)
    log(by=teacher, guardian=cy_parent, students=[cy], tone=Tone.CONCERN)  # 3 more needed
    log(by=teacher, guardian=di_parent, students=[di], tone=Tone.POSITIVE)  # meets the target

    response = signed_in.get(reverse("students:section_detail", args=[world.section.pk]))

    class_ratio = response.context["class_ratio"]
    assert [item.student for item in class_ratio.furthest] == [bo, ana, cy]
    page = response.content.decode()
    assert "Positive to concern: 2 to 4" in page
    assert "Students below the target: 3. Furthest first:" in page
    assert page.index(bo.display_name) < page.index(ana.display_name) < page.index(cy.display_name)
