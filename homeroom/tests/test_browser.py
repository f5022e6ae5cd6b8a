"""Homeroom in a real browser: signing in, what each person sees, accessibility (WCAG 2.2 AA), phone widths.

Run only these: pytest -m browser. See conftest.py here for the harness."""

import datetime
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import Browser, Locator, Page, expect

from accounts.models import User
from behavior.services import record_note
from communication.conversations import receive_reply, reply_from_family
from communication.models import ContactChannel, Interaction, Moment, Outcome, Tone
from communication.services import send_message
from delivery.compose import unsubscribe_token
from delivery.models import Delivery, Thread
from goals.models import Goal
from goals.selectors import family_link
from goals.services import add_home_activity, record_checkin, record_home_checkin, save_goal, tell_family
from goals.tests.conftest import goal_fields
from homeroom.testing import Mailbox
from intake.models import Invitation
from intake.selectors import link_of
from intake.services import invite_families, save_answers, school_questionnaire
from roster.imports.plain import template_csv
from roster.models import ImportFormat, RosterImport
from roster.services import run_roster_import, start_roster_import

if TYPE_CHECKING:
    from conftest import World
    from roster.models import Guardian, Student

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"  # every factory-made user's, see roster/tests/factories.py
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def sign_in_with_password(page: Page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()


def request_login_code(page: Page, email: str) -> None:
    page.goto("/accounts/login/code/")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Request Code").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/code/confirm/$"))


def sign_in_with_mailed_code(page: Page, mailbox: Mailbox, email: str) -> None:
    request_login_code(page, email)
    page.get_by_label("Code").fill(mailbox.login_code_for(email))
    page.get_by_role("button", name="Confirm").click()


