from typing import Any

from django.core.management.base import BaseCommand

from communication.services import deliver_pending


class Command(BaseCommand):
    help = (
        "Queues again every delivery a lost worker held and every one whose time has come. Run it every few "
        "minutes (cron or a systemd timer): nothing queued is lost with a worker, and nothing is sent twice."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = deliver_pending()
        self.stdout.write(f"{count} deliveries queued.")
