from typing import Any

from django.core.management.base import BaseCommand

from delivery.outbox import deliver_pending


class Command(BaseCommand):
    help = (
        "Queues again every delivery a lost worker held (its claim lapsed), every retry whose time has come (those "
        "given up after the retry window too, while still worth a try) and every delivery due. Run it every minute "
        "or two (cron or a systemd timer): nothing queued is lost with a worker or an outage, nor sent twice."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = deliver_pending()
        self.stdout.write(f"{count} deliveries queued.")