def test_a_teacher_signs_in_with_a_password_and_opens_a_student_from_their_class_list(page, world, screenshot):
    teacher = world.people["teacher"]
    family = [link.guardian.display_name for link in world.student.guardian_links.select_related("guardian")]
    assert len(family) == 2  # the guardian, and the one with a contact restriction

    sign_in_with_password(page, teacher.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/today/$"))  # a teacher's day starts with who to reach
    page.get_by_role("navigation").get_by_role("link", name="Classes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Classes")
    screenshot(page, "class-list")

    page.get_by_role("link", name=world.section.name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(world.section.name)
    screenshot(page, "class-page")

    page.get_by_role("link", name=world.student.display_name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(world.student.display_name)
    family_section = page.get_by_role("region", name="Family", exact=True)
    for name in family:
        expect(family_section).to_contain_text(name)
    expect(family_section).to_contain_text("Do not contact.")
    screenshot(page, "student-page")


def test_a_parent_signs_in_with_a_mailed_code_and_sees_only_their_own_child(page, world, mailbox, screenshot):
    guardian = world.people["guardian"]
    child, other_child = world.student, world.other_student

    request_login_code(page, guardian.email)
    screenshot(page, "code-confirm")
    page.get_by_label("Code").fill(mailbox.login_code_for(guardian.email))
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(re.compile(r"/family/$"))
    main = page.get_by_role("main")
    expect(main).to_contain_text(child.display_name)
    expect(main).not_to_contain_text(other_child.display_name)
    screenshot(page, "parent-home")

    page.get_by_role("link", name=child.display_name).click()
    expect(page).to_have_url(re.compile(rf"/family/children/{child.id}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(child.display_name)
    screenshot(page, "child-page")

    response = page.goto(f"/family/children/{other_child.id}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(main).not_to_contain_text(other_child.display_name)
    screenshot(page, "not-found")


def test_a_guardian_whose_portal_access_was_withdrawn_signs_in_and_sees_no_child(page, world, mailbox, screenshot):
    sign_in_with_mailed_code(page, mailbox, world.people["restricted_guardian"].email)

    expect(page).to_have_url(re.compile(r"/family/$"))
    main = page.get_by_role("main")
    expect(main).to_contain_text("No children are linked to your account yet.")
    expect(main).not_to_contain_text(world.student.display_name)
    expect(main.get_by_role("link")).to_have_count(0)
    screenshot(page, "restricted-home")


# Each page: who looks at it (None: signed out) and its address in the world.
PAGES: dict[str, tuple[str | None, Callable[["World"], str]]] = {
    "sign-in": (None, lambda world: "/accounts/login/"),
    "code-request": (None, lambda world: "/accounts/login/code/"),
    "class-list": ("teacher", lambda world: "/classes/"),
    "class-page": ("teacher", lambda world: f"/classes/{world.section.id}/"),
    "student-page": ("teacher", lambda world: f"/students/{world.student.id}/"),
    "parent-home": ("guardian", lambda world: _conversation(world) and "/family/"),
    "child-page": ("guardian", lambda world: f"/family/children/{world.student.id}/"),
    "leader-overview": ("leader", lambda world: "/leader/"),
    "two-factor": ("teacher", lambda world: "/accounts/2fa/"),
    "two-factor-setup": ("teacher", lambda world: "/accounts/2fa/totp/activate/"),
    "password-change": ("teacher", lambda world: "/accounts/password/change/"),
    "today": ("teacher", lambda world: "/today/"),
    "log-contact": ("teacher", lambda world: f"/students/{world.student.id}/log/?tone=positive&channel=call"),
    "good-news": ("teacher", lambda world: f"/students/{world.student.id}/good-news/"),
    "record-request": ("leader", lambda world: f"/students/{world.student.id}/record/"),
    "record": ("leader", lambda world: f"/students/{_with_pattern(world).id}/record/?for={_parent_of(world).id}"),
    "messages": ("teacher", lambda world: f"/messages/#conversation-{_conversation(world).id}"),
    "new-message": ("teacher", lambda world: "/messages/new/"),
    "conversation": ("teacher", lambda world: f"/messages/{_conversation(world).id}/"),
    "parent-conversation": ("guardian", lambda world: f"/family/messages/{_conversation(world).id}/"),
    "office-hours": ("teacher", lambda world: "/messages/office-hours/"),
    "school-notice": ("leader", lambda world: "/messages/notice/"),
    "unsubscribe": (None, lambda world: f"/unsubscribe/{unsubscribe_token('family@example.org')}/"),
    "ask-families": ("teacher", lambda world: f"/classes/{_asked(world).section_id}/ask/"),
    "family-questions": ("leader", lambda world: f"/ask/questions/{school_questionnaire(world.school).id}/"),
    "family-answers": (None, lambda world: urlsplit(link_of(_asked(world))).path),
    "type-in-answers": (
        "teacher",
        lambda world: f"/classes/{world.section.id}/ask/{_asked(world).guardian.student_links.get().id}/type-in/",
    ),
    "new-goal": ("teacher", lambda world: f"/students/{world.student.id}/goals/new/?example=reading_fluency_early"),
    "goal": ("teacher", lambda world: f"/goals/{_goal(world).id}/"),
    "goal-translation": ("teacher", lambda world: f"/goals/{_goal(world).id}/in/es/"),
    "class-goals": ("teacher", lambda world: f"/classes/{_goal(world).student.sections.get().id}/goals/"),
    "family-goal": ("guardian", lambda world: f"/family/goals/{_goal(world).id}/"),
    "family-goal-link": (None, lambda world: _goal_link(world)),
    "behavior-note": ("teacher", lambda world: f"/students/{world.student.id}/behavior/new/"),
    "behavior-guide": ("teacher", lambda world: f"/students/{_with_pattern(world).id}/behavior/guide/"),
    "behavior-school": ("leader", lambda world: f"/behavior/?for={_with_pattern(world).id}"),
    "roster-import": ("leader", lambda world: "/roster/import/"),
    "roster-import-result": ("leader", lambda world: f"/roster/import/{_roster_import(world, template_csv()).id}/"),
    "roster-import-problems": (
        "leader",
        lambda world: f"/roster/import/{_roster_import(world, BAD_ROSTER_CSV).id}/",
    ),
}


# A long file name, an unknown grade, a missing name and a language Homeroom does not offer.
BAD_ROSTER_CSV = (
    "student_number,first_name,last_name,grade,guardian1_first_name,guardian1_last_name,guardian1_language\n"
    "10231,Sofía,García,3,María,García,es\n"
    "10232,Minh,Nguyễn,13,Lan,Trần,vi\n"
    "10233,,Okafor,KG,Ada,Okafor,Klingon\n"
)


def _roster_import(world: "World", csv_text: str) -> RosterImport:
    """Maple's roster as Homeroom's plain CSV, uploaded by its leader and imported (or refused) by the task."""
    roster_import = start_roster_import(
        uploaded_by=world.people["leader"],
        upload=SimpleUploadedFile("maple-elementary-roster-2026-autumn.csv", csv_text.encode()),
        format=ImportFormat.PLAIN_CSV,
        school=world.school,
        dry_run=False,
    )
    run_roster_import(import_id=roster_import.id)
    return roster_import


def _asked(world: "World") -> Invitation:
    """Ana's guardian asked about her, with one answer saved and not yet sent."""
    guardian = world.people["guardian"].guardian
    invitation = Invitation.objects.filter(guardian=guardian).first()
    if invitation is None:
        invite_families(sender=world.people["teacher"], section=world.section)
        invitation = Invitation.objects.get(guardian=guardian)
        strengths = invitation.questionnaire.questions.get(key="strengths")
        save_answers(
            invitation=invitation, answers={strengths.pk: "Drawing and football."}, language="en", submit=False
        )
    return invitation


def _goal(world: "World") -> Goal:
    """Ana's reading goal, set three weeks ago: two check-ins from school, one from home, a home activity."""
    goal = Goal.objects.filter(student=world.student).first()
    if goal is None:
        teacher, today = world.people["teacher"], timezone.localdate()
        start = today - datetime.timedelta(days=28)
        fields = goal_fields(baseline_on=start, due_on=start + datetime.timedelta(weeks=12))
        goal = save_goal(author=teacher, student=world.student, fields=fields)
        activity = add_home_activity(user=teacher, goal=goal, key="read_together")
        record_checkin(user=teacher, goal=goal, on=start + datetime.timedelta(days=14), value=Decimal(44))
        record_checkin(user=teacher, goal=goal, on=today, value=Decimal(49), note="Reads with expression.")
        guardian = world.people["guardian"]
        record_home_checkin(user=guardian, guardian=guardian.guardian, goal=goal, activity=activity, note="Fun!")
        # The family was sent the goal and answered: the teacher may count the answer as a check-in.
        tell_family(user=teacher, goal=goal)
        thread = Thread.objects.get(staff=teacher, guardian=guardian.guardian)
        receive_reply(thread=thread, body="She read me a whole page tonight!", channel="email")
    return goal


def _parent_of(world: "World") -> "Guardian":
    return world.people["guardian"].guardian


def _with_pattern(world: "World") -> "Student":
    """Ana, with three minor notes in math this week: a pattern to talk through with her family."""
    teacher, now = world.people["teacher"], timezone.now()
    if not world.student.behavior_notes.exists():
        for days in (1, 2, 3):
            record_note(
                author=teacher,
                student=world.student,
                fields={
                    "occurred_at": now - datetime.timedelta(days=days),
                    "subject": "Math",
                    "behavior": "Left her seat.",
                },
                causes=["too_hard"],
            )
    return world.student


def _goal_link(world: "World") -> str:
    """Ana's goal through the link her parent was sent: no sign-in."""
    return urlsplit(family_link(_goal(world), world.people["guardian"].guardian)).path


def _conversation(world: "World") -> Thread:
    """The teacher's conversation with Ana's family: a class message, and the family's answer."""
    thread = Thread.objects.filter(staff=world.people["teacher"]).first()
    if thread is None:
        send_message(
            sender=world.people["teacher"],
            section=world.section,
            subject="Our trip to the science museum",
            # A pasted link is one long word: it must wrap on a phone, not widen the page.
            body="We leave at 9:00 on Friday.\nPlease send a packed lunch and a coat.\n"
            "https://museum.example.org/visits/school-groups/2026-spring/grade-three/forms/permission-slip-and-lunch",
            tone="neutral",
        )
        thread = Thread.objects.get(staff=world.people["teacher"])
        reply_from_family(user=world.people["guardian"], thread=thread, body="Thank you! She is so excited.")
    return thread


def open_as(page: Page, sign_in_as: Callable[[Page, User], None], world: "World", name: str) -> None:
    person, path = PAGES[name]
    if person is not None:
        sign_in_as(page, world.people[person])
    response = page.goto(path(world))
    assert response is not None and response.status == 200, f"{name}: {path(world)} answered {response}"


@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_has_no_wcag_2_2_aa_violations(page, world, sign_in_as, screenshot, name):
    open_as(page, sign_in_as, world, name)
    screenshot(page, name)

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}, "resultTypes": ["violations"]})

    assert results.violations_count == 0, f"{name}:\n{results.generate_report()}"


def test_the_code_confirmation_page_has_no_wcag_2_2_aa_violations(page, world, mailbox, screenshot):
    request_login_code(page, world.people["guardian"].email)
    screenshot(page, "code-confirm")

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}, "resultTypes": ["violations"]})

    assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize(
    "name",
    [
        "class-page",
        "parent-home",
        "new-message",
        "conversation",
        "parent-conversation",
        "ask-families",
        "family-answers",
        "new-goal",
        "goal",
        "class-goals",
        "family-goal",
        "family-goal-link",
        "behavior-note",
        "behavior-guide",
        "good-news",
        "record",
        "roster-import",
        "roster-import-result",
        "roster-import-problems",
    ],
)
def test_the_page_fits_a_375_px_phone_without_scrolling_sideways(phone_page, world, sign_in_as, screenshot, name):
    open_as(phone_page, sign_in_as, world, name)
    screenshot(phone_page, f"phone-{name}")

    assert phone_page.viewport_size == {"width": 375, "height": 812}
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375


