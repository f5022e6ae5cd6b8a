"""What a family receives by email and answers back: the email itself over real SMTP (text and HTML, its reply
address, one-click unsubscribe, no tracking, one connection per batch), machine translation against a fake
LibreTranslate server on 127.0.0.1, the positive-first question, and replies by email through the hook and the
Maildir command."""

import mailbox as maildir
import re
from collections.abc import Iterator
from email.message import EmailMessage
from io import StringIO
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from communication.forms import CHOSEN_FAMILIES
from communication.models import Direction, Interaction, Reply, Tone
from communication.services import send_message, send_notice
from communication.tests.conftest import NOW, log
from delivery.compose import email_of_unsubscribe_token, reply_address, thread_of_reply_address
from delivery.models import MESSAGE_MAX_LENGTH, Delivery, DeliveryChannel, DeliveryStatus, Message, Thread
from delivery.outbox import DeliveryOutcome, deliver, deliver_batch
from delivery.receivers import EmailReplyOutcome
from delivery.services import receive_email_reply
from homeroom.testing import Mailbox, free_port
from roster.tests.factories import EnrollmentFactory, GuardianFactory, StudentGuardianFactory

pytestmark = pytest.mark.usefixtures("on_a_wednesday_in_november")

BASE_URL = "https://homeroom.example.org"
REPLY_DOMAIN = "replies.example.org"
SECRET = "s3cret-for-the-mail-server"
# The fake LibreTranslate server knows these two sentences in Spanish (delivery/tests/test_translation.py).
SUBJECT, BODY = "Hello", "Maya read a whole book today."
SUBJECT_ES, BODY_ES = "Hola", "Maya leyó un libro entero hoy."


# --- People and helpers -----------------------------------------------------------------------------------------


def _family_in_class(world, *, language: str = "en", first_name: str = "Lia"):
    student = EnrollmentFactory(section=world.section, student__first_name=first_name).student
    guardian = GuardianFactory(preferred_language=language, email=f"{first_name.lower()}.family@example.org")
    StudentGuardianFactory(student=student, guardian=guardian)
    return guardian


def _send(world, **fields: Any):
    fields.setdefault("subject", SUBJECT)
    fields.setdefault("body", BODY)
    fields.setdefault("tone", Tone.NEUTRAL)
    if "guardian_ids" not in fields:
        fields.setdefault("section", world.section)
    return send_message(sender=world.people["teacher"], **fields)


def _deliver_queued() -> dict[int, DeliveryOutcome]:
    ids = list(Delivery.objects.filter(status=DeliveryStatus.QUEUED).order_by("id").values_list("id", flat=True))
    return deliver_batch(delivery_ids=ids, now=NOW)


def _parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(preferencelist=("plain",)), message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "the email needs a text and an HTML part"
    return text.get_content(), html.get_content()


def _reply(*, to: str, sender: str, body: str, message_id: str = "<r1@mail.example.com>", **headers: str) -> bytes:
    """A family's answer as its mail program sends it: its words above the quoted history."""
    email = EmailMessage()
    email["From"] = f"A Parent <{sender}>"
    email["To"] = to
    email["Subject"] = "Re: Hello"
    email["Message-ID"] = message_id
    for name, value in headers.items():
        email[name.replace("_", "-")] = value
    email.set_content(body)
    return email.as_bytes()


QUOTED = (
    "\n\nOn Wed, Nov 25, 2026 at 12:00 PM Teacher <teacher@example.org> wrote:\n"
    "> Maya read a whole book today.\n> Write back any time.\n"
)


def _family_replies() -> int:
    return Interaction.objects.filter(direction=Direction.FROM_FAMILY).count()


# --- A real SMTP server that notes each connection --------------------------------------------------------------


