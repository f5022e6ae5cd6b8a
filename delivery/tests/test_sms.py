"""Text messages: the backends, the keywords families text back, and the check that a webhook comes from Twilio.

The Twilio backend talks to a real HTTP server on 127.0.0.1 that answers like Twilio's Messages API, so the
twilio package's own request building, auth and error parsing are what is tested, not a mock of them."""

import base64
import datetime
import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from audit.models import AccessEvent
from communication.conversations import reply_from_family
from communication.models import Direction, Interaction, Reply, Tone, UnroutedReason, UnroutedReply
from communication.selectors import placements_for
from communication.services import send_message
from communication.tests.conftest import NOW
from delivery.compose import reply_code
from delivery.models import Delivery, PhoneOptOut, Thread
from delivery.outbox import deliver_batch
from delivery.sms import (
    ConsoleSmsBackend,
    Keyword,
    MemorySmsBackend,
    SentSms,
    SmsError,
    TwilioSmsBackend,
    is_valid_twilio_request,
    keyword_of,
    sms_backend,
)
from homeroom.testing import count_security_probes
from roster.models import Guardian

ACCOUNT_SID = "AC00000000000000000000000000000001"
AUTH_TOKEN = "secret-auth-token"
FROM_NUMBER = "+15555550100"
FAMILY = "+15555550123"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
HOUR, DAY = datetime.timedelta(hours=1), datetime.timedelta(days=1)


@dataclass
class ReceivedRequest:
    method: str
    path: str
    authorization: str
    form: dict[str, list[str]]


@dataclass
class FakeTwilio:
    """What the server received, and what it answers next."""

    url: str = ""
    received: list[ReceivedRequest] = field(default_factory=list)
    status: int = 201
    payload: dict[str, Any] = field(default_factory=dict)
    delay_seconds: float = 0.0

    def answer(self, status: int, payload: dict[str, Any]) -> None:
        self.status, self.payload = status, payload


def _handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            fake.received.append(ReceivedRequest("POST", self.path, self.headers.get("Authorization", ""), form))
            time.sleep(fake.delay_seconds)
            payload = fake.payload
            if fake.status == 201:
                payload = {"sid": f"SM{len(fake.received):032d}", "status": "queued", "to": form["To"][0]}
            body = json.dumps(payload).encode()
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
            pass

    return Handler


@pytest.fixture
def fake_twilio(settings, monkeypatch) -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    fake.url = f"http://{host}:{port}"
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # a proxy set in CI must not swallow the local calls
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.TWILIO_API_URL = fake.url
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def empty_outbox(monkeypatch) -> Iterator[list[SentSms]]:
    MemorySmsBackend.outbox.clear()
    monkeypatch.setattr(MemorySmsBackend, "fail_with", None)
    yield MemorySmsBackend.outbox
    MemorySmsBackend.outbox.clear()


# The Twilio backend


def test_twilio_backend_posts_the_text_to_the_messages_api_and_returns_its_sid(fake_twilio):
    assert fake_twilio.received == []

    sid = TwilioSmsBackend().send(to=FAMILY, body="Maya read her first chapter book today!")

    assert sid == "SM" + "1".zfill(32)
    [request] = fake_twilio.received
    assert request.method == "POST"
    assert request.path == MESSAGES_PATH
    assert request.authorization == "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request.form == {"To": [FAMILY], "From": [FROM_NUMBER], "Body": ["Maya read her first chapter book today!"]}


def test_twilio_backend_keeps_a_path_in_the_gateway_url(fake_twilio, settings):
    settings.TWILIO_API_URL = fake_twilio.url + "/gateway/"

    TwilioSmsBackend().send(to=FAMILY, body="Hello")

    assert [request.path for request in fake_twilio.received] == ["/gateway" + MESSAGES_PATH]


def test_twilio_backend_ignores_edge_and_region_with_a_gateway_url(fake_twilio, monkeypatch):
    # Twilio's client would otherwise rewrite 127.0.0.1 into a *.twilio.com host name.
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    monkeypatch.setenv("TWILIO_REGION", "ie1")

    TwilioSmsBackend().send(to=FAMILY, body="Hello")

    assert len(fake_twilio.received) == 1


