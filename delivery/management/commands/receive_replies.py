import mailbox
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from delivery.inbound import InboundEmailError
from delivery.services import receive_email_reply


class Command(BaseCommand):
    help = (
        "Reads families' emailed replies from a Maildir (where the mail server delivers reply+…@ addresses) into "
        "their conversations. Each message read is removed from the Maildir; run it every minute or two."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("maildir", type=Path, help="The Maildir the reply address delivers to.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["maildir"]
        if not (path / "new").is_dir():
            raise CommandError(f"{path} is not a Maildir (it has no new/ folder).")
        box = mailbox.Maildir(path, create=False)
        outcomes: dict[str, int] = {}
        for key in list(box.iterkeys()):
            # Removed only once read into its conversation (or judged unreadable): a crash reads it again, and
            # a message read twice is kept once.
            try:
                outcome = receive_email_reply(box.get_bytes(key)).value
            except InboundEmailError as error:
                outcome = "unreadable"
                self.stderr.write(f"{key}: {error}")
            box.remove(key)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())) or "none"
        self.stdout.write(f"Replies read: {summary}.")
