"""Text messages to families: one small interface, a backend per provider, and the keywords families text back.

HOMEROOM_SMS_BACKEND names the backend: the console one prints (development), the memory one keeps what was
sent (tests), the Twilio one sends. Every backend raises SmsError, which says whether trying later may help."""

import re
import sys
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Protocol

import requests
from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client


class SmsError(Exception):
    """A text that was not sent. `temporary`: the same text may go through later (provider busy or unreachable);
    otherwise it never will as it is (a bad number, a family that texted STOP). `code` is the provider's error
    code where it gave one, e.g. Twilio's 21610 for a recipient who has opted out."""

    def __init__(self, message: str, *, temporary: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.code = code


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str) -> str:
        """Sends `body` to `to` (E.164, e.g. +15555550123) and returns the provider's message id.
        Raises SmsError."""
        ...


class ConsoleSmsBackend:
    """Development: prints each text instead of sending it."""

    def send(self, *, to: str, body: str) -> str:
        # sys.stdout looked up on each call, so runserver's and pytest's replacements are honoured.
        sys.stdout.write(f"To: {to}\n{body}\n")
        sys.stdout.flush()
        return f"console-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class SentSms:
    to: str
    body: str
    id: str


class MemorySmsBackend:
    """Tests: keeps each text in `MemorySmsBackend.outbox`, like Django's locmem email backend keeps mail.outbox.
    Shared by every instance, so a test sees what code it called sent; clear it in the test's setup.
    Set `fail_with` to an SmsError to make every send raise it (and send nothing)."""

    outbox: ClassVar[list[SentSms]] = []
    fail_with: ClassVar[SmsError | None] = None

    def send(self, *, to: str, body: str) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        sent = SentSms(to=to, body=body, id=f"memory-{uuid.uuid4().hex}")
        self.outbox.append(sent)
        return sent.id


class TwilioSmsBackend:
    """Sends through Twilio's Messages API, or a Twilio-compatible gateway at TWILIO_API_URL."""

    # Connect and read timeout. Twilio answers a create in well under a second; a worker must not hang on it.
    # A read timeout may come after Twilio accepted the text, so a retry can send it twice: rare, and a second
    # copy beats a family never hearing.
    timeout_seconds: ClassVar[float] = 10.0

    def __init__(self) -> None:
        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=TwilioHttpClient(timeout=self.timeout_seconds),
        )
        if settings.TWILIO_API_URL:
            # The `api` domain (api.twilio.com, where Messages live) builds every URL from its base_url when a
            # request is made, so replacing it sends all Messages calls to the gateway. Edge and region
            # (TWILIO_EDGE / TWILIO_REGION in the environment) rewrite the host name: they mean nothing here.
            self.client.api.base_url = settings.TWILIO_API_URL
            self.client.edge = None
            self.client.region = None

    def send(self, *, to: str, body: str) -> str:
        try:
            message = self.client.messages.create(to=to, from_=settings.TWILIO_FROM_NUMBER, body=body)
        except TwilioRestException as error:
            raise _twilio_error(error.status, error.code, _twilio_message(error.msg)) from error
        except TwilioServiceException as error:  # newer APIs answer in RFC 9457's shape
            raise _twilio_error(error.status, error.code, error.detail or error.title) from error
        except requests.RequestException as error:
            # Twilio never judged the text (no connection, no answer in time): it may go through later.
            raise SmsError(
                _("Could not reach the text message service: %(error)s") % {"error": error}, temporary=True
            ) from error
        return str(message.sid)


def _twilio_message(msg: object) -> str:
    # The client puts its own words before Twilio's ("Unable to create record: The 'To' number is not ...").
    return str(msg).removeprefix("Unable to create record: ")


def _twilio_error(status: int, code: int | None, message: str) -> SmsError:
    # Too many requests, or Twilio's own trouble: later may work. Any other 4xx is about this text or this
    # number (21211 not a valid number, 21610 the family texted STOP): sending it again changes nothing.
    temporary = status == 429 or status >= 500
    text = _("The text message service refused the text (error %(code)s): %(message)s") % {
        "code": code or status,
        "message": message,
    }
    return SmsError(text, temporary=temporary, code=code)


def sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.HOMEROOM_SMS_BACKEND)()
    return backend


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


# A keyword is the whole text, never a word inside a longer one: "Stop texting me please" is a reply for the
# teacher. Twilio and the carriers apply the same rule to their own keywords.
_KEYWORDS: dict[str, Keyword] = {
    # Twilio's opt-out words block the number at Twilio itself, so we must stop too; the Spanish ones Twilio
    # does not know, so only we can honour them. Stopping on a word too many is the safe side.
    **dict.fromkeys(
        [
            "stop",
            "stopall",
            "stop all",
            "unsubscribe",
            "cancel",
            "end",
            "quit",
            "optout",
            "opt out",
            "revoke",
            "alto",
            "no mas",
            "parar",
            "detener",
            "baja",
            "cancelar",
        ],
        Keyword.STOP,
    ),
    # Opting back in is the side to be careful with. "yes" is here because Twilio lifts its block on YES (with
    # START and UNSTOP): were we to ignore it, Twilio would deliver while we still thought the family had left.
    # "si" is not: Twilio does not lift its block on it, and "Sí" is the everyday answer to a teacher's
    # question, not a request to be texted again.
    **dict.fromkeys(
        ["start", "unstop", "yes", "subscribe", "resume", "comenzar", "iniciar", "reanudar"],
        Keyword.START,
    ),
    **dict.fromkeys(["help", "info", "ayuda"], Keyword.HELP),
}

# Punctuation, spaces, emoji: around the text ("¡Alto!", " stop ") or between words ("opt-out", "no, más").
_NOT_A_WORD = re.compile(r"[\W_]+")


def keyword_of(text: str) -> Keyword | None:
    """The keyword a family's whole text is, ignoring case, accents, spacing and punctuation; None for a reply."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    words = _NOT_A_WORD.sub(" ", bare).strip()
    return _KEYWORDS.get(words)


def is_valid_twilio_request(*, url: str, params: Mapping[str, str], signature: str) -> bool:
    """Whether a webhook call really comes from Twilio: `signature` (the X-Twilio-Signature header) must be
    Twilio's signature of the full `url` it called and the POSTed `params`, made with our auth token."""
    if not settings.TWILIO_AUTH_TOKEN or not signature:
        return False  # without a token nothing can be checked, so nothing is trusted
    return bool(RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature))