class CountingMailbox(Mailbox):
    """Keeps every message and the client end (host, port) of the connection it came over."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: list[tuple[str, int]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)

    @property
    def connections(self) -> int:
        return len(set(self.peers))

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in {a.addr_spec for a in m["To"].addresses}]


@pytest.fixture(scope="module")
def smtp_controller() -> Iterator[Controller]:
    controller = Controller(CountingMailbox(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def smtp(smtp_controller: Controller, settings) -> CountingMailbox:
    box = smtp_controller.handler
    box.messages.clear()
    box.peers.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", smtp_controller.port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.HOMEROOM_BASE_URL = BASE_URL
    return box


@pytest.fixture
def no_translator(settings) -> None:
    settings.HOMEROOM_TRANSLATION_BACKEND = "none"


@pytest.fixture
def replies_by_email(settings) -> None:
    settings.HOMEROOM_REPLY_DOMAIN = REPLY_DOMAIN
    settings.HOMEROOM_INBOUND_SECRET = SECRET


# --- 1. The email over SMTP -------------------------------------------------------------------------------------


def test_the_email_has_a_text_and_an_html_part_in_the_familys_language(world, smtp, no_translator):
    lia_family = _family_in_class(world, language="es")
    _send(world)
    assert smtp.messages == []

    assert set(_deliver_queued().values()) == {DeliveryOutcome.SENT}

    (email,) = smtp.to(lia_family.email)
    assert email.get_content_type() == "multipart/alternative"
    text, html = _parts(email)
    assert BODY in text and BODY in html
    assert '<html lang="es">' in html
    assert email["Content-Language"] == "es"


@pytest.mark.parametrize("reply_domain", [REPLY_DOMAIN, ""])
def test_answers_go_to_the_signed_reply_address_or_else_to_the_teacher(world, parent, smtp, settings, reply_domain):
    settings.HOMEROOM_REPLY_DOMAIN = reply_domain
    _send(world)

    _deliver_queued()

    (email,) = smtp.to(parent.email)
    thread = Thread.objects.get(guardian=parent)
    text, _html = _parts(email)
    if reply_domain:
        assert re.fullmatch(rf"reply\+{thread.pk}-[0-9a-f]{{20}}@{re.escape(REPLY_DOMAIN)}", email["Reply-To"])
        assert thread_of_reply_address([email["Reply-To"]]) == thread
        assert "You can also answer by replying to this email." in text
    else:
        assert email["Reply-To"] == world.people["teacher"].email
        assert "replying to this email" not in text


def test_a_teachers_message_has_one_click_unsubscribe_and_an_urgent_notice_has_none(world, parent, smtp):
    _send(world, subject="A note from 3A")
    send_notice(sender=world.people["leader"], school=world.school, subject="School closed", body="Snow.", urgent=True)

    _deliver_queued()

    by_subject = {email["Subject"]: email for email in smtp.to(parent.email)}
    note, notice = by_subject["A note from 3A"], by_subject["Urgent: School closed"]
    link = re.fullmatch(rf"<({re.escape(BASE_URL)}/unsubscribe/([^/>]+)/)>", note["List-Unsubscribe"].strip())
    assert link, note["List-Unsubscribe"]
    assert email_of_unsubscribe_token(link.group(2)) == parent.email
    assert note["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link.group(1) in _parts(note)[1]
    assert notice["List-Unsubscribe"] is None and notice["List-Unsubscribe-Post"] is None
    assert "/unsubscribe/" not in "".join(_parts(notice))


def test_the_email_tracks_nothing_and_links_only_to_homeroom(world, parent, smtp, settings):
    settings.HOMEROOM_REPLY_DOMAIN = REPLY_DOMAIN
    _send(world, body="Maya read a whole book today. See https://example.com/book too.")

    _deliver_queued()

    (email,) = smtp.to(parent.email)
    _text, html = _parts(email)
    assert "<img" not in html.lower() and "src=" not in html.lower()
    links = re.findall(r'href="([^"]*)"', html)
    assert len(links) == 2  # read and answer in Homeroom; stop emails like this one
    assert all(link.startswith(BASE_URL + "/") for link in links), links
    assert reverse("portal:conversation", args=[Thread.objects.get(guardian=parent).pk]) in links[0]


def test_the_family_sees_its_words_as_written_in_each_part(world, parent, smtp):
    _send(world, body="Tom & Jerry <b>loved</b> it.")

    _deliver_queued()

    text, html = _parts(smtp.to(parent.email)[0])
    assert "Tom & Jerry <b>loved</b> it." in text
    assert "Tom &amp; Jerry &lt;b&gt;loved&lt;/b&gt; it." in html and "<b>loved</b>" not in html


def test_a_batch_of_deliveries_goes_over_one_smtp_connection(world, smtp):
    for number in range(5):
        _family_in_class(world, first_name=f"Kid{number}")
    _send(world)

    outcomes = _deliver_queued()

    assert list(outcomes.values()) == [DeliveryOutcome.SENT] * 6
    assert len(smtp.messages) == 6
    assert smtp.connections == 1


def test_through_a_providers_api_tracking_is_off(world, parent, settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    _send(world)

    _deliver_queued()

    (email,) = mail.outbox
    assert email.to == [parent.email]
    assert email.anymail_test_params["track_opens"] is False
    assert email.anymail_test_params["track_clicks"] is False


def test_families_of_one_batch_each_get_their_own_links(world, smtp):
    families = [_family_in_class(world, first_name=f"Kid{number}") for number in range(3)]
    _send(world)

    _deliver_queued()

    for family in families:
        email = next(m for m in smtp.messages if m["To"] == family.email)
        text, html = _parts(email)
        thread = Thread.objects.get(guardian=family)
        token = email["List-Unsubscribe"].strip("<>").rstrip("/").rsplit("/", 1)[1]
        assert email_of_unsubscribe_token(token) == family.email
        for part in (text, html):
            assert f"{BASE_URL}/family/messages/{thread.pk}/" in part
            assert f"/unsubscribe/{token}/" in part
            assert ".invalid" not in part


def test_deliveries_sent_one_by_one_each_open_a_connection(world, smtp):
    _family_in_class(world)
    _send(world)

    for delivery_id in Delivery.objects.order_by("id").values_list("id", flat=True):
        assert deliver(delivery_id=delivery_id, now=NOW) == DeliveryOutcome.SENT

    assert (len(smtp.messages), smtp.connections) == (2, 2)  # the counting above can tell one from many


# --- 2. Machine translation -------------------------------------------------------------------------------------


def test_a_spanish_family_gets_the_machine_translation_and_an_english_one_the_original(world, parent, libretranslate):
    lia_family = _family_in_class(world, language="es")

    _send(world)

    spanish, english = Delivery.objects.get(guardian=lia_family), Delivery.objects.get(guardian=parent)
    assert (spanish.subject, spanish.body, spanish.machine_translated) == (SUBJECT_ES, BODY_ES, True)
    assert (english.subject, english.body, english.machine_translated) == (SUBJECT, BODY, False)
    assert Message.objects.get().body == BODY  # the teacher's words are kept as written


def test_the_spanish_email_is_the_translation_labelled_with_the_teachers_original(world, parent, libretranslate, smtp):
    lia_family = _family_in_class(world, language="es")
    _send(world)

    _deliver_queued()

    (spanish,) = smtp.to(lia_family.email)
    assert spanish["Subject"] == SUBJECT_ES
    for part in _parts(spanish):
        assert BODY_ES in part
        assert "Traducido automáticamente" in part
        assert BODY in part  # the original, one glance away
    (english,) = smtp.to(parent.email)
    assert english["Subject"] == SUBJECT
    assert not any("Machine-translated" in part or BODY_ES in part for part in _parts(english))


def test_each_language_is_translated_once_however_many_families_read_it(world, libretranslate):
    for name in ("Lia", "Mateo", "Sofia"):
        _family_in_class(world, language="es", first_name=name)
    _family_in_class(world, language="pt", first_name="Joao")

    sent = _send(world)

    assert sent.families == 5
    assert sorted(request["target"] for request in libretranslate.requests) == ["es", "pt"]
    assert libretranslate.requests[0]["q"] == [SUBJECT, BODY]
    assert Delivery.objects.filter(machine_translated=True).count() == 4


def test_when_the_translation_server_is_down_nothing_is_sent(world, libretranslate):
    _family_in_class(world, language="es")
    libretranslate.stop()

    with pytest.raises(ValidationError, match=r"Nothing was sent: The translation server could not be reached\."):
        _send(world)

    assert (Message.objects.count(), Delivery.objects.count(), Interaction.objects.count()) == (0, 0, 0)
    assert Thread.objects.count() == 0


def test_a_class_that_all_reads_english_is_not_held_up_by_a_translation_server_that_is_down(world, libretranslate):
    libretranslate.stop()

    sent = _send(world)

    assert sent.families == 1 and Delivery.objects.get().machine_translated is False
    assert libretranslate.requests == []


def test_without_a_translator_the_spanish_family_gets_the_original(world, no_translator):
    lia_family = _family_in_class(world, language="es")

    _send(world)

    delivery = Delivery.objects.get(guardian=lia_family)
    assert (delivery.subject, delivery.body, delivery.machine_translated) == (SUBJECT, BODY, False)
    assert delivery.language == "es"


@pytest.mark.parametrize(
    ("backend", "hint"),
    [
        ("none", "No machine translation is set up"),
        ("libretranslate", "Families who read another language get a machine translation"),
    ],
)
def test_the_new_message_page_says_whether_messages_are_translated(client, world, settings, backend, hint):
    settings.HOMEROOM_TRANSLATION_BACKEND = backend
    client.force_login(world.people["teacher"])

    page = client.get(reverse("communication:new_message"))

    assert page.status_code == 200 and hint in page.text


# --- 3. Seeing the translation ----------------------------------------------------------------------------------


def test_the_preview_shows_the_spanish_translation_and_sends_nothing(client, world, libretranslate):
    _family_in_class(world, language="es")
    client.force_login(world.people["teacher"])
    form = {"audience": f"class-{world.section.pk}", "subject": SUBJECT, "body": BODY, "tone": Tone.NEUTRAL}

    page = client.post(reverse("communication:new_message"), {**form, "preview": "1"})

    assert page.status_code == 200
    assert BODY_ES in page.text and "Machine-translated: they will see it labelled so" in page.text
    assert 'value="Hello"' in page.text  # the form is kept, ready to send
    assert (Message.objects.count(), Delivery.objects.count()) == (0, 0)


def test_a_preview_with_the_translation_server_down_explains_and_keeps_the_message(client, world, libretranslate):
    _family_in_class(world, language="es")
    libretranslate.stop()
    client.force_login(world.people["teacher"])
    form = {"audience": f"class-{world.section.pk}", "subject": SUBJECT, "body": BODY, "tone": Tone.NEUTRAL}

    page = client.post(reverse("communication:new_message"), {**form, "preview": "1"})

    assert page.status_code == 200 and "The translation server could not be reached." in page.text
    assert BODY in page.text and not Message.objects.exists()


def test_the_portal_shows_a_machine_translated_message_with_its_original(client, world, parent, libretranslate):
    parent.preferred_language = "es"
    parent.save(update_fields=["preferred_language"])
    _send(world)
    client.force_login(world.people["guardian"])

    page = client.get(reverse("portal:conversation", args=[Thread.objects.get(guardian=parent).pk]))

    assert page.status_code == 200
    translated, details = page.text.split('<details class="original">', 1)
    assert BODY_ES in translated
    original = details.split("</details>", 1)[0]
    assert "Show the original" in original and BODY in original and BODY_ES not in original


# --- 4. Positive first ------------------------------------------------------------------------------------------


def _post_to_parent(client, world, parent, tone: str, **extra: str):
    client.force_login(world.people["teacher"])
    form = {"audience": CHOSEN_FAMILIES, "families": [parent.pk], "subject": "Homework", "tone": tone}
    return client.post(reverse("communication:new_message"), {**form, "body": "Homework is missing.", **extra})


def test_a_concern_to_a_family_without_good_news_asks_first_and_is_sent_anyway_on_request(client, world, parent):
    asked = _post_to_parent(client, world, parent, Tone.CONCERN)

    assert asked.status_code == 200 and "Good news first?" in asked.text
    assert 'name="send_anyway"' in asked.text
    assert Message.objects.count() == 0

    sent = _post_to_parent(client, world, parent, Tone.CONCERN, send_anyway="1")

    assert sent.status_code == 302 and sent.url == reverse("communication:conversations")
    assert Interaction.objects.get(delivery__message=Message.objects.get()).tone == Tone.CONCERN
    assert Delivery.objects.get().guardian == parent


def test_a_concern_to_a_family_that_had_good_news_this_term_is_sent_at_once(client, world, parent):
    log(by=world.people["teacher"], guardian=parent, students=[world.student], tone=Tone.POSITIVE)

    response = _post_to_parent(client, world, parent, Tone.CONCERN)

    assert response.status_code == 302
    assert Interaction.objects.get(delivery__message=Message.objects.get()).tone == Tone.CONCERN


def test_a_positive_message_is_never_asked(client, world, parent):
    response = _post_to_parent(client, world, parent, Tone.POSITIVE)

    assert response.status_code == 302
    assert Interaction.objects.get(delivery__message=Message.objects.get()).tone == Tone.POSITIVE


def test_good_news_for_a_parent_living_apart_does_not_count_for_the_other_household(client, world, parent):
    father = GuardianFactory(email="father@example.org")
    StudentGuardianFactory(student=world.student, guardian=father, lives_with_student=False)
    log(by=world.people["teacher"], guardian=father, students=[world.student], tone=Tone.POSITIVE)

    response = _post_to_parent(client, world, parent, Tone.CONCERN)

    assert response.status_code == 200 and "Good news first?" in response.text
    assert Message.objects.count() == 0


# --- 5. Replies by email ----------------------------------------------------------------------------------------


@pytest.fixture
def thread(world, parent, replies_by_email, no_translator) -> Thread:
    """The teacher wrote to Ana's parent: their conversation, with its reply address."""
    _send(world, guardian_ids=[parent.pk])
    return Thread.objects.get(guardian=parent)


