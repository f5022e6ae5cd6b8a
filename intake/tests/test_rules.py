"""The rules of asking families about their children, tested against the services: who is asked, what they
receive, how long a link works, who is reminded, what is kept of their answers, who may change the questions."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from audit.models import AccessEvent
from communication.models import Interaction
from delivery.models import Delivery, MessageKind
from intake.models import ANSWER_MAX_LENGTH, Answer, AnswersFrom, Invitation, Observation, Question, Questionnaire
from intake.questions import DEFAULT_QUESTIONS
from intake.selectors import Progress, link_of, response_tracking
from intake.services import (
    add_observation,
    add_question,
    customise_for_class,
    invitation_of_link,
    invite_families,
    move_question,
    questionnaire_for,
    remind_families,
    retire_question,
    revoke_invitation,
    reword_question,
    save_answers,
    school_questionnaire,
    translate_answers,
)
from intake.tests.conftest import LINK_DAYS, NOW, REMINDER_DAYS
from roster.models import Relationship, StudentGuardian
from roster.tests.factories import EnrollmentFactory, GuardianFactory, SectionFactory, StudentGuardianFactory

DAY = datetime.timedelta(days=1)


# --- Helpers -----------------------------------------------------------------------------------------------------


def invite(sender, section, *, now=NOW, guardian_ids=None):
    return invite_families(sender=sender, section=section, now=now, guardian_ids=guardian_ids)


def token_of(invitation):
    return f"{invitation.pk}.{invitation.secret}"


def invitation_for(student, guardian):
    return Invitation.objects.get(student=student, guardian=guardian)


def questionnaire_deliveries(guardian):
    return Delivery.objects.filter(guardian=guardian, message__kind=MessageKind.QUESTIONNAIRE)


def classmate(section, first_name, **guardian_fields):
    """Another child of the class, with a contactable guardian of their own."""
    student = EnrollmentFactory(section=section, student__first_name=first_name).student
    guardian = GuardianFactory(**guardian_fields)
    StudentGuardianFactory(student=student, guardian=guardian)
    return student, guardian


def questions_of(questionnaire):
    return list(questionnaire.questions.values_list("position", "key", "text", "retired_at"))


@pytest.fixture
def ana_asked(teacher, section, ana, parent):
    """Ana's parent was sent a link at NOW."""
    invite(teacher, section)
    return invitation_for(ana, parent)


# --- Who is asked ------------------------------------------------------------------------------------------------


def test_inviting_a_class_sends_one_link_per_child_and_contactable_guardian(teacher, section, ana, parent):
    bea, beas_parent = classmate(section, "Bea")

    invited = invite(teacher, section)

    assert set(Invitation.objects.values_list("student_id", "guardian_id")) == {
        (ana.pk, parent.pk),
        (bea.pk, beas_parent.pk),
    }
    assert invited.families == 2
    assert questionnaire_deliveries(parent).count() == 1
    assert questionnaire_deliveries(beas_parent).count() == 1
    invitation = invitation_for(ana, parent)
    assert invitation.section == section
    assert invitation.invited_by == teacher
    assert invitation.sent_at == NOW
    assert invitation.expires_at == NOW + LINK_DAYS * DAY


def test_a_guardian_the_school_may_not_contact_gets_no_invitation_and_no_delivery(teacher, section, restricted):
    invite(teacher, section)

    assert not Invitation.objects.filter(guardian=restricted).exists()
    assert not Delivery.objects.filter(guardian=restricted).exists()


def test_a_guardian_whose_contact_is_forbidden_is_not_asked_even_when_chosen(teacher, section, restricted):
    invited = invite(teacher, section, guardian_ids=[restricted.pk])

    assert invited.families == 0
    assert not Invitation.objects.filter(guardian=restricted).exists()
    assert not Delivery.objects.filter(guardian=restricted).exists()


def test_each_guardian_of_a_two_household_family_gets_its_own_invitation_and_delivery(teacher, section, ana, parent):
    other_household = GuardianFactory()
    StudentGuardianFactory(student=ana, guardian=other_household, lives_with_student=False, is_primary_contact=False)

    invited = invite(teacher, section)

    assert invited.families == 2
    first, second = invitation_for(ana, parent), invitation_for(ana, other_household)
    assert first.secret != second.secret
    (to_first,) = questionnaire_deliveries(parent)
    (to_second,) = questionnaire_deliveries(other_household)
    assert link_of(first) in to_first.body
    assert link_of(second) not in to_first.body
    assert link_of(second) in to_second.body
    assert link_of(first) not in to_second.body