def test_an_invalid_number_is_a_permanent_failure_with_twilios_message(fake_twilio):
    fake_twilio.answer(400, {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400})

    with pytest.raises(SmsError) as raised:
        TwilioSmsBackend().send(to="+1555", body="Hello")

    assert raised.value.temporary is False
    assert raised.value.code == 21211
    assert "The 'To' number is not a valid phone number." in str(raised.value)
    assert "21211" in str(raised.value)


def test_a_family_that_texted_stop_is_a_permanent_failure(fake_twilio):
    fake_twilio.answer(
        400,
        {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400},
    )

    with pytest.raises(SmsError) as raised:
        TwilioSmsBackend().send(to=FAMILY, body="Hello")

    assert (raised.value.temporary, raised.value.code) == (False, 21610)
    assert "Attempt to send to unsubscribed recipient" in str(raised.value)


@pytest.mark.parametrize(
    ("status", "payload"),
    [
        (429, {"code": 20429, "message": "Too Many Requests", "status": 429}),
        (503, {"code": 20503, "message": "Service Unavailable", "status": 503}),
        (500, {}),
    ],
)
def test_too_many_requests_and_server_errors_are_temporary(fake_twilio, status, payload):
    fake_twilio.answer(status, payload)

    with pytest.raises(SmsError) as raised:
        TwilioSmsBackend().send(to=FAMILY, body="Hello")

    assert raised.value.temporary is True
    assert len(fake_twilio.received) == 1  # the client does not retry by itself: our queue does


def test_the_same_text_goes_through_once_twilio_recovers(fake_twilio):
    fake_twilio.answer(503, {"code": 20503, "message": "Service Unavailable", "status": 503})
    with pytest.raises(SmsError):
        TwilioSmsBackend().send(to=FAMILY, body="Hello")

    fake_twilio.answer(201, {})

    assert TwilioSmsBackend().send(to=FAMILY, body="Hello").startswith("SM")