def test_the_reply_address_stands_only_for_its_own_conversation(world, thread):
    other = Thread.objects.create(staff=world.people["teacher"], guardian=_family_in_class(world), last_message_at=NOW)
    genuine = reply_address(thread.pk)
    number, signature = re.match(r"reply\+(\d+)-([0-9a-f]+)@", genuine).groups()
    tampered = genuine.replace(signature, signature[:-1] + ("0" if signature[-1] != "0" else "1"))

    assert thread_of_reply_address([genuine]) == thread
    assert thread_of_reply_address([genuine.upper()]) == thread  # mail servers may change the case
    assert thread_of_reply_address([tampered]) is None
    assert thread_of_reply_address([genuine.replace(f"+{number}-", f"+{other.pk}-")]) is None
    assert thread_of_reply_address([reply_address(other.pk)]) == other


def test_a_reply_from_the_familys_address_joins_its_conversation_without_the_quoted_history(world, parent, thread):
    raw = _reply(
        to=reply_address(thread.pk), sender="Guardian@Example.org", body="Thank you, we will read more." + QUOTED
    )

    assert receive_email_reply(raw) == EmailReplyOutcome.RECEIVED

    reply = Reply.objects.get()
    assert reply.thread == thread
    assert (reply.body, reply.channel) == ("Thank you, we will read more.", DeliveryChannel.EMAIL)
    interaction = reply.interaction
    assert (interaction.direction, interaction.guardian, interaction.channel) == (
        Direction.FROM_FAMILY,
        parent,
        "email",
    )
    assert list(interaction.students.all()) == [world.student]