def test_brothers_and_sisters_in_one_class_share_one_delivery_listing_a_link_each(teacher, section, ana, parent):
    bea = EnrollmentFactory(section=section, student__first_name="Bea").student
    StudentGuardianFactory(student=bea, guardian=parent, relationship=Relationship.PARENT)

    invited = invite(teacher, section)

    assert invited.families == 1
    assert Invitation.objects.filter(guardian=parent).count() == 2
    (delivery,) = questionnaire_deliveries(parent)
    assert link_of(invitation_for(ana, parent)) in delivery.body
    assert link_of(invitation_for(bea, parent)) in delivery.body


@pytest.mark.parametrize("who", ["other_teacher", "far_teacher", "leader", "counselor", "guardian", "stranger"])
def test_only_a_teacher_of_the_class_may_invite_its_families(world, section, who):
    with pytest.raises(PermissionDenied):
        invite(world.people[who], section)

    assert not Invitation.objects.exists()
    assert not Delivery.objects.exists()


def test_inviting_the_class_again_leaves_a_family_whose_link_is_waiting_alone(teacher, section, parent, ana_asked):
    invited = invite(teacher, section, now=NOW + 3 * DAY)

    assert invited.families == 0
    assert questionnaire_deliveries(parent).count() == 1
    ana_asked.refresh_from_db()
    assert ana_asked.sent_at == NOW


def test_inviting_the_class_again_leaves_a_family_that_answered_alone_even_once_its_link_expired(
    teacher, section, parent, ana_asked
):
    save_answers(invitation=ana_asked, answers={}, language="en", submit=True, now=NOW + DAY)

    invited = invite(teacher, section, now=NOW + (LINK_DAYS + 5) * DAY)

    assert invited.families == 0
    assert questionnaire_deliveries(parent).count() == 1


def test_inviting_the_class_again_asks_again_a_family_whose_link_expired(teacher, section, parent, ana_asked):
    later = NOW + (LINK_DAYS + 1) * DAY

    invited = invite(teacher, section, now=later)

    assert invited.families == 1
    assert questionnaire_deliveries(parent).count() == 2
    ana_asked.refresh_from_db()
    assert ana_asked.sent_at == later
    assert ana_asked.expires_at == later + LINK_DAYS * DAY
    assert invitation_of_link(token_of(ana_asked), now=later + DAY) == ana_asked


def test_inviting_the_class_again_asks_again_a_family_whose_link_was_revoked_with_a_new_link(
    teacher, section, parent, ana_asked
):
    old_token = token_of(ana_asked)
    Invitation.objects.filter(pk=ana_asked.pk).update(revoked_at=NOW + DAY)

    invited = invite(teacher, section, now=NOW + 2 * DAY)

    assert invited.families == 1
    ana_asked.refresh_from_db()
    assert ana_asked.revoked_at is None
    assert token_of(ana_asked) != old_token
    assert invitation_of_link(old_token, now=NOW + 3 * DAY) is None
    assert invitation_of_link(token_of(ana_asked), now=NOW + 3 * DAY) == ana_asked


def test_inviting_one_chosen_family_sends_its_waiting_link_again(teacher, section, parent, ana_asked):
    bea, beas_parent = classmate(section, "Bea")
    later = NOW + 3 * DAY

    invited = invite(teacher, section, now=later, guardian_ids=[parent.pk])

    assert invited.families == 1
    ana_asked.refresh_from_db()
    assert ana_asked.sent_at == later
    assert Invitation.objects.filter(guardian=parent).count() == 1
    deliveries = list(questionnaire_deliveries(parent).order_by("id"))
    assert len(deliveries) == 2
    assert link_of(ana_asked) in deliveries[-1].body
    assert not Invitation.objects.filter(student=bea, guardian=beas_parent).exists()


def test_inviting_one_chosen_family_whose_link_was_revoked_gives_a_new_secret_and_kills_the_old_link(
    teacher, section, parent, ana_asked
):
    old_token = token_of(ana_asked)
    revoke_invitation(user=teacher, invitation=ana_asked, now=NOW + DAY)
    assert invitation_of_link(old_token, now=NOW + DAY) is None

    invite(teacher, section, now=NOW + 2 * DAY, guardian_ids=[parent.pk])

    ana_asked.refresh_from_db()
    assert ana_asked.secret not in old_token
    assert invitation_of_link(old_token, now=NOW + 2 * DAY) is None
    assert invitation_of_link(token_of(ana_asked), now=NOW + 2 * DAY) == ana_asked
    latest = questionnaire_deliveries(parent).order_by("-id").first()
    assert link_of(ana_asked) in latest.body
    assert old_token not in latest.body


