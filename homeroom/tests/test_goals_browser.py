"""A Spanish-speaking parent opens their child's goal on a phone, agrees to it and says what they did at home; the
teacher sees both on the goal's page."""

from urllib.parse import urlsplit

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from goals.models import CheckIn
from goals.selectors import family_link
from goals.services import add_home_activity, approve_translation, save_goal
from goals.tests.conftest import goal_fields
from homeroom.tests.test_browser import WCAG_22_AA
from roster.tests.factories import GuardianFactory, StudentGuardianFactory


def test_a_spanish_speaking_parent_agrees_to_the_goal_on_a_phone_and_the_teacher_sees_it(
    phone_page, page, world, sign_in_as, screenshot
):
    teacher, parent = world.people["teacher"], world.people["guardian"]
    parent.language = "es"
    parent.save(update_fields=["language"])
    goal = save_goal(author=teacher, student=world.student, fields=goal_fields())
    add_home_activity(user=teacher, goal=goal, key="read_together")
    approve_translation(
        user=teacher,
        goal=goal,
        language="es",
        words={
            "statement": "Ana leerá en voz alta un texto de su grado a 60 palabras correctas por minuto.",
            "measure": "Palabras leídas correctamente en un minuto",
            "unit": "palabras por minuto",
            "school_strategies": "Lectura en parejas cada día.",
            "home_strategies": "Lean juntos 15 minutos.",
        },
        machine_drafted=True,
    )

    sign_in_as(phone_page, parent)
    phone_page.goto(f"/family/children/{world.student.id}/")
    phone_page.locator("main").get_by_role("link", name="Lectura").click()
    expect(phone_page.locator("html")).to_have_attribute("lang", "es")
    expect(phone_page.locator(".goal-statement")).to_contain_text("Ana leerá en voz alta")
    expect(phone_page.locator("main")).to_contain_text("Lean juntos 15 minutos")
    expect(phone_page.locator("svg[role=img]")).to_be_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
    results = Axe().run(
        phone_page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}, "resultTypes": ["violations"]}
    )
    assert results.violations_count == 0, results.generate_report()
    screenshot(phone_page, "family-goal-es")

    phone_page.locator("main form[action$='/agree/'] button").click()
    expect(phone_page.locator(".messages")).to_be_visible()
    phone_page.locator("main textarea[id^=done-]").fill("Leímos un cuento de dinosaurios.")
    phone_page.locator("main form[action$='/done/'] button").click()
    expect(phone_page.locator(".messages")).to_be_visible()
    goal.refresh_from_db()
    assert goal.acknowledged_by.user == parent
    assert CheckIn.objects.get(goal=goal).note == "Leímos un cuento de dinosaurios."

    sign_in_as(page, teacher)
    page.goto(f"/goals/{goal.id}/")
    expect(page.locator("main")).to_contain_text("agreed to help")
    expect(page.locator(".goal-data")).to_contain_text("Leímos un cuento de dinosaurios.")
    screenshot(page, "goal-after-family")


def test_the_smart_check_answers_as_the_teacher_writes_and_the_goal_is_saved_as_written(
    page, world, sign_in_as, screenshot
):
    sign_in_as(page, world.people["teacher"])
    page.goto(f"/students/{world.student.id}/goals/new/?example=reading_fluency_early")
    smart = page.locator("#smart")
    expect(smart).to_contain_text("Add where the child is now")

    page.get_by_label("Where the child is now").fill("20")
    page.get_by_label("The goal, in plain words").fill("Ana will read better.")

    expect(smart).to_contain_text("does not say how much")
    expect(smart).to_contain_text("times the baseline")
    expect(smart).not_to_contain_text("Add where the child is now")
    screenshot(page, "smart-check-live")
    page.get_by_role("button", name="Save the goal").click()
    expect(page.locator("h1")).to_contain_text("Reading")
    assert world.student.goals.get().statement == "Ana will read better."


def test_the_class_goals_fit_a_phone_with_long_names_and_long_statuses(phone_page, world, sign_in_as):
    world.student.first_name, world.student.last_name = "Maximiliano-Alejandro", "Fernández-Castellanos"
    world.student.save(update_fields=["first_name", "last_name"])
    save_goal(author=world.people["teacher"], student=world.student, fields=goal_fields(target=None))
    sign_in_as(phone_page, world.people["teacher"])

    phone_page.goto(f"/classes/{world.section.id}/goals/")

    expect(phone_page.locator("main")).to_contain_text("Not measured yet")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375


def test_a_spanish_speaking_parent_with_no_account_opens_the_goal_from_their_link_on_a_phone(
    phone_page, world, screenshot
):
    teacher = world.people["teacher"]
    parent = GuardianFactory(first_name="Rosa", preferred_language="es")
    StudentGuardianFactory(student=world.student, guardian=parent, is_primary_contact=False)
    goal = save_goal(author=teacher, student=world.student, fields=goal_fields(families_may_measure=True))
    approve_translation(
        user=teacher,
        goal=goal,
        language="es",
        words={"statement": "Ana leerá en voz alta a 60 palabras correctas por minuto.", "unit": "palabras por minuto"},
        machine_drafted=False,
    )

    phone_page.goto(urlsplit(family_link(goal, parent)).path)

    expect(phone_page.locator("html")).to_have_attribute("lang", "es")
    expect(phone_page.locator(".goal-statement")).to_contain_text("Ana leerá en voz alta")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone_page, "family-goal-link-es")
    phone_page.get_by_role("button", name="Estamos de acuerdo y vamos a ayudar").click()
    expect(phone_page.locator(".messages")).to_contain_text("Gracias")
    phone_page.get_by_label("Su conteo").fill("48")
    phone_page.get_by_label("Lo que ve en casa").fill("Leyó una página entera.")
    phone_page.get_by_role("button", name="Enviar al maestro(a)").click()
    expect(phone_page.locator(".messages")).to_be_visible()

    goal.refresh_from_db()
    assert goal.acknowledged_by == parent
    checkin = CheckIn.objects.get(goal=goal)
    assert (checkin.value, checkin.note, checkin.by_guardian) == (48, "Leyó una página entera.", parent)