def test_a_reply_from_another_address_is_not_trusted_with_the_conversation(thread):
    raw = _reply(to=reply_address(thread.pk), sender="someone.else@example.org", body="Send me her grades.")

    assert receive_email_reply(raw) == EmailReplyOutcome.NOT_THE_FAMILY

    assert (Reply.objects.count(), _family_replies()) == (0, 0)


def test_an_auto_reply_is_never_saved_or_answered(thread):
    raw = _reply(
        to=reply_address(thread.pk),
        sender="guardian@example.org",
        body="I am away until Monday.",
        Auto_Submitted="auto-replied",
    )

    assert receive_email_reply(raw) == EmailReplyOutcome.AUTOMATIC

    assert (Reply.objects.count(), _family_replies(), thread.deliveries.count()) == (0, 0, 1)


def test_the_same_email_received_twice_is_kept_once(thread):
    raw = _reply(to=reply_address(thread.pk), sender="guardian@example.org", body="See you Friday.")

    assert receive_email_reply(raw) == EmailReplyOutcome.RECEIVED
    assert receive_email_reply(raw) == EmailReplyOutcome.RECEIVED

    assert (Reply.objects.count(), _family_replies()) == (1, 1)


def test_an_oversized_reply_is_refused_and_nothing_is_saved(thread):
    too_long = _reply(to=reply_address(thread.pk), sender="guardian@example.org", body="x" * (MESSAGE_MAX_LENGTH + 1))
    just_fits = _reply(
        to=reply_address(thread.pk), sender="guardian@example.org", body="y" * MESSAGE_MAX_LENGTH, message_id="<r2@x>"
    )

    assert receive_email_reply(too_long) == EmailReplyOutcome.REFUSED
    assert (Reply.objects.count(), _family_replies()) == (0, 0)
    assert receive_email_reply(just_fits) == EmailReplyOutcome.RECEIVED