def test_an_unreachable_service_is_a_temporary_failure(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    host, port = server.server_address[:2]
    server.server_close()  # nothing listens on that port any more
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT_SID, AUTH_TOKEN
    settings.TWILIO_API_URL = f"http://{host}:{port}"

    with pytest.raises(SmsError) as raised:
        TwilioSmsBackend().send(to=FAMILY, body="Hello")

    assert raised.value.temporary is True
    assert raised.value.code is None


def test_a_service_that_does_not_answer_in_time_is_a_temporary_failure(fake_twilio, monkeypatch):
    monkeypatch.setattr(TwilioSmsBackend, "timeout_seconds", 0.1)
    fake_twilio.delay_seconds = 0.5

    started = time.monotonic()
    with pytest.raises(SmsError) as raised:
        TwilioSmsBackend().send(to=FAMILY, body="Hello")

    assert raised.value.temporary is True
    assert time.monotonic() - started < 0.5


# The development and test backends


def test_console_backend_prints_the_text(capsys):
    message_id = ConsoleSmsBackend().send(to=FAMILY, body="Field trip tomorrow.\nBring a lunch.")

    assert capsys.readouterr().out == f"To: {FAMILY}\nField trip tomorrow.\nBring a lunch.\n"
    assert message_id.startswith("console-")
    assert len(message_id) == len("console-") + 32


def test_console_backend_gives_each_text_its_own_id(capsys):
    backend = ConsoleSmsBackend()
    assert backend.send(to=FAMILY, body="One") != backend.send(to=FAMILY, body="Two")


def test_memory_backend_keeps_what_every_instance_sent(empty_outbox):
    assert empty_outbox == []

    first = MemorySmsBackend().send(to=FAMILY, body="One")
    second = MemorySmsBackend().send(to="+15555550124", body="Two")

    assert MemorySmsBackend.outbox == [
        SentSms(to=FAMILY, body="One", id=first),
        SentSms(to="+15555550124", body="Two", id=second),
    ]
    assert first != second


def test_memory_backend_raises_the_failure_it_was_given_and_sends_nothing(empty_outbox, monkeypatch):
    failure = SmsError("Twilio is down", temporary=True)
    monkeypatch.setattr(MemorySmsBackend, "fail_with", failure)

    with pytest.raises(SmsError) as raised:
        MemorySmsBackend().send(to=FAMILY, body="Hello")

    assert raised.value is failure
    assert empty_outbox == []
    monkeypatch.setattr(MemorySmsBackend, "fail_with", None)
    MemorySmsBackend().send(to=FAMILY, body="Hello")
    assert len(empty_outbox) == 1


@pytest.mark.parametrize(
    ("dotted_path", "backend_class"),
    [
        ("delivery.sms.ConsoleSmsBackend", ConsoleSmsBackend),
        ("delivery.sms.MemorySmsBackend", MemorySmsBackend),
        ("delivery.sms.TwilioSmsBackend", TwilioSmsBackend),
    ],
)
def test_the_backend_is_the_one_the_settings_name(settings, dotted_path, backend_class):
    settings.HOMEROOM_SMS_BACKEND = dotted_path
    assert type(sms_backend()) is backend_class


def test_the_backend_sends_through_the_settings_choice(settings, empty_outbox):
    settings.HOMEROOM_SMS_BACKEND = "delivery.sms.MemorySmsBackend"

    message_id = sms_backend().send(to=FAMILY, body="Hello")

    assert empty_outbox == [SentSms(to=FAMILY, body="Hello", id=message_id)]


# Keywords a family texts back


@pytest.mark.parametrize(
    "text",
    [
        "stop",
        "STOP",
        "Stop",
        " stop ",
        "stop.",
        "Stop!",
        "STOP!!!",
        "\tstop\n",
        "stopall",
        "STOP ALL",
        "unsubscribe",
        "Cancel",
        "end",
        "QUIT",
        "optout",
        "opt out",
        "Opt-Out",
        "opt  out",
        "revoke",
        "alto",
        "ALTO!",
        "¡Alto!",
        "no mas",
        "No más",
        "NO MÁS!",
        "no, más",
        "parar",
        "detener",
        "baja",
        "cancelar",
        "Cancelar.",
    ],
)
def test_opt_out_words_are_stop(text):
    assert keyword_of(text) is Keyword.STOP


@pytest.mark.parametrize(
    "text",
    [
        "start",
        "START",
        "Start.",
        "unstop",
        "UNSTOP",
        "yes",
        "Yes!",
        "subscribe",
        "resume",
        "comenzar",
        "iniciar",
        "reanudar",
        "Reanudar",
    ],
)
def test_opt_in_words_are_start(text):
    assert keyword_of(text) is Keyword.START


@pytest.mark.parametrize("text", ["help", "HELP", "Help?", "info", "INFO", "ayuda", "¡Ayuda!", " Ayuda "])
def test_help_words_are_help(text):
    assert keyword_of(text) is Keyword.HELP


@pytest.mark.parametrize(
    "text",
    [
        "Stop texting me please",
        "please stop",
        "stop stop",
        "Can you help me with the homework?",
        "yes, I can come at 3",
        "No",
        "no más tarea por favor",
        "si",
        "sí",
        "Sí",
        "Sí!",
        "ok",
        "stopped",
        "nomás",
        "Thank you!",
        "",
        "   ",
        "!!!",
        "2",
    ],
)
def test_replies_that_are_not_a_keyword_are_none(text):
    assert keyword_of(text) is None


def test_keywords_are_their_lowercase_names():
    assert [str(keyword) for keyword in Keyword] == ["stop", "start", "help"]


# Webhook signatures

HOOK_URL = "https://homeroom.example.org/hooks/sms/"
HOOK_PARAMS = {"From": FAMILY, "To": FROM_NUMBER, "Body": "STOP", "MessageSid": "SM" + "9" * 32}


@pytest.fixture
def twilio_token(settings) -> str:
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    return AUTH_TOKEN


def test_a_request_signed_by_twilio_is_valid(twilio_token):
    signature = RequestValidator(twilio_token).compute_signature(HOOK_URL, HOOK_PARAMS)

    assert is_valid_twilio_request(url=HOOK_URL, params=HOOK_PARAMS, signature=signature) is True


def test_a_request_with_changed_params_is_not_valid(twilio_token):
    signature = RequestValidator(twilio_token).compute_signature(HOOK_URL, HOOK_PARAMS)
    tampered = {**HOOK_PARAMS, "Body": "START"}

    assert is_valid_twilio_request(url=HOOK_URL, params=HOOK_PARAMS, signature=signature) is True
    assert is_valid_twilio_request(url=HOOK_URL, params=tampered, signature=signature) is False


def test_a_request_for_another_url_is_not_valid(twilio_token):
    signature = RequestValidator(twilio_token).compute_signature(HOOK_URL, HOOK_PARAMS)

    assert is_valid_twilio_request(url=HOOK_URL + "?x=1", params=HOOK_PARAMS, signature=signature) is False


def test_a_tampered_signature_is_not_valid(twilio_token):
    signature = RequestValidator(twilio_token).compute_signature(HOOK_URL, HOOK_PARAMS)
    tampered = ("A" if signature[0] != "A" else "B") + signature[1:]

    assert is_valid_twilio_request(url=HOOK_URL, params=HOOK_PARAMS, signature=tampered) is False
    assert is_valid_twilio_request(url=HOOK_URL, params=HOOK_PARAMS, signature="") is False


def test_a_signature_made_with_another_token_is_not_valid(twilio_token):
    signature = RequestValidator("another-token").compute_signature(HOOK_URL, HOOK_PARAMS)

    assert is_valid_twilio_request(url=HOOK_URL, params=HOOK_PARAMS, signature=signature) is False


def test_nothing_is_valid_without_an_auth_token(settings):
    settings.TWILIO_AUTH_TOKEN = ""
    # Signed with the empty token: would pass if an empty token were used to check it.
    signature = RequestValidator("").compute_signature(HOOK_URL, HOOK_PARAMS)

    assert is_valid_twilio_request(url=HOOK_URL, params=HOOK_PARAMS, signature=signature) is False


# --- Texts back from a number two families share ----------------------------------------------------------------
#
# Ana's parent (3A, the teacher's class) and Ben's parent (3B, the other teacher's) have one mobile between them: a
# grandmother who looks after both children, say. A text back from it must reach the conversation it answers.

SHARED_PHONE = "+16175550177"
SMS_AUTH_TOKEN = "test-twilio-auth-token"


@pytest.fixture
def two_families(world, settings, empty_outbox) -> tuple[Guardian, Guardian]:
    settings.HOMEROOM_SMS_BACKEND = "delivery.sms.MemorySmsBackend"
    settings.TWILIO_AUTH_TOKEN = SMS_AUTH_TOKEN
    ana_parent = Guardian.objects.get(user=world.people["guardian"])
    ben_parent = Guardian.objects.get(user=world.people["other_family"])
    for guardian in (ana_parent, ben_parent):
        guardian.phone, guardian.preferred_channel = SHARED_PHONE, "sms"
        guardian.save(update_fields=["phone", "preferred_channel"])
    return ana_parent, ben_parent


def _text_family(sender, guardian: Guardian, *, at: datetime.datetime, body: str = "Ana read a whole book.") -> Thread:
    """A member of staff texts one family member at a given moment; the text goes out at once."""
    with time_machine.travel(at, tick=False):
        sent = send_message(sender=sender, guardian_ids=[guardian.pk], subject="Today", body=body, tone=Tone.POSITIVE)
        ids = list(Delivery.objects.filter(message=sent.message).values_list("id", flat=True))
        deliver_batch(delivery_ids=ids)
    return Thread.objects.get(staff=sender, guardian=guardian)


def _text_back(client, body: str, *, sid: str = "SM" + "7" * 32, phone: str = SHARED_PHONE):
    params = {"From": phone, "To": "+15555550100", "Body": body, "MessageSid": sid}
    path = reverse("delivery:incoming_text")
    signature = RequestValidator(SMS_AUTH_TOKEN).compute_signature(settings.HOMEROOM_BASE_URL + path, params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def _answer(response) -> str:
    match = re.search(r"<Message>(.*)</Message>", response.text, re.DOTALL)
    return match.group(1) if match else ""


def test_a_reply_goes_to_the_conversation_that_last_texted_the_number_not_the_newest(client, world, two_families):
    ana_parent, ben_parent = two_families
    ben_thread = _text_family(world.people["other_teacher"], ben_parent, at=NOW - datetime.timedelta(days=6))
    ana_thread = _text_family(world.people["teacher"], ana_parent, at=NOW - datetime.timedelta(days=2))
    # Ben's parent then wrote in the portal: Ben's conversation is the newest, but no text came from it since.
    reply_from_family(user=world.people["other_family"], thread=ben_thread, body="Thanks!", now=NOW - HOUR)

    response = _text_back(client, "Wonderful, she loves that series")

    assert response.status_code == 200 and _answer(response) == ""
    reply = Reply.objects.get(channel="sms")
    assert reply.thread == ana_thread and reply.body == "Wonderful, she loves that series"
    assert list(reply.interaction.students.all()) == [world.student]


def test_two_families_texted_the_same_day_and_the_reply_waits_for_staff(client, world, two_families):
    ana_parent, ben_parent = two_families
    ana_thread = _text_family(world.people["teacher"], ana_parent, at=NOW - 3 * HOUR)
    ben_thread = _text_family(world.people["other_teacher"], ben_parent, at=NOW - 2 * HOUR)

    response = _text_back(client, "Yes, Friday is fine")

    assert "reached the school" in _answer(response) and "#1234" in _answer(response)
    assert not Reply.objects.exists() and not Interaction.objects.filter(direction=Direction.FROM_FAMILY).exists()
    waiting = UnroutedReply.objects.get()
    assert (waiting.sender, waiting.body, waiting.reason, waiting.channel) == (
        SHARED_PHONE,
        "Yes, Friday is fine",
        UnroutedReason.SHARED_NUMBER,
        "sms",
    )
    assert set(waiting.candidates.all()) == {ana_thread, ben_thread}
    _text_back(client, "Yes, Friday is fine")  # Twilio sending it again
    assert UnroutedReply.objects.count() == 1


def test_a_text_to_a_shared_number_carries_a_code_and_a_reply_with_it_is_placed_at_once(client, world, two_families):
    ana_parent, ben_parent = two_families
    ana_thread = _text_family(world.people["teacher"], ana_parent, at=NOW - 3 * HOUR)
    ben_thread = _text_family(world.people["other_teacher"], ben_parent, at=NOW - 2 * HOUR)
    ana_text = next(sms for sms in MemorySmsBackend.outbox if "Ana read" in sms.body)
    code = reply_code(ana_thread.pk)
    assert f"start your reply with #{code}." in ana_text.body
    assert reply_code(ben_thread.pk) != code

    response = _text_back(client, f"#{code} Thank you so much!")

    assert _answer(response) == ""
    reply = Reply.objects.get()
    assert (reply.thread, reply.body) == (ana_thread, "Thank you so much!")
    assert not UnroutedReply.objects.exists()


def test_a_number_only_one_family_has_gets_no_code(world, two_families):
    ana_parent, ben_parent = two_families
    ben_parent.phone = "+16175550199"
    ben_parent.save(update_fields=["phone"])

    _text_family(world.people["teacher"], ana_parent, at=NOW - HOUR)

    assert "share this number" not in MemorySmsBackend.outbox[-1].body


def test_the_teacher_sees_the_waiting_reply_with_only_their_family_and_places_it(client, world, two_families):
    ana_parent, ben_parent = two_families
    ana_thread = _text_family(world.people["teacher"], ana_parent, at=NOW - 3 * HOUR)
    ben_thread = _text_family(world.people["other_teacher"], ben_parent, at=NOW - 2 * HOUR)
    _text_back(client, "Yes, Friday is fine")
    waiting = UnroutedReply.objects.get()
    client.force_login(world.people["teacher"])

    page = client.get(reverse("communication:unrouted_replies"))

    assert page.status_code == 200 and "Yes, Friday is fine" in page.text and SHARED_PHONE in page.text
    assert f'value="{ana_thread.pk}"' in page.text and "family of Ana" in page.text
    assert f'value="{ben_thread.pk}"' not in page.text and "Ben" not in page.text
    place = reverse("communication:place_unrouted", args=[waiting.pk])
    assert client.post(place, {"thread": ben_thread.pk}).status_code == 404  # not a conversation of theirs to see
    assert client.post(place, {"thread": "²"}).status_code == 404

    response = client.post(place, {"thread": ana_thread.pk})

    assert response.status_code == 302
    reply = Reply.objects.get()
    assert (reply.thread, reply.body, reply.channel) == (ana_thread, "Yes, Friday is fine", "sms")
    assert reply.interaction.direction == Direction.FROM_FAMILY
    assert list(reply.interaction.students.all()) == [world.student]
    waiting.refresh_from_db()
    assert (waiting.reply, waiting.handled_by) == (reply, world.people["teacher"])
    assert "Yes, Friday is fine" not in client.get(reverse("communication:unrouted_replies")).text
    assert client.post(place, {"thread": ana_thread.pk}).status_code == 404  # placed once
    assert AccessEvent.objects.filter(actor=world.people["teacher"], what__startswith="placed a waiting").exists()


@pytest.mark.security
def test_a_teacher_of_another_school_sees_none_of_the_waiting_replies(client, world, two_families):
    ana_parent, ben_parent = two_families
    ana_thread = _text_family(world.people["teacher"], ana_parent, at=NOW - 3 * HOUR)
    ben_thread = _text_family(world.people["other_teacher"], ben_parent, at=NOW - 2 * HOUR)
    _text_back(client, "Yes, Friday is fine")
    waiting = UnroutedReply.objects.get()
    outsiders = [world.people[name] for name in ("far_teacher", "other_leader", "stranger")]
    leaks = probes = 0
    for outsider in outsiders:
        client.force_login(outsider)
        page = client.get(reverse("communication:unrouted_replies"))
        probes += 1
        leaks += int("Friday" in page.text or SHARED_PHONE in page.text)
        for thread in (ana_thread, ben_thread):
            response = client.post(reverse("communication:place_unrouted", args=[waiting.pk]), {"thread": thread.pk})
            probes += 1
            leaks += int(response.status_code not in (403, 404))
        response = client.post(reverse("communication:place_unrouted", args=[waiting.pk]), {"set_aside": "1"})
        probes += 1
        leaks += int(response.status_code not in (403, 404))
    count_security_probes("who-is-this queue, out of reach", probes=probes, leaks=leaks)

    assert leaks == 0
    waiting.refresh_from_db()
    assert waiting.handled_at is None and not Reply.objects.exists()


def test_a_reply_never_enters_a_conversation_closed_to_the_family(client, world, two_families):
    ana_parent, ben_parent = two_families
    ben_thread = _text_family(world.people["other_teacher"], ben_parent, at=NOW - 6 * DAY)
    ana_thread = _text_family(world.people["teacher"], ana_parent, at=NOW - 2 * DAY)
    ana_parent.student_links.update(contact_allowed=False)  # a court order since

    _text_back(client, "When is the trip?")

    assert not Reply.objects.exists()
    waiting = UnroutedReply.objects.get()
    assert waiting.reason == UnroutedReason.CLOSED
    assert placements_for(staff=world.people["teacher"], unrouted=waiting) == []  # nowhere to put it on Ana's side
    [placement] = placements_for(staff=world.people["other_teacher"], unrouted=waiting)
    assert placement.thread == ben_thread
    client.force_login(world.people["teacher"])
    response = client.post(reverse("communication:place_unrouted", args=[waiting.pk]), {"thread": ana_thread.pk})
    assert response.status_code == 404 and not Reply.objects.exists()


def test_a_portal_restriction_closes_the_conversation_to_texts_too(client, world, two_families):
    ana_parent, _ben_parent = two_families
    _text_family(world.people["teacher"], ana_parent, at=NOW - 2 * DAY)
    ana_parent.student_links.update(portal_access_allowed=False)

    _text_back(client, "When is the trip?")

    assert not Reply.objects.exists()
    assert UnroutedReply.objects.get().reason == UnroutedReason.CLOSED


def test_staff_set_aside_a_reply_that_is_nobodys(client, world, two_families):
    ana_parent, ben_parent = two_families
    _text_family(world.people["teacher"], ana_parent, at=NOW - 3 * HOUR)
    _text_family(world.people["other_teacher"], ben_parent, at=NOW - 2 * HOUR)
    _text_back(client, "Who is this? Wrong number")
    waiting = UnroutedReply.objects.get()
    client.force_login(world.people["teacher"])

    client.post(reverse("communication:place_unrouted", args=[waiting.pk]), {"set_aside": "1"})

    waiting.refresh_from_db()
    assert waiting.handled_by == world.people["teacher"] and waiting.reply is None and not Reply.objects.exists()


def test_a_text_with_nul_bytes_is_stored_without_them(client, world, two_families):
    ana_parent, ben_parent = two_families
    ben_parent.phone = "+16175550199"
    ben_parent.save(update_fields=["phone"])
    ana_thread = _text_family(world.people["teacher"], ana_parent, at=NOW - HOUR)

    response = _text_back(client, "See\x00 you\x1b Friday\x00", sid="SM\x00" + "8" * 32)

    assert response.status_code == 200
    reply = Reply.objects.get()
    assert (reply.thread, reply.body, reply.external_id) == (ana_thread, "See you Friday", "SM" + "8" * 32)


def test_a_delivery_report_with_nul_bytes_or_a_number_too_long_is_no_error(client, two_families):
    path = reverse("delivery:text_status")
    params = {"MessageSid": "SM\x00x", "MessageStatus": "deliv\x00ered", "ErrorCode": "\x00"}
    signature = RequestValidator(SMS_AUTH_TOKEN).compute_signature(settings.HOMEROOM_BASE_URL + path, params)

    assert client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 204
    assert _text_back(client, "STOP", phone="+1" + "6" * 40).status_code == 400


# --- Property-based: whatever Twilio (or someone with its token) posts, no 500 and nothing stored broken --------

_STORED_BROKEN = re.compile(r"[\x00-\x08\x0b-\x1f]")
_any_text = st.text(st.characters(codec="utf-8"), max_size=80)  # NUL, CR and the other controls included


def _broken_rows() -> int:
    broken = sum(
        int(bool(_STORED_BROKEN.search(reply.body + reply.external_id + reply.interaction.summary)))
        for reply in Reply.objects.select_related("interaction")
    )
    broken += sum(
        int(bool(_STORED_BROKEN.search(waiting.body + waiting.sender + waiting.external_id)))
        for waiting in UnroutedReply.objects.all()
    )
    phones = PhoneOptOut.objects.values_list("phone", flat=True)
    return broken + sum(int(bool(_STORED_BROKEN.search(phone))) for phone in phones)


@pytest.mark.security
def test_no_text_or_delivery_report_whatever_its_fields_is_a_500_or_stored_broken(world, two_families):
    ana_parent, ben_parent = two_families
    ana_thread = _text_family(world.people["teacher"], ana_parent, at=NOW - 3 * HOUR)
    _text_family(world.people["other_teacher"], ben_parent, at=NOW - 2 * HOUR)
    lone_parent = Guardian.objects.get(user=world.people["restricted_guardian"])  # a number of one family member
    lone_parent.phone = "+16175550155"
    lone_parent.save(update_fields=["phone"])
    client = Client(raise_request_exception=False)
    sids = itertools.count()
    seen: list[tuple[Any, int]] = []
    code = reply_code(ana_thread.pk)

    @st.composite
    def requests(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
        """A text or a delivery report, well made but for one field, or none: most examples reach the database."""
        noisy = draw(st.sampled_from([None, None, "From", "Body", "MessageSid", "extra", "MessageStatus", "ErrorCode"]))

        def field(name: str, common: Any) -> Any:
            return draw(_any_text if noisy == name else common)

        if draw(st.sampled_from(["text", "text", "text", "report"])) == "report":
            params = {
                "MessageSid": field("MessageSid", st.sampled_from(["SM" + "0" * 32, ""])),
                "MessageStatus": field("MessageStatus", st.sampled_from(["delivered", "failed", "undelivered"])),
                "ErrorCode": field("ErrorCode", st.sampled_from(["30003", ""])),
            }
            return "text_status", params
        body = draw(
            st.sampled_from(["STOP", "start", "Ayuda", "Yes", ""]) | _any_text | _any_text.map(lambda t: f"#{code} {t}")
        )
        params = {
            "From": field("From", st.sampled_from([SHARED_PHONE, SHARED_PHONE, "+16175550155", "+16175550999"])),
            "To": "+15555550100",
            "Body": field("Body", st.just(body)),
            "MessageSid": field("MessageSid", st.builds(lambda: f"SM{next(sids):032d}")),
        }
        if noisy == "extra":
            params = {**draw(st.dictionaries(_any_text, _any_text, min_size=1, max_size=2)), **params}
        return "incoming_text", params

    @hypothesis_settings(max_examples=80)
    @given(request=requests())
    def post(request: tuple[str, dict[str, str]]) -> None:
        name, params = request
        path = reverse(f"delivery:{name}")
        signature = RequestValidator(SMS_AUTH_TOKEN).compute_signature(settings.HOMEROOM_BASE_URL + path, params)
        response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
        seen.append((request, response.status_code))

    post()
    server_errors = [example for example, status in seen if status >= 500]
    broken = _broken_rows()
    count_security_probes("inbound email and texts fuzzed", probes=len(seen), errors=len(server_errors) + broken)

    assert server_errors == [] and broken == 0
    assert Reply.objects.exists() and UnroutedReply.objects.exists()  # the examples reached both


def test_digits_that_are_no_reply_code_do_not_hide_the_code_later_in_the_text(client, world, two_families):
    ana_parent, ben_parent = two_families
    _text_family(world.people["teacher"], ana_parent, at=NOW - 3 * HOUR)
    ben_thread = _text_family(world.people["other_teacher"], ben_parent, at=NOW - 2 * HOUR)
    code = reply_code(ben_thread.pk)
    not_a_code = next(digits for digits in ("1530", "1545", "1600") if digits != code)

    _text_back(client, f"{not_a_code} works for me #{code}")

    reply = Reply.objects.get()
    assert (reply.thread, reply.body) == (ben_thread, f"{not_a_code} works for me")


def test_a_reply_closed_to_the_family_is_acknowledged_without_naming_anyone(client, world, two_families):
    ana_parent, ben_parent = two_families
    ben_parent.phone = "+16175550199"
    ben_parent.save(update_fields=["phone"])
    _text_family(world.people["teacher"], ana_parent, at=NOW - HOUR)
    ana_parent.student_links.update(contact_allowed=False)

    answer = _answer(_text_back(client, "Is Ana okay?"))

    assert answer == "Maple Elementary: thank you, your message reached the school."
    assert not Reply.objects.exists() and UnroutedReply.objects.get().reason == UnroutedReason.CLOSED


def test_the_waiting_replies_page_reads_a_fixed_number_of_queries_however_many_wait(client, world, two_families):
    ana_parent, ben_parent = two_families
    _text_family(world.people["teacher"], ana_parent, at=NOW - 3 * HOUR)
    _text_family(world.people["other_teacher"], ben_parent, at=NOW - 2 * HOUR)
    _text_back(client, "Yes, Friday is fine")
    waiting = UnroutedReply.objects.get()
    client.force_login(world.people["teacher"])

    def queries_of_the_page() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("communication:unrouted_replies")).status_code == 200
        return len(queries)

    one = queries_of_the_page()
    for n in range(6):
        more = UnroutedReply.objects.create(
            channel=waiting.channel,
            sender=waiting.sender,
            body=f"Another answer {n}",
            reason=waiting.reason,
            received_at=waiting.received_at,
            external_id=f"SM-more-{n}",
        )
        more.candidates.set(waiting.candidates.all())
        more.students.set(waiting.students.all())

    assert queries_of_the_page() == one
