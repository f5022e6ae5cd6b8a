"""The one way delivery speaks to the app above it. Delivery knows nothing of contacts or of what a conversation
means: the app that writes to families registers a receiver at start-up (in its AppConfig.ready), and delivery
asks it what each copy is about, tells it when a copy moved to another channel, and hands it what families send
back. Without one, a copy is about none of the family's children and nothing sent back is taken."""

import datetime
from collections.abc import Sequence
from enum import StrEnum

from delivery.inbound import InboundEmail
from delivery.models import Delivery, Thread
from roster.models import Guardian


class EmailReplyOutcome(StrEnum):
    RECEIVED = "received"
    AUTOMATIC = "automatic"  # an auto-reply or a bounce: never answered, to keep mail from looping
    UNKNOWN_CONVERSATION = "unknown conversation"
    # From another address than the family's: not trusted with its thread, it waits for staff to say whose it is.
    NOT_THE_FAMILY = "not the family"
    WAITING = "waiting for staff"  # the conversation is closed to the family member: staff see it, it enters none
    REFUSED = "refused"  # empty, oversized, or the teacher no longer teaches the children


class Receiver:
    """What delivery asks of the app above, and what it does while none is registered: a copy is about none of
    the family's children (so any child the school may contact the family about will do) and nothing sent back
    is taken. The app above subclasses it and registers its own."""

    def students_about(self, deliveries: Sequence[Delivery]) -> dict[int, set[int]]:
        """The children each copy is about, by delivery id; a copy about none (a school notice) is left out."""
        return {}

    def channel_changed(self, delivery: Delivery, channel: str) -> None:
        """A copy went on by another channel: what the app recorded of it follows."""

    def email_reply(self, email: InboundEmail, *, thread: Thread, now: datetime.datetime | None) -> EmailReplyOutcome:
        """A family's emailed answer to a conversation, its reply address checked."""
        return EmailReplyOutcome.UNKNOWN_CONVERSATION

    def text_reply(
        self,
        *,
        phone: str,
        guardians: Sequence[Guardian],
        body: str,
        message_sid: str,
        school_name: str,
        now: datetime.datetime,
    ) -> str:
        """A family's text that is not a keyword; returns the answer to text back, in the active language."""
        return ""


_receiver = Receiver()


def register(receiver: Receiver) -> None:
    global _receiver  # set once, at start-up
    _receiver = receiver


def receiver() -> Receiver:
    return _receiver