def test_inviting_records_that_the_family_was_asked_about_each_child(teacher, section, ana, ana_asked):
    assert AccessEvent.objects.filter(actor=teacher, student=ana, what="asked the family about the child").exists()


def test_a_family_asked_again_by_the_teacher_of_another_class_is_counted_for_that_class(
    world, teacher, section, ana, parent, ana_asked
):
    art = SectionFactory(term=section.term, name="Art")
    EnrollmentFactory(section=art, student=ana)
    art_teacher = world.people["other_teacher"]
    art.teachers.add(art_teacher)

    invite(art_teacher, art, now=NOW + (LINK_DAYS + 1) * DAY)

    ana_asked.refresh_from_db()
    assert ana_asked.invited_by == art_teacher
    assert ana_asked.section == art


def test_after_the_teacher_changes_the_class_s_questions_a_family_that_answered_is_not_asked_again(
    teacher, section, parent, ana_asked
):
    save_answers(invitation=ana_asked, answers={}, language="en", submit=True, now=NOW + DAY)
    customise_for_class(user=teacher, section=section)

    invited = invite(teacher, section, now=NOW + 2 * DAY)

    assert invited.families == 0
    assert questionnaire_deliveries(parent).count() == 1
    tracking = response_tracking(section=section, questionnaire=questionnaire_for(section), now=NOW + 2 * DAY)
    assert [(row.progress, row.earlier_questions) for row in tracking.rows if row.link.guardian == parent] == [
        (Progress.ANSWERED, True)
    ]


def test_after_the_teacher_changes_the_class_s_questions_a_waiting_family_keeps_its_link(
    teacher, section, parent, ana_asked
):
    customise_for_class(user=teacher, section=section)

    assert invite(teacher, section, now=NOW + 2 * DAY).families == 0
    assert invitation_of_link(token_of(ana_asked), now=NOW + 2 * DAY) == ana_asked


def test_a_family_chosen_after_the_questions_changed_gets_the_new_questions_and_its_old_link_closes(
    teacher, section, ana, parent, ana_asked
):
    strengths = question_keyed(ana_asked.questionnaire, "strengths")
    save_answers(invitation=ana_asked, answers={strengths.pk: "Drawing."}, language="en", submit=False, now=NOW)
    own = customise_for_class(user=teacher, section=section)

    invite(teacher, section, now=NOW + 2 * DAY, guardian_ids=[parent.pk])

    new = Invitation.objects.get(questionnaire=own, student=ana, guardian=parent)
    assert invitation_of_link(token_of(new), now=NOW + 2 * DAY) == new
    assert invitation_of_link(token_of(ana_asked), now=NOW + 2 * DAY) is None
    assert link_of(new) in questionnaire_deliveries(parent).order_by("-id").first().body
    assert Answer.objects.get(invitation=ana_asked).text == "Drawing."
    tracking = response_tracking(section=section, questionnaire=own, now=NOW + 2 * DAY)
    assert [(row.invitation, row.earlier_questions) for row in tracking.rows if row.link.guardian == parent] == [
        (new, False)
    ]


# --- The message ---------------------------------------------------------------------------------------------------


def test_the_link_is_sent_in_the_guardian_s_preferred_language(teacher, section, ana, parent):
    parent.preferred_language = "es"
    parent.save(update_fields=["preferred_language"])
    bea, beas_parent = classmate(section, "Bea", preferred_language="en")

    invite(teacher, section)

    (to_spanish,) = questionnaire_deliveries(parent)
    assert to_spanish.language == "es"
    assert link_of(invitation_for(ana, parent)) in to_spanish.body
    (to_english,) = questionnaire_deliveries(beas_parent)
    assert to_english.language == "en"
    assert to_english.subject == "Tell us about Bea"
    assert link_of(invitation_for(bea, beas_parent)) in to_english.body
    assert "25 December" in to_english.body  # the link works LINK_DAYS days from NOW


def test_the_link_is_a_questionnaire_message_not_a_logged_contact(teacher, section, parent, ana_asked):
    (delivery,) = questionnaire_deliveries(parent)

    assert delivery.message.kind == MessageKind.QUESTIONNAIRE == "questionnaire"
    assert delivery.message.sender == teacher
    assert delivery.message.section == section
    assert not Interaction.objects.filter(delivery=delivery).exists()
    assert not Interaction.objects.exists()


# --- What a link opens -----------------------------------------------------------------------------------------