# --- 6. The mail server's hook ----------------------------------------------------------------------------------

HOOK = "/hooks/email/"


def test_the_hook_is_switched_off_without_a_secret(client, thread, settings):
    settings.HOMEROOM_INBOUND_SECRET = ""
    raw = _reply(to=reply_address(thread.pk), sender="guardian@example.org", body="Hi")

    response = client.post(HOOK, raw, content_type="message/rfc822", headers={"Authorization": "Bearer "})

    assert response.status_code == 404 and not Reply.objects.exists()


@pytest.mark.parametrize("authorization", ["Bearer wrong", "", f"Bearer {SECRET}x"])
def test_the_hook_refuses_a_wrong_secret(client, thread, authorization):
    raw = _reply(to=reply_address(thread.pk), sender="guardian@example.org", body="Hi")

    response = client.post(HOOK, raw, content_type="message/rfc822", headers={"Authorization": authorization})

    assert response.status_code == 403 and not Reply.objects.exists()


def test_the_hook_takes_the_raw_message_into_the_conversation(client, thread):
    raw = _reply(to=reply_address(thread.pk), sender="guardian@example.org", body="Yes, Friday works." + QUOTED)

    response = client.post(HOOK, raw, content_type="message/rfc822", headers={"Authorization": f"Bearer {SECRET}"})

    assert (response.status_code, response.content) == (200, b"received")
    assert list(thread.replies.values_list("body", flat=True)) == ["Yes, Friday works."]


