from django.core.management.base import BaseCommand

from intake.services import remind_families


class Command(BaseCommand):
    help = "Sends one reminder to each family that was asked about its child some days ago and has not answered."

    def handle(self, *args: object, **options: object) -> None:
        count = remind_families()
        self.stdout.write(f"Reminded {count} families.")