def test_a_link_opens_its_own_invitation(ana, parent, ana_asked):
    invitation = invitation_of_link(token_of(ana_asked), now=NOW + DAY)

    assert invitation == ana_asked
    assert invitation.student == ana
    assert invitation.guardian == parent


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda invitation: f"{invitation.pk}.{invitation.secret}x", id="wrong secret"),
        pytest.param(lambda invitation: f"{invitation.pk}.{invitation.secret[:-1]}", id="secret cut short"),
        pytest.param(lambda invitation: f"{invitation.pk + 1000}.{invitation.secret}", id="unknown id"),
        pytest.param(lambda invitation: "", id="empty"),
        pytest.param(lambda invitation: invitation.secret, id="no id"),
        pytest.param(lambda invitation: f"{invitation.pk}", id="no secret"),
        pytest.param(lambda invitation: f"{invitation.pk}.", id="empty secret"),
        pytest.param(lambda invitation: f".{invitation.secret}", id="empty id"),
        pytest.param(lambda invitation: f"-{invitation.pk}.{invitation.secret}", id="negative id"),
        pytest.param(lambda invitation: f"x{invitation.pk}.{invitation.secret}", id="id not a number"),
    ],
)
def test_a_link_that_is_not_exactly_the_invitation_s_opens_nothing(ana_asked, make_token):
    assert invitation_of_link(make_token(ana_asked), now=NOW + DAY) is None


def test_a_link_whose_id_is_a_superscript_digit_opens_nothing(ana_asked):
    assert invitation_of_link(f"².{ana_asked.secret}", now=NOW + DAY) is None


def test_a_revoked_link_opens_nothing(ana_asked):
    Invitation.objects.filter(pk=ana_asked.pk).update(revoked_at=NOW + DAY)

    assert invitation_of_link(token_of(ana_asked), now=NOW + 2 * DAY) is None


def test_a_link_works_until_it_expires_and_not_from_then_on(ana_asked):
    expires_at = ana_asked.expires_at

    assert invitation_of_link(token_of(ana_asked), now=expires_at - datetime.timedelta(seconds=1)) == ana_asked
    assert invitation_of_link(token_of(ana_asked), now=expires_at) is None
    assert invitation_of_link(token_of(ana_asked), now=expires_at + DAY) is None


def test_a_link_stops_working_once_the_school_may_no_longer_contact_the_guardian(ana, parent, ana_asked):
    StudentGuardian.objects.filter(student=ana, guardian=parent).update(contact_allowed=False)

    assert invitation_of_link(token_of(ana_asked), now=NOW + DAY) is None


def test_a_link_for_one_child_never_opens_another_child_s(teacher, section, ana, parent):
    bea = EnrollmentFactory(section=section, student__first_name="Bea").student
    StudentGuardianFactory(student=bea, guardian=parent)
    invite(teacher, section)
    for_ana, for_bea = invitation_for(ana, parent), invitation_for(bea, parent)

    assert invitation_of_link(token_of(for_ana), now=NOW + DAY).student == ana
    assert invitation_of_link(token_of(for_bea), now=NOW + DAY).student == bea
    assert invitation_of_link(f"{for_ana.pk}.{for_bea.secret}", now=NOW + DAY) is None
    assert invitation_of_link(f"{for_bea.pk}.{for_ana.secret}", now=NOW + DAY) is None


# --- Reminders ---------------------------------------------------------------------------------------------------


def test_a_family_is_reminded_once_the_reminder_days_have_passed_and_not_before(teacher, section, ana, parent):
    bea, beas_parent = classmate(section, "Bea")
    invite(teacher, section, now=NOW - REMINDER_DAYS * DAY, guardian_ids=[parent.pk])
    invite(teacher, section, now=NOW - (REMINDER_DAYS - 1) * DAY, guardian_ids=[beas_parent.pk])

    reminded = remind_families(now=NOW)

    assert reminded == 1
    assert invitation_for(ana, parent).reminded_at == NOW
    assert invitation_for(bea, beas_parent).reminded_at is None
    reminder = questionnaire_deliveries(parent).order_by("-id").first()
    assert reminder.subject == "A reminder: tell us about Ana"
    assert link_of(invitation_for(ana, parent)) in reminder.body
    assert questionnaire_deliveries(beas_parent).count() == 1


def _answered(invitation, ana, parent):
    save_answers(invitation=invitation, answers={}, language="en", submit=True, now=NOW - DAY)


def _revoked(invitation, ana, parent):
    Invitation.objects.filter(pk=invitation.pk).update(revoked_at=NOW - DAY)


def _expired(invitation, ana, parent):
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=NOW)


def _contact_withdrawn(invitation, ana, parent):
    StudentGuardian.objects.filter(student=ana, guardian=parent).update(contact_allowed=False)