def test_a_parent_whose_account_language_is_spanish_sees_the_portal_in_spanish(page, world, sign_in_as, screenshot):
    guardian = world.people["guardian"]
    guardian.language = "es"
    guardian.save(update_fields=["language"])

    page.goto("/accounts/login/")  # signed out, the browser's English
    expect(page.locator("html")).to_have_attribute("lang", "en")

    sign_in_as(page, guardian)
    page.goto("/family/")

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("combobox").locator("option:checked")).to_have_text("Español")
    expect(page.get_by_role("main")).to_contain_text(world.student.display_name)
    screenshot(page, "parent-home-es")


class Gestures:
    """What a teacher does with their thumbs, counted: the promise is "two taps and one sentence"."""

    def __init__(self) -> None:
        self.taps = 0
        self.sentences = 0

    def tap(self, target: Locator) -> None:
        target.tap()
        self.taps += 1

    def type_sentence(self, target: Locator, sentence: str) -> None:
        target.fill(sentence)
        self.sentences += 1


@pytest.fixture
def touch_phone_page(chromium: Browser, server: str) -> Iterator[Page]:
    """A phone held in one hand: small screen, mobile layout, touch instead of a mouse."""
    context = chromium.new_context(
        base_url=server, viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True, locale="en-US"
    )
    context.set_default_timeout(5_000)
    yield context.new_page()
    context.close()


