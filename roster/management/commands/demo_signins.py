"""`manage.py demo_signins`: who to sign in as, printed by `make run` before the server starts.

Prints nothing when the demo school (`manage.py seed_demo`) is not in the database.
"""

from typing import Any

from django.core.management.base import BaseCommand

from accounts.models import User
from roster.demo import DEMO_PASSWORD, SCHOOL_NAME
from roster.models import School

URL = "http://127.0.0.1:8000/"

# (label, email, what they show)
STAFF_SIGNINS = [
    ("Teacher", "teacher@example.org", "Kindergarten A and Grade 1A"),
    ("Counselor", "counselor@example.org", "a caseload of 15 students"),
    ("School leader", "leader@example.org", "the whole school, and the admin site at /admin/"),
    ("District admin", "district@example.org", "the whole district"),
]
PARENT_SIGNINS = [
    ("Parent", "parent@example.org", "two children, pages in English"),
    ("Spanish-speaking parent", "padre@example.org", "pages in Spanish"),
    ("Restricted parent", "restricted@example.org", "a no-contact order, so sees no child"),
]


class Command(BaseCommand):
    help = "Lists the demo school's sign-ins, if the demo school is loaded."

    def handle(self, *args: Any, **options: Any) -> None:
        if not School.objects.filter(name=SCHOOL_NAME).exists():
            return
        emails = [email for _label, email, _note in STAFF_SIGNINS + PARENT_SIGNINS]
        names = dict(User.objects.filter(email__in=emails, is_active=True).values_list("email", "full_name"))
        if not names:
            return
        width = max(len(label) for label, _email, _note in STAFF_SIGNINS + PARENT_SIGNINS)

        def rows(signins: list[tuple[str, str, str]]) -> list[str]:
            return [
                f"    {label:<{width}}  {email:<23}  {names[email]}: {note}"
                for label, email, note in signins
                if email in names
            ]

        lines = ["", self.style.SUCCESS(f"Homeroom demo: {SCHOOL_NAME}, at {URL}")]
        if staff := rows(STAFF_SIGNINS):
            lines += [f"  Staff sign in with their email and the password {DEMO_PASSWORD}:", *staff]
        if parents := rows(PARENT_SIGNINS):
            lines += [
                "  Parents sign in with a one-time code sent by email; in development (make run)",
                "  the email is printed in this terminal:",
                *parents,
            ]
        self.stdout.write("\n".join([*lines, ""]))
