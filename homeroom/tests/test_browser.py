"""Homeroom in a real browser: signing in, what each person sees, accessibility (WCAG 2.2 AA), phone widths.

Run only these: pytest -m browser. See conftest.py here for the harness."""

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from accounts.models import User
from homeroom.tests.conftest import Mailbox

if TYPE_CHECKING:
    from conftest import World

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
    expect(page).to_have_url(re.compile(r"/classes/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Classes")
    screenshot(page, "class-list")

    page.get_by_role("link", name=world.section.name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(world.section.name)
    screenshot(page, "class-page")

    page.get_by_role("link", name=world.student.display_name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(world.student.display_name)
    family_section = page.get_by_role("region", name="Family")
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
    "parent-home": ("guardian", lambda world: "/family/"),
    "child-page": ("guardian", lambda world: f"/family/children/{world.student.id}/"),
    "leader-overview": ("leader", lambda world: "/leader/"),
    "two-factor": ("teacher", lambda world: "/accounts/2fa/"),
    "two-factor-setup": ("teacher", lambda world: "/accounts/2fa/totp/activate/"),
    "password-change": ("teacher", lambda world: "/accounts/password/change/"),
}


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


@pytest.mark.parametrize("name", ["class-page", "parent-home"])
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