def test_a_teacher_logs_a_good_news_call_from_today_on_a_phone_in_two_taps_and_one_sentence(
    touch_phone_page, world, sign_in_as, screenshot
):
    page = touch_phone_page
    ana = world.student
    sign_in_as(page, world.people["teacher"])
    page.goto("/today/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    screenshot(page, "today")
    assert not Interaction.objects.exists()
    page.get_by_role("link", name=f"Share good news · {ana.display_name}").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Good news about {ana.display_name}")
    thumbs = Gestures()

    thumbs.tap(page.get_by_role("radio", name="Perseverance"))
    thumbs.type_sentence(page.get_by_label("What happened, in one sentence"), "Ana read her poem aloud to the class.")
    screenshot(page, "good-news")
    thumbs.tap(page.get_by_role("button", name="I called: log it"))

    expect(page).to_have_url(re.compile(r"/today/$"))
    expect(page.get_by_role("status")).to_contain_text("Good news logged.")
    call = Interaction.objects.get()
    assert (call.tone, call.moment, call.channel, call.outcome) == (
        Tone.POSITIVE,
        Moment.PERSEVERANCE,
        ContactChannel.CALL,
        Outcome.REACHED,
    )
    assert (list(call.students.all()), call.guardian) == ([ana], world.people["guardian"].guardian)
    assert call.summary == "Ana read her poem aloud to the class."
    assert (thumbs.taps, thumbs.sentences) == (2, 1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_good_news_sent_from_a_phone_reaches_a_spanish_speaking_family_in_spanish(
    touch_phone_page, world, sign_in_as, screenshot
):
    page = touch_phone_page
    ana, guardian = world.student, world.people["guardian"]
    guardian.guardian.preferred_language = "es"
    guardian.guardian.save(update_fields=["preferred_language"])
    sign_in_as(page, world.people["teacher"])
    page.goto(f"/students/{ana.id}/good-news/")
    thumbs = Gestures()

    thumbs.tap(page.get_by_role("radio", name="Helping someone"))
    thumbs.type_sentence(page.get_by_label("What happened, in one sentence"), "She helped a new student find lunch.")
    thumbs.tap(page.get_by_role("button", name="Send it to the family"))

    expect(page.get_by_role("status")).to_contain_text("Your good news is on its way to 1 family member.")
    assert (thumbs.taps, thumbs.sentences) == (2, 1)
    sent = Interaction.objects.get()
    assert (sent.tone, sent.moment, sent.guardian) == (Tone.POSITIVE, Moment.HELPING, guardian.guardian)
    delivery = Delivery.objects.get(interaction=sent)
    assert delivery.language == "es"
    assert delivery.subject == f"Buenas noticias sobre {ana.preferred_name or ana.first_name}"
    assert delivery.body.startswith(f"{ana.preferred_name or ana.first_name} ayudó a alguien.")

    page.context.clear_cookies()
    sign_in_as(page, guardian)
    page.goto(f"/family/messages/{delivery.thread_id}/")
    expect(page.get_by_role("main")).to_contain_text("ayudó a alguien.")
    expect(page.get_by_role("main")).to_contain_text("She helped a new student find lunch.")
    screenshot(page, "parent-good-news-es")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