@pytest.mark.parametrize("change", [_answered, _revoked, _expired, _contact_withdrawn], ids=lambda f: f.__name__[1:])
def test_a_family_is_not_reminded_when(teacher, section, ana, parent, change):
    invite(teacher, section, now=NOW - (REMINDER_DAYS + 2) * DAY)
    invitation = invitation_for(ana, parent)
    change(invitation, ana, parent)

    assert remind_families(now=NOW) == 0

    invitation.refresh_from_db()
    assert invitation.reminded_at is None
    assert questionnaire_deliveries(parent).count() == 1


def test_a_family_is_reminded_only_once(teacher, section, ana, parent):
    invite(teacher, section, now=NOW - REMINDER_DAYS * DAY)

    assert remind_families(now=NOW) == 1
    assert remind_families(now=NOW + DAY) == 0
    assert remind_families(now=NOW + 10 * DAY) == 0

    assert questionnaire_deliveries(parent).count() == 2
    assert invitation_for(ana, parent).reminded_at == NOW


def test_a_reminder_is_not_a_logged_contact(teacher, section, parent):
    invite(teacher, section, now=NOW - REMINDER_DAYS * DAY)

    remind_families(now=NOW)

    assert not Interaction.objects.exists()
    assert not Interaction.objects.filter(delivery__in=questionnaire_deliveries(parent)).exists()


# --- Answers ----------------------------------------------------------------------------------------------------


def question_keyed(questionnaire, key):
    return questionnaire.questions.get(key=key)


def test_an_answer_keeps_the_question_as_it_was_asked_when_the_question_is_reworded(leader, ana_asked):
    strengths = question_keyed(ana_asked.questionnaire, "strengths")
    with translation.override("en"):
        asked = str(DEFAULT_QUESTIONS["strengths"])
    save_answers(invitation=ana_asked, answers={strengths.pk: "Drawing."}, language="en", submit=False, now=NOW)

    reword_question(user=leader, question=strengths, text="What does your child enjoy most?")

    answer = Answer.objects.get(invitation=ana_asked, question=strengths)
    assert answer.question_text == asked
    assert answer.text == "Drawing."
    assert answer.language == "en"


def test_an_unchanged_answer_saved_again_after_a_rewording_keeps_the_words_first_asked(leader, ana_asked):
    strengths = question_keyed(ana_asked.questionnaire, "strengths")
    save_answers(invitation=ana_asked, answers={strengths.pk: "Drawing."}, language="en", submit=False, now=NOW)
    asked = Answer.objects.get(question=strengths).question_text
    reword_question(user=leader, question=strengths, text="What does your child enjoy most?")

    save_answers(invitation=ana_asked, answers={strengths.pk: " Drawing. "}, language="en", submit=True, now=NOW + DAY)

    answer = Answer.objects.get(question=strengths)
    assert answer.question_text == asked
    assert answer.updated_at == NOW


def test_an_answer_given_after_a_rewording_keeps_the_new_words(leader, ana_asked):
    hopes = question_keyed(ana_asked.questionnaire, "hopes")
    reword_question(user=leader, question=hopes, text="What would make this year a good one?")

    save_answers(invitation=ana_asked, answers={hopes.pk: "Friends."}, language="es", submit=False, now=NOW)

    assert Answer.objects.get(question=hopes).question_text == "What would make this year a good one?"


def test_an_emptied_answer_is_removed(ana_asked):
    strengths = question_keyed(ana_asked.questionnaire, "strengths")
    hopes = question_keyed(ana_asked.questionnaire, "hopes")
    given = save_answers(
        invitation=ana_asked, answers={strengths.pk: "Drawing.", hopes.pk: "Reading."}, language="en", submit=False
    )
    assert given == 2

    given = save_answers(invitation=ana_asked, answers={strengths.pk: "   "}, language="en", submit=False)

    assert given == 1
    assert list(ana_asked.answers.values_list("question_id", flat=True)) == [hopes.pk]


def test_an_over_long_answer_is_cut_to_the_longest_kept(ana_asked):
    worries = question_keyed(ana_asked.questionnaire, "worries")

    save_answers(
        invitation=ana_asked, answers={worries.pk: "w" * (ANSWER_MAX_LENGTH + 50)}, language="en", submit=False
    )

    assert len(Answer.objects.get(question=worries).text) == ANSWER_MAX_LENGTH


def test_an_answer_to_a_retired_question_is_ignored(leader, ana_asked):
    worries = question_keyed(ana_asked.questionnaire, "worries")
    retire_question(user=leader, question=worries)

    given = save_answers(invitation=ana_asked, answers={worries.pk: "None."}, language="en", submit=False)

    assert given == 0
    assert not Answer.objects.exists()