@pytest.mark.parametrize("field", ["email", "body-mime"])
def test_the_hook_takes_a_providers_form_field(client, thread, field):
    raw = _reply(to=reply_address(thread.pk), sender="guardian@example.org", body="Thanks!")

    response = client.post(HOOK, {field: raw.decode()}, headers={"Authorization": f"Bearer {SECRET}"})

    assert (response.status_code, response.content) == (200, b"received")
    assert list(thread.replies.values_list("body", flat=True)) == ["Thanks!"]


def test_the_hook_answers_what_is_not_an_email_with_a_reason(client, thread):
    response = client.post(
        HOOK, b"\x00\x01 not an email", content_type="message/rfc822", headers={"Authorization": f"Bearer {SECRET}"}
    )

    assert response.status_code == 400 and "no From address" in response.content.decode()
    assert not Reply.objects.exists()


# --- 7. Replies from a Maildir ----------------------------------------------------------------------------------


def test_receive_replies_reads_a_maildir_into_the_conversations_and_empties_it(world, thread, tmp_path):
    lia_family = _family_in_class(world)
    _send(world, guardian_ids=[lia_family.pk])
    lia_thread = Thread.objects.get(guardian=lia_family)
    box = maildir.Maildir(tmp_path / "replies")
    box.add(_reply(to=reply_address(thread.pk), sender="guardian@example.org", body="From Ana's home."))
    box.add(_reply(to=reply_address(lia_thread.pk), sender=lia_family.email, body="From Lia's.", message_id="<r2@x>"))
    box.add(b"\x00\x01 not an email\n")
    out, err = StringIO(), StringIO()

    call_command("receive_replies", str(tmp_path / "replies"), stdout=out, stderr=err)

    assert list(thread.replies.values_list("body", flat=True)) == ["From Ana's home."]
    assert list(lia_thread.replies.values_list("body", flat=True)) == ["From Lia's."]
    assert len(maildir.Maildir(tmp_path / "replies", create=False)) == 0
    assert out.getvalue().strip() == "Replies read: 2 received, 1 unreadable."
    assert "no From address" in err.getvalue()


def test_receive_replies_refuses_a_folder_that_is_not_a_maildir(db, tmp_path):
    (tmp_path / "inbox").mkdir()

    with pytest.raises(CommandError, match="is not a Maildir"):
        call_command("receive_replies", str(tmp_path / "inbox"))


# --- 8. Bad input -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("line_break", ["\n", "\r\n", "\r"])
def test_a_subject_with_a_line_break_is_refused_and_nothing_is_sent(world, smtp, line_break):
    with pytest.raises(ValidationError, match="one line"):
        _send(world, subject=f"Trip{line_break}Bcc: everyone@example.org")

    assert (Message.objects.count(), Delivery.objects.count()) == (0, 0)
    _deliver_queued()
    assert smtp.messages == []


def test_a_body_over_the_limit_is_refused_and_one_at_the_limit_is_sent(world):
    with pytest.raises(ValidationError, match=f"under {MESSAGE_MAX_LENGTH} characters"):
        _send(world, body="x" * (MESSAGE_MAX_LENGTH + 1))
    assert not Message.objects.exists()

    _send(world, body="x" * MESSAGE_MAX_LENGTH)
    assert len(Delivery.objects.get().body) == MESSAGE_MAX_LENGTH


def test_a_guardian_phone_must_be_e164(db):
    with pytest.raises(ValidationError) as refused:
        GuardianFactory.build(phone="(617) 555-0123").full_clean()
    assert "phone" in refused.value.message_dict

    GuardianFactory.build(phone="+16175550123").full_clean()
