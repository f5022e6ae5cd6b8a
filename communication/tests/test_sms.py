"""Text messages: the backends, the keywords families text back, and the check that a webhook comes from Twilio.

The Twilio backend talks to a real HTTP server on 127.0.0.1 that answers like Twilio's Messages API, so the
twilio package's own request building, auth and error parsing are what is tested, not a mock of them."""

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from twilio.request_validator import RequestValidator

from communication.sms import (
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

ACCOUNT_SID = "AC00000000000000000000000000000001"
AUTH_TOKEN = "secret-auth-token"
FROM_NUMBER = "+15555550100"
FAMILY = "+15555550123"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


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
        ("communication.sms.ConsoleSmsBackend", ConsoleSmsBackend),
        ("communication.sms.MemorySmsBackend", MemorySmsBackend),
        ("communication.sms.TwilioSmsBackend", TwilioSmsBackend),
    ],
)
def test_the_backend_is_the_one_the_settings_name(settings, dotted_path, backend_class):
    settings.HOMEROOM_SMS_BACKEND = dotted_path
    assert type(sms_backend()) is backend_class


def test_the_backend_sends_through_the_settings_choice(settings, empty_outbox):
    settings.HOMEROOM_SMS_BACKEND = "communication.sms.MemorySmsBackend"

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