def test_an_answer_to_a_question_of_another_questionnaire_is_ignored(world, ana_asked):
    other_class = customise_for_class(user=world.people["other_teacher"], section=world.other_student.sections.get())
    foreign = question_keyed(other_class, "strengths")

    given = save_answers(invitation=ana_asked, answers={foreign.pk: "Drawing."}, language="en", submit=False)

    assert given == 0
    assert not Answer.objects.exists()


def test_submitting_records_when_the_family_finished_once(ana_asked):
    save_answers(invitation=ana_asked, answers={}, language="en", submit=False, now=NOW)
    ana_asked.refresh_from_db()
    assert ana_asked.submitted_at is None

    save_answers(invitation=ana_asked, answers={}, language="en", submit=True, now=NOW + DAY)
    save_answers(invitation=ana_asked, answers={}, language="en", submit=True, now=NOW + 2 * DAY)

    ana_asked.refresh_from_db()
    assert ana_asked.submitted_at == NOW + DAY


@pytest.mark.parametrize("who", ["other_teacher", "leader", "counselor", "district_admin"])
def test_only_a_teacher_of_the_class_may_type_in_a_family_s_answers(world, ana_asked, who):
    strengths = question_keyed(ana_asked.questionnaire, "strengths")

    with pytest.raises(PermissionDenied):
        save_answers(
            invitation=ana_asked,
            answers={strengths.pk: "Drawing."},
            language="en",
            submit=True,
            entered_by=world.people[who],
            answers_from=AnswersFrom.PHONE,
        )

    ana_asked.refresh_from_db()
    assert ana_asked.submitted_at is None
    assert ana_asked.answers_from == AnswersFrom.FAMILY
    assert not Answer.objects.exists()


@pytest.mark.parametrize("answers_from", [AnswersFrom.PHONE, AnswersFrom.PAPER])
def test_answers_typed_in_by_the_teacher_say_how_they_came_and_are_audited(teacher, ana, ana_asked, answers_from):
    strengths = question_keyed(ana_asked.questionnaire, "strengths")

    save_answers(
        invitation=ana_asked,
        answers={strengths.pk: "Drawing."},
        language="en",
        submit=True,
        entered_by=teacher,
        answers_from=answers_from,
        now=NOW,
    )

    ana_asked.refresh_from_db()
    assert ana_asked.answers_from == answers_from
    assert Answer.objects.get(question=strengths).entered_by == teacher
    assert AccessEvent.objects.filter(actor=teacher, student=ana, what="typed in the family's answers").exists()


# --- The questions -----------------------------------------------------------------------------------------------


def test_a_school_s_questions_are_homeroom_s_ten_in_order_made_once(world):
    questionnaire = school_questionnaire(world.school)

    assert questionnaire.section is None
    assert list(questionnaire.questions.values_list("position", "key", "text")) == [
        (position, key, "") for position, key in enumerate(DEFAULT_QUESTIONS, start=1)
    ]
    assert len(DEFAULT_QUESTIONS) == 10
    assert school_questionnaire(world.school) == questionnaire
    assert Questionnaire.objects.filter(school=world.school).count() == 1
    assert Question.objects.filter(questionnaire=questionnaire).count() == 10


def test_a_class_asks_the_school_s_questions_until_its_teacher_changes_them(world, teacher, section):
    assert questionnaire_for(section) == school_questionnaire(world.school)

    own = customise_for_class(user=teacher, section=section)

    assert own.section == section
    assert own != school_questionnaire(world.school)
    assert questionnaire_for(section) == own
    assert customise_for_class(user=teacher, section=section) == own
    assert questions_of(own) == questions_of(school_questionnaire(world.school))
    other_section = world.other_student.sections.get()
    assert questionnaire_for(other_section) == school_questionnaire(world.school)


def test_a_question_the_school_retired_stays_retired_in_a_class_s_copy(world, leader, teacher, section):
    school_wide = school_questionnaire(world.school)
    worries = question_keyed(school_wide, "worries")
    retire_question(user=leader, question=worries)

    own = customise_for_class(user=teacher, section=section)

    assert question_keyed(own, "worries").retired_at is not None
    assert own.questions.filter(retired_at=None).count() == 9


def test_changing_a_class_s_questions_leaves_the_school_s_untouched(world, teacher, section):
    school_wide = school_questionnaire(world.school)
    before = questions_of(school_wide)
    own = customise_for_class(user=teacher, section=section)
    first, second, third = own.questions.all()[:3]

    add_question(user=teacher, questionnaire=own, text="What should I call you?")
    reword_question(user=teacher, question=first, text="What does your child love?")
    move_question(user=teacher, question=third, up=True)
    retire_question(user=teacher, question=second)

    assert questions_of(school_wide) == before
    assert own.questions.count() == 11
    assert own.questions.get(pk=first.pk).text == "What does your child love?"


def test_a_leader_may_change_the_school_s_questions(leader, world):
    school_wide = school_questionnaire(world.school)
    first = school_wide.questions.first()

    added = add_question(user=leader, questionnaire=school_wide, text="What should I call you?")
    reword_question(user=leader, question=first, text="What does your child love?")
    retire_question(user=leader, question=added)

    assert added.position == 11
    first.refresh_from_db()
    assert first.text == "What does your child love?"


@pytest.mark.parametrize("who", ["teacher", "other_leader", "counselor", "guardian", "stranger"])
def test_only_a_leader_of_the_school_may_change_the_school_s_questions(world, who):
    school_wide = school_questionnaire(world.school)
    user = world.people[who]
    first, second = school_wide.questions.all()[:2]
    before = questions_of(school_wide)

    with pytest.raises(PermissionDenied):
        add_question(user=user, questionnaire=school_wide, text="What should I call you?")
    with pytest.raises(PermissionDenied):
        reword_question(user=user, question=first, text="Hello?")
    with pytest.raises(PermissionDenied):
        move_question(user=user, question=second, up=True)
    with pytest.raises(PermissionDenied):
        retire_question(user=user, question=first)

    assert questions_of(school_wide) == before


@pytest.mark.parametrize("who", ["other_teacher", "leader", "counselor", "guardian"])
def test_only_a_teacher_of_the_class_may_change_its_own_questions(world, teacher, section, who):
    own = customise_for_class(user=teacher, section=section)
    user = world.people[who]
    first, second = own.questions.all()[:2]
    before = questions_of(own)

    with pytest.raises(PermissionDenied):
        add_question(user=user, questionnaire=own, text="What should I call you?")
    with pytest.raises(PermissionDenied):
        reword_question(user=user, question=first, text="Hello?")
    with pytest.raises(PermissionDenied):
        move_question(user=user, question=second, up=True)
    with pytest.raises(PermissionDenied):
        retire_question(user=user, question=first)

    assert questions_of(own) == before


@pytest.mark.parametrize("who", ["other_teacher", "leader", "counselor", "guardian"])
def test_only_a_teacher_of_the_class_may_give_it_questions_of_its_own(world, section, who):
    with pytest.raises(PermissionDenied):
        customise_for_class(user=world.people[who], section=section)

    assert not Questionnaire.objects.filter(section=section).exists()


def test_moving_the_first_question_up_or_the_last_down_changes_nothing(teacher, section):
    own = customise_for_class(user=teacher, section=section)
    before = list(own.questions.values_list("pk", "position"))
    questions = list(own.questions.all())

    move_question(user=teacher, question=questions[0], up=True)
    move_question(user=teacher, question=questions[-1], up=False)

    assert list(own.questions.values_list("pk", "position")) == before


def test_moving_a_question_up_swaps_it_with_the_one_above(teacher, section):
    own = customise_for_class(user=teacher, section=section)
    first, second, *rest = own.questions.all()

    move_question(user=teacher, question=second, up=True)

    assert list(own.questions.values_list("pk", flat=True)) == [second.pk, first.pk, *(q.pk for q in rest)]
    assert list(own.questions.values_list("position", flat=True)) == list(range(1, 11))


def test_a_reworded_question_is_asked_as_written_in_any_language_and_an_emptied_one_returns_to_homeroom_s(
    teacher, section
):
    own = customise_for_class(user=teacher, section=section)
    strengths = question_keyed(own, "strengths")

    reword_question(user=teacher, question=strengths, text="  What makes your child smile?  ")
    assert strengths.wording("en") == strengths.wording("es") == "What makes your child smile?"

    reword_question(user=teacher, question=strengths, text="   ")
    strengths.refresh_from_db()
    assert strengths.text == ""
    with translation.override("en"):
        assert strengths.wording("en") == str(DEFAULT_QUESTIONS["strengths"])


def test_a_question_of_the_teacher_s_own_cannot_be_emptied(teacher, section):
    own = customise_for_class(user=teacher, section=section)
    added = add_question(user=teacher, questionnaire=own, text="What should I call you?")

    with pytest.raises(ValidationError):
        reword_question(user=teacher, question=added, text="  ")

    added.refresh_from_db()
    assert added.text == "What should I call you?"


def test_an_empty_question_cannot_be_added(teacher, section):
    own = customise_for_class(user=teacher, section=section)

    with pytest.raises(ValidationError):
        add_question(user=teacher, questionnaire=own, text="   ")

    assert own.questions.count() == 10


# --- Machine translation ----------------------------------------------------------------------------------------


def _answer_in_spanish(invitation, text="Le encanta dibujar."):
    strengths = question_keyed(invitation.questionnaire, "strengths")
    save_answers(invitation=invitation, answers={strengths.pk: text}, language="es", submit=True, now=NOW)
    return Answer.objects.get(invitation=invitation, question=strengths)


def test_a_family_s_answers_in_another_language_are_translated_in_one_request_keeping_their_words(
    ana_asked, libretranslate
):
    hopes = question_keyed(ana_asked.questionnaire, "hopes")
    answer = _answer_in_spanish(ana_asked)
    save_answers(invitation=ana_asked, answers={hopes.pk: "Que lea más."}, language="es", submit=True, now=NOW)

    assert translate_answers(invitation_id=ana_asked.pk) == 2

    answer.refresh_from_db()
    assert answer.text == "Le encanta dibujar."
    assert answer.translation == "[en] Le encanta dibujar."
    assert Answer.objects.get(question=hopes).translation == "[en] Que lea más."
    assert [(r["source"], r["target"], r["q"]) for r in libretranslate.requests] == [
        ("es", "en", ["Le encanta dibujar.", "Que lea más."])
    ]


def test_answers_in_the_school_s_language_and_answers_already_translated_are_not_sent_again(ana_asked, libretranslate):
    strengths = question_keyed(ana_asked.questionnaire, "strengths")
    save_answers(invitation=ana_asked, answers={strengths.pk: "Drawing."}, language="en", submit=True, now=NOW)
    assert translate_answers(invitation_id=ana_asked.pk) == 0

    hopes = question_keyed(ana_asked.questionnaire, "hopes")
    save_answers(invitation=ana_asked, answers={hopes.pk: "Que lea más."}, language="es", submit=True, now=NOW)
    translate_answers(invitation_id=ana_asked.pk)
    assert translate_answers(invitation_id=ana_asked.pk) == 0

    assert [r["q"] for r in libretranslate.requests] == [["Que lea más."]]


def test_a_changed_answer_loses_its_old_translation_and_gets_a_new_one(ana_asked, libretranslate):
    _answer_in_spanish(ana_asked)
    translate_answers(invitation_id=ana_asked.pk)

    answer = _answer_in_spanish(ana_asked, text="Le encanta correr.")
    assert answer.translation == ""

    translate_answers(invitation_id=ana_asked.pk)
    answer.refresh_from_db()
    assert answer.translation == "[en] Le encanta correr."


def test_a_translator_that_is_down_leaves_the_family_s_words_untranslated(ana_asked, libretranslate):
    answer = _answer_in_spanish(ana_asked)
    libretranslate.stop()

    assert translate_answers(invitation_id=ana_asked.pk) == 0

    answer.refresh_from_db()
    assert (answer.text, answer.translation) == ("Le encanta dibujar.", "")


def test_saving_answers_queues_their_translation_only_when_a_translator_is_set_up(
    settings, ana_asked, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _answer_in_spanish(ana_asked)
    assert not DBTaskResult.objects.exists()

    settings.HOMEROOM_TRANSLATION_BACKEND = "libretranslate"
    with django_capture_on_commit_callbacks(execute=True):
        _answer_in_spanish(ana_asked, text="Le encanta correr.")

    queued = DBTaskResult.objects.get()
    assert queued.task_path == "intake.services.translate_answers_task"
    assert queued.args_kwargs["kwargs"] == {"invitation_id": ana_asked.pk}


# --- Observations ------------------------------------------------------------------------------------------------


def test_a_teacher_writes_an_observation_about_a_child_they_teach_and_it_is_audited(teacher, ana):
    observation = add_observation(author=teacher, student=ana, text="  Loves the reading corner.  ", now=NOW)

    observation.refresh_from_db()
    assert observation.text == "Loves the reading corner."
    assert observation.author == teacher
    assert observation.student == ana
    assert observation.created_at == NOW
    assert AccessEvent.objects.filter(actor=teacher, student=ana, what="wrote an observation").exists()


@pytest.mark.parametrize("who", ["guardian", "other_teacher", "far_teacher", "stranger"])
def test_nobody_who_cannot_see_the_child_as_staff_may_write_an_observation(world, ana, who):
    with pytest.raises(PermissionDenied):
        add_observation(author=world.people[who], student=ana, text="A note.", now=NOW)

    assert not Observation.objects.exists()
    assert not AccessEvent.objects.filter(what="wrote an observation").exists()
