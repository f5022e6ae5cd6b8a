"""Reading a family's emailed reply from raw bytes: who sent it, to whom, only the new text, and the files that
came with it (named, never kept); then the mail server's hook, with its own size limit, taking real-sized mail."""

import itertools
import json
import random
import re
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from communication.models import Reply, UnroutedReason, UnroutedReply
from communication.tests.conftest import NOW
from delivery.compose import reply_address
from delivery.inbound import InboundEmailError, read_email
from delivery.models import MESSAGE_MAX_LENGTH, Thread
from homeroom.testing import count_security_probes
from roster.models import Guardian


def reply(body: str, headers: dict[str, str] | None = None) -> bytes:
    """A plain-text reply from María, as bytes off the wire."""
    message = EmailMessage()
    message["From"] = "María García <Maria.Garcia@Example.com>"
    message["To"] = "reply+s42@homeroom.example"
    message["Subject"] = "Re: Field trip"
    message["Message-ID"] = "<reply-1@example.com>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes()


# --- Mail as real clients send it --------------------------------------------------------------------------------

GMAIL_SPANISH = b"""\
Delivered-To: Reply+S42@homeroom.example
MIME-Version: 1.0
Date: Mon, 23 Nov 2026 16:12:40 -0500
References: <intro-7@homeroom.example>
In-Reply-To: <intro-7@homeroom.example>
Message-ID: <CAF3x9Q+abc123@mail.gmail.com>
Subject: =?UTF-8?Q?Re=3A_Reuni=C3=B3n_de_padres?=
From: =?UTF-8?Q?Mar=C3=ADa_Garc=C3=ADa?= <Maria.Garcia@gmail.com>
To: "Ms. Rivera" <reply+s42@homeroom.example>
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f60718"

--000000000000a1b2c3d4e5f60718
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

=C2=BFCu=C3=A1ndo es la reuni=C3=B3n?

Gracias,
Mar=C3=ADa

El lun, 23 nov 2026 a las 15:05, Ms. Rivera (<
rivera@maple.example>) escribi=C3=B3:

> Hola familia Garc=C3=ADa:
> La reuni=C3=B3n es pronto.

--000000000000a1b2c3d4e5f60718
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">=C2=BFCu=C3=A1ndo es la reuni=C3=B3n?<div><br></div><div>Gr=
acias,</div><div>Mar=C3=ADa</div></div><br><div class=3D"gmail_quote"><div =
dir=3D"ltr" class=3D"gmail_attr">El lun, 23 nov 2026 a las 15:05, Ms. Rivera=
 (&lt;<a href=3D"mailto:rivera@maple.example">rivera@maple.example</a>&gt;) =
escribi=C3=B3:<br></div><blockquote class=3D"gmail_quote">Hola familia Garc=
=C3=ADa</blockquote></div>

--000000000000a1b2c3d4e5f60718--
"""

# Outlook desktop in Spanish: CRLF line ends, Latin-1, the quoted history under a "De: / Enviado:" block.
OUTLOOK_SPANISH = b"""\
From: =?iso-8859-1?Q?Mar=EDa_Garc=EDa?= <maria.garcia@outlook.com>
To: Ms. Rivera <reply+s42@homeroom.example>
CC: "Jorge Garcia" <Jorge.Garcia@outlook.com>
Subject: RE: =?iso-8859-1?Q?Reuni=F3n_de_padres?=
Thread-Topic: =?iso-8859-1?Q?Reuni=F3n_de_padres?=
Thread-Index: AQHbPZ8XyZ1n2l0y8kK6h3nH9Q==
Date: Mon, 23 Nov 2026 21:40:02 +0000
Message-ID: <MN2PR04MB6991A1B2C3D4E5F6@MN2PR04MB6991.namprd04.prod.outlook.com>
Content-Language: es-US
X-MS-Has-Attach:
Content-Type: multipart/alternative;
\tboundary="_000_MN2PR04MB6991A1B2C3D4E5F6MN2PR04MB6991namp_"
MIME-Version: 1.0

--_000_MN2PR04MB6991A1B2C3D4E5F6MN2PR04MB6991namp_
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Gracias por avisar. Llegar=E9 a las 4.

Saludos,
Mar=EDa

De: Ms. Rivera <reply+s42@homeroom.example>
Enviado: lunes, 23 de noviembre de 2026 15:05
Para: Mar=EDa Garc=EDa <maria.garcia@outlook.com>
Asunto: Reuni=F3n de padres

Hola familia Garc=EDa: la reuni=F3n es el jueves.

--_000_MN2PR04MB6991A1B2C3D4E5F6MN2PR04MB6991namp_
Content-Type: text/html; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

<html><head><style>p.MsoNormal {margin:0in;}</style></head><body><p class=3D"MsoNormal">Gracias =
por avisar.</p></body></html>

--_000_MN2PR04MB6991A1B2C3D4E5F6MN2PR04MB6991namp_--
""".replace(b"\n", b"\r\n")

# iPhone Mail, base64 body, delivered through an MTA pipe with the mbox "From " envelope line still on top.
APPLE_IPHONE = b"""\
From jorge@icloud.example  Mon Nov 23 16:20:11 2026
Return-Path: <jorge@icloud.example>
X-Original-To: rivera@homeroom.example
Delivered-To: rivera@homeroom.example
From: Jorge Garcia <jorge@icloud.example>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64
Mime-Version: 1.0 (1.0)
Date: Mon, 23 Nov 2026 16:20:05 -0500
Subject: Re: Field trip
Message-Id: <5E0C1F2A-4B3D-4C5E-9F60-7A8B9C0D1E2F@icloud.example>
In-Reply-To: <intro-7@homeroom.example>
To: reply+s42@homeroom.example
X-Mailer: iPhone Mail (22B91)

WWVzLCBTYW0gY2FuIGdvIG9uIHRoZSB0cmlwLiBUaGFua3MhCgpTZW50IGZyb20gbXkgaVBob25l
Cgo+IE9uIE5vdiAyMywgMjAyNiwgYXQgMzowNSBQTSwgTXMuIFJpdmVyYSA8cml2ZXJhQG1hcGxl
LmV4YW1wbGU+IHdyb3RlOgo+IAo+IENhbiBTYW0gam9pbiB0aGUgZmllbGQgdHJpcD8K
"""

HTML_ONLY = b"""\
From: Dana Lee <dana.lee@example.net>
To: reply+s51@homeroom.example
Subject: Re: Late pass
Message-ID: <webmail-99@example.net>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>Re: Late pass</title><style>div { font-family: Arial; }</style></head>
<body><div>Hi Ms.&nbsp;Rivera,</div><div><br></div><div>Sam will be late tomorrow &amp; needs a
    pass.<br>Thank you!</div>
<div><br></div><div>On Mon, Nov 23, 2026 at 3:05 PM Ms. Rivera &lt;rivera@maple.example&gt; wrote:<br></div>
<blockquote style="margin:0 0 0 .8ex"><div>Dear families, picture day is on Friday.</div></blockquote>
</body></html>
"""

EXCHANGE_OUT_OF_OFFICE = b"""\
From: Maria Garcia <maria.garcia@outlook.com>
To: reply+s42@homeroom.example
Subject: Automatic reply: Field trip
Message-ID: <oof-1@outlook.com>
Auto-Submitted: auto-replied
X-MS-Exchange-Inbox-Rules-Loop: maria.garcia@outlook.com
Content-Type: text/plain; charset="us-ascii"

I am out of the office until Monday.
"""

GMAIL_BOUNCE = b"""\
From: Mail Delivery Subsystem <MAILER-DAEMON@googlemail.com>
To: reply+s42@homeroom.example
Subject: Delivery Status Notification (Failure)
Message-ID: <dsn-1@mx.google.com>
MIME-Version: 1.0
Content-Type: multipart/report; boundary="00000000000001f2e3"; report-type=delivery-status

--00000000000001f2e3
Content-Type: text/plain; charset="UTF-8"

Address not found

Your message wasn't delivered to old.address@gmail.com because the address couldn't be found.

--00000000000001f2e3
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Final-Recipient: rfc822; old.address@gmail.com
Action: failed
Status: 5.1.1

--00000000000001f2e3
Content-Type: message/rfc822

From: reply+s42@homeroom.example
To: old.address@gmail.com
Subject: Field trip

Can Sam join the field trip?

--00000000000001f2e3--
"""


def test_a_gmail_reply_in_spanish_gives_the_new_text_with_its_accents():
    email = read_email(GMAIL_SPANISH)
    assert email.text == "¿Cuándo es la reunión?\n\nGracias,\nMaría"
    assert email.sender == "maria.garcia@gmail.com"
    assert email.recipients == ["reply+s42@homeroom.example"]  # To and Delivered-To are one address
    assert email.subject == "Re: Reunión de padres"
    assert email.message_id == "<CAF3x9Q+abc123@mail.gmail.com>"
    assert email.auto_submitted is False


def test_a_spanish_outlook_reply_is_read_from_latin_1_and_cut_at_its_de_block():
    email = read_email(OUTLOOK_SPANISH)
    assert email.text == "Gracias por avisar. Llegaré a las 4.\n\nSaludos,\nMaría"
    assert email.sender == "maria.garcia@outlook.com"
    assert email.recipients == ["reply+s42@homeroom.example", "jorge.garcia@outlook.com"]
    assert email.subject == "RE: Reunión de padres"


def test_an_iphone_reply_in_base64_stops_at_sent_from_my_iphone():
    email = read_email(APPLE_IPHONE)
    assert email.text == "Yes, Sam can go on the trip. Thanks!"
    assert email.sender == "jorge@icloud.example"
    assert email.recipients == ["reply+s42@homeroom.example", "rivera@homeroom.example"]
    assert email.message_id == "<5E0C1F2A-4B3D-4C5E-9F60-7A8B9C0D1E2F@icloud.example>"


def test_an_html_only_reply_becomes_text_with_its_line_breaks():
    email = read_email(HTML_ONLY)
    assert email.text == "Hi Ms. Rivera,\n\nSam will be late tomorrow & needs a pass.\nThank you!"


def test_an_html_blockquote_is_dropped_as_quoted_history_even_without_an_attribution():
    html = "<div>See you Friday.</div><blockquote type='cite'><div>Dear families,</div></blockquote><p>Ana</p>"
    message = EmailMessage()
    message["From"] = "ana@example.com"
    message.set_content(html, subtype="html")
    assert read_email(message.as_bytes()).text == "See you Friday.\nAna"


def test_the_plain_part_is_preferred_to_the_html_part():
    message = EmailMessage()
    message["From"] = "ana@example.com"
    message.set_content("Plain words.")
    message.add_alternative("<p>Rich words.</p>", subtype="html")
    assert read_email(message.as_bytes()).text == "Plain words."


def test_attachments_are_ignored_even_a_text_one():
    message = EmailMessage()
    message["From"] = "ana@example.com"
    message.set_content("The signed form is attached.")
    message.add_attachment(b"%PDF-1.7 ...", maintype="application", subtype="pdf", filename="form.pdf")
    message.add_attachment("Allergies: peanuts", filename="notes.txt")
    assert message.get_content_type() == "multipart/mixed"
    assert read_email(message.as_bytes()).text == "The signed form is attached."


def test_8bit_utf_8_without_a_declared_charset_is_still_read():
    raw = "From: ana@example.com\nSubject: hola\n\nGracias, María\n".encode()
    assert read_email(raw).text == "Gracias, María"


# --- Sender and recipients ---------------------------------------------------------------------------------------


def test_the_sender_is_the_bare_lower_cased_address():
    assert read_email(reply("Hi")).sender == "maria.garcia@example.com"


def test_recipients_come_from_to_cc_delivered_to_and_x_original_to_in_order_each_once():
    headers = {
        "Cc": "Nana <nana@Example.com>, REPLY+S42@homeroom.example",
        "Delivered-To": "reply+s42@homeroom.example",
        "X-Original-To": "Rivera@Homeroom.example",
    }
    email = read_email(reply("Hi", headers))
    assert email.recipients == ["reply+s42@homeroom.example", "nana@example.com", "rivera@homeroom.example"]


def test_a_display_name_with_a_comma_does_not_split_the_address():
    email = read_email(reply("Hi", {"Cc": '"García, Jorge" <jorge@example.com>, office@maple.example'}))
    assert email.recipients == ["reply+s42@homeroom.example", "jorge@example.com", "office@maple.example"]


# --- Auto-replies and bounces ------------------------------------------------------------------------------------


def test_an_out_of_office_reply_is_auto_submitted():
    email = read_email(EXCHANGE_OUT_OF_OFFICE)
    assert email.auto_submitted is True
    assert email.text == "I am out of the office until Monday."


def test_a_bounce_from_mailer_daemon_is_auto_submitted_and_reads_its_human_part():
    email = read_email(GMAIL_BOUNCE)
    assert email.auto_submitted is True
    assert email.sender == "mailer-daemon@googlemail.com"
    assert email.text == (
        "Address not found\n\n"
        "Your message wasn't delivered to old.address@gmail.com because the address couldn't be found."
    )


def test_a_delivery_report_is_auto_submitted_whoever_sends_it():
    raw = GMAIL_BOUNCE.replace(b"Mail Delivery Subsystem <MAILER-DAEMON@googlemail.com>", b"relay@school.example")
    email = read_email(raw)
    assert email.sender == "relay@school.example"
    assert email.auto_submitted is True


@pytest.mark.parametrize(
    ("headers", "auto"),
    [
        ({}, False),
        ({"Auto-Submitted": "no"}, False),
        ({"Auto-Submitted": "auto-replied"}, True),
        ({"Auto-Submitted": "auto-generated; owner-email=ana@example.com"}, True),
        ({"X-Autoreply": "yes"}, True),
        ({"X-Autorespond": "Out of office"}, True),
        ({"Precedence": "bulk"}, True),
        ({"Precedence": "auto_reply"}, True),
        ({"Precedence": "Junk"}, True),
        ({"Precedence": "list"}, False),
        ({"Return-Path": "<>"}, True),
    ],
)
def test_which_headers_mark_mail_as_auto_submitted(headers, auto):
    assert read_email(reply("Hi", headers)).auto_submitted is auto


# --- Only the new text -------------------------------------------------------------------------------------------

HISTORY_MARKERS = {
    "gmail": "On Mon, Nov 23, 2026 at 3:05 PM Ms. Rivera <rivera@maple.example> wrote:\n\n> Dear families,",
    "gmail wrapped": "On Mon, Nov 23, 2026 at 3:05 PM Ms. Alejandra Rivera-Gonzalez <\n"
    "alejandra.rivera@maple.example> wrote:\n\n> Dear families,",
    "thunderbird": "On 23/11/2026 15:05, Ms. Rivera wrote:\nDear families, (not quoted by this client)",
    "spanish gmail": "El lun, 23 nov 2026 a las 15:05, Ms. Rivera (<rivera@maple.example>) escribió:\n> Hola",
    "original message": "-----Original Message-----\nFrom: Ms. Rivera\nDear families,",
    "mensaje original": "-----Mensaje original-----\nDe: Ms. Rivera\nHola familias,",
    "outlook rule": "________________________________\nFrom: Ms. Rivera <rivera@maple.example>\nDear families,",
    "outlook block": "From: Ms. Rivera <rivera@maple.example>\nSent: Monday, November 23, 2026 3:05 PM\n"
    "To: Maria Garcia <maria@example.com>\nSubject: Field trip\n\nDear families,",
    "spanish outlook block": "De: Ms. Rivera <rivera@maple.example>\nEnviado: lunes, 23 de noviembre de 2026\n"
    "Para: María\nAsunto: Excursión\n\nHola familias,",
    "signature": "-- \nMaría García\nPTA treasurer",
    "iphone": "Sent from my iPhone\n\n> On Nov 23, 2026, at 3:05 PM, Ms. Rivera wrote:",
    "android": "Sent from my Android phone with Gmail",
    "spanish iphone": "Enviado desde mi iPhone",
    "outlook mobile": "Get Outlook for iOS",
}


@pytest.mark.parametrize("history", HISTORY_MARKERS.values(), ids=HISTORY_MARKERS.keys())
def test_the_reply_stops_where_the_history_or_signature_starts(history):
    body = "Thank you, we will be there.\n\nMaría\n\n" + history + "\nMore history.\n"
    assert read_email(reply(body)).text == "Thank you, we will be there.\n\nMaría"


def test_quoted_lines_are_dropped_and_answers_between_them_kept():
    body = "> Can Sam stay for the play?\nYes, until 5.\n> Will you drive?\n>\nNo, Nana will.\n"
    assert read_email(reply(body)).text == "Yes, until 5.\nNo, Nana will."


def test_an_answer_written_below_the_quote_is_kept():
    body = "On Mon, Nov 23, 2026 at 3:05 PM Ms. Rivera wrote:\n> Can Sam come?\n\nYes, she can.\n"
    assert read_email(reply(body)).text == "Yes, she can."


@pytest.mark.parametrize(
    "body",
    [
        "On Tuesday Sam wrote:\nI like school.",  # no date: the family's own words
        "Who will pick up Sam?\n\nFrom: now on, her Nana will.",  # a "From:" line that starts no header block
        "Sent from my sister's house today: Sam left her lunchbox in the gym, could someone check?",
    ],
)
def test_the_familys_own_words_that_look_like_markers_are_kept(body):
    assert read_email(reply(body)).text == body


def test_the_text_is_otherwise_kept_as_written_but_for_surrounding_blank_lines():
    body = "\n\n  Dear Ms. Rivera,\n\n\nSam's   tooth came out!  \n\n"
    assert read_email(reply(body)).text == "  Dear Ms. Rivera,\n\n\nSam's   tooth came out!  "


# --- Mail we cannot read -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
        b"just some words\nthat are not an email\n",
        b"To: reply+s42@homeroom.example\nSubject: no sender\n\nHello\n",
        b"From: Maria\nTo: reply+s42@homeroom.example\n\nHello\n",  # a name, no address
    ],
    ids=["empty", "png", "plain words", "no From", "From without an address"],
)
def test_mail_without_a_sender_address_cannot_be_read(raw):
    with pytest.raises(InboundEmailError):
        read_email(raw)
    assert read_email(b"From: maria@example.com\n" + raw).sender == "maria@example.com"


def test_mail_without_any_text_part_cannot_be_read():
    message = EmailMessage()
    message["From"] = "ana@example.com"
    message.set_content(b"\x89PNG...", maintype="image", subtype="png", disposition="inline")
    with pytest.raises(InboundEmailError):
        read_email(message.as_bytes())
    message.add_attachment("Hi, a photo of the form.", disposition="inline")  # the same mail with a text part reads
    assert read_email(message.as_bytes()).text == "Hi, a photo of the form."


# --- Attachments: noted, never kept -------------------------------------------------------------------------------


def test_attachments_are_named_with_their_size_and_type_and_the_text_is_still_read():
    message = EmailMessage()
    message["From"] = "ana@example.com"
    message.set_content("Here is the signed form.")
    message.add_attachment(b"\xff\xd8" + b"j" * 998, maintype="image", subtype="jpeg", filename="photo.jpg")
    message.add_attachment(b"%PDF-1.7", maintype="application", subtype="pdf", filename="form.pdf")

    email = read_email(message.as_bytes())

    assert email.text == "Here is the signed form."
    assert [(a.name, a.size, a.content_type) for a in email.attachments] == [
        ("photo.jpg", 1000, "image/jpeg"),
        ("form.pdf", 8, "application/pdf"),
    ]


def test_the_html_rendering_of_the_text_is_no_attachment():
    email = read_email(GMAIL_SPANISH)

    assert email.attachments == ()


# --- The mail server's hook: mail of the size phones send -------------------------------------------------------

HOOK = "/hooks/email/"
SECRET = "s3cret-for-the-mail-server"
MB = 1024 * 1024


@pytest.fixture
def thread(world, settings) -> Thread:
    settings.HOMEROOM_REPLY_DOMAIN = "replies.example.org"
    settings.HOMEROOM_INBOUND_SECRET = SECRET
    parent = Guardian.objects.get(user=world.people["guardian"])
    return Thread.objects.create(staff=world.people["teacher"], guardian=parent, last_message_at=NOW)


def _reply_with_photo(thread: Thread, *, photo_bytes: int, text: str = "The signed form, photographed.") -> bytes:
    message = EmailMessage()
    message["From"] = f"A Parent <{thread.guardian.email}>"
    message["To"] = reply_address(thread.pk)
    message["Subject"] = "Re: Field trip"
    message["Message-ID"] = "<photo-1@mail.example.com>"
    message.set_content(text)
    photo = random.Random(photo_bytes).randbytes(photo_bytes)  # noise, as a JPEG is: base64 makes it 4/3 larger
    message.add_attachment(photo, maintype="image", subtype="jpeg", filename="IMG_2041.jpg")
    return message.as_bytes()


def _post(client, data, **kwargs):
    return client.post(HOOK, data, headers={"Authorization": f"Bearer {SECRET}"}, **kwargs)


def test_a_six_megabyte_reply_with_a_photo_is_received_and_the_photo_named(client, world, thread, settings):
    raw = _reply_with_photo(thread, photo_bytes=4 * MB + 300_000)
    assert 5.5 * MB < len(raw) < 6.5 * MB and len(raw) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = _post(client, raw, content_type="message/rfc822")

    assert (response.status_code, response.content) == (200, b"received")
    reply = Reply.objects.get()
    assert reply.body == "The signed form, photographed."
    assert reply.attachments == [{"name": "IMG_2041.jpg", "size": 4 * MB + 300_000, "type": "image/jpeg"}]
    client.force_login(world.people["teacher"])
    page = client.get(reverse("communication:conversation", args=[thread.pk]))
    assert "Attachment not kept: IMG_2041.jpg (4.3\xa0MB)" in page.text


@pytest.mark.parametrize("field", ["email", "body-mime"])
def test_a_six_megabyte_reply_in_a_providers_multipart_form_is_received(client, thread, field):
    raw = _reply_with_photo(thread, photo_bytes=4 * MB + 300_000)

    response = _post(client, {field: raw.decode(), "subject": "Re: Field trip"})

    assert (response.status_code, response.content) == (200, b"received")
    assert Reply.objects.get().attachments[0]["name"] == "IMG_2041.jpg"


def test_a_photo_sent_with_no_words_still_reaches_the_conversation(client, thread):
    raw = _reply_with_photo(thread, photo_bytes=1000, text="")

    assert _post(client, raw, content_type="message/rfc822").status_code == 200

    reply = Reply.objects.get()
    assert (reply.body, reply.attachments[0]["name"]) == ("(No text: only attachments.)", "IMG_2041.jpg")


def test_an_email_over_ten_megabytes_is_refused_with_413_and_a_reason(client, thread):
    raw = _reply_with_photo(thread, photo_bytes=8 * MB)
    assert len(raw) > 10 * MB

    response = _post(client, raw, content_type="message/rfc822")

    assert response.status_code == 413
    assert "larger than 10 MB" in response.content.decode() and "fewer or smaller photos" in response.content.decode()
    assert not Reply.objects.exists()


def test_the_limit_is_a_setting_and_holds_without_a_content_length(client, thread, settings):
    settings.HOMEROOM_INBOUND_EMAIL_MAX_BYTES = 1 * MB
    raw = _reply_with_photo(thread, photo_bytes=MB)

    assert _post(client, raw, content_type="message/rfc822").status_code == 413
    # A body longer than its Content-Length says (chunked, or a lie) is read no further than the limit.
    request = client.post(
        HOOK, raw, content_type="message/rfc822", headers={"Authorization": f"Bearer {SECRET}"}, CONTENT_LENGTH="10"
    )
    assert request.status_code in (400, 413) and not Reply.objects.exists()


def test_other_routes_keep_djangos_limit(client, world, settings):
    client.force_login(world.people["teacher"])

    response = client.post(reverse("communication:new_message"), {"body": "x" * (3 * MB)})

    assert response.status_code == 400  # DATA_UPLOAD_MAX_MEMORY_SIZE, unchanged outside the hook


# --- A reply address used by someone else ------------------------------------------------------------------------


def _plain_reply(thread: Thread, *, sender: str, body: str = "Send me her grades.") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = reply_address(thread.pk)
    message["Subject"] = "Re: Field trip"
    message["Message-ID"] = "<other-1@mail.example.com>"
    message.set_content(body)
    return message.as_bytes()


def test_a_reply_from_another_address_waits_for_staff_instead_of_entering_the_conversation(client, world, thread):
    response = _post(client, _plain_reply(thread, sender="someone.else@example.org"), content_type="message/rfc822")

    assert (response.status_code, response.content) == (200, b"not the family")
    assert not Reply.objects.exists()
    waiting = UnroutedReply.objects.get()
    assert (waiting.sender, waiting.subject, waiting.body, waiting.reason, waiting.channel) == (
        "someone.else@example.org",
        "Re: Field trip",
        "Send me her grades.",
        UnroutedReason.OTHER_SENDER,
        "email",
    )
    assert list(waiting.candidates.all()) == [thread]
    for outsider in ("far_teacher", "other_teacher", "other_family"):
        client.force_login(world.people[outsider])
        assert "her grades" not in client.get(reverse("communication:unrouted_replies")).text


def test_the_teacher_places_a_reply_from_another_address_when_it_is_the_familys(client, world, thread):
    _post(
        client,
        _plain_reply(thread, sender="parent.at.work@example.com", body="From my work address."),
        content_type="message/rfc822",
    )
    waiting = UnroutedReply.objects.get()
    client.force_login(world.people["teacher"])
    assert "From my work address." in client.get(reverse("communication:unrouted_replies")).text

    client.post(reverse("communication:place_unrouted", args=[waiting.pk]), {"thread": thread.pk})

    reply = Reply.objects.get()
    assert (reply.thread, reply.body, reply.channel) == (thread, "From my work address.", "email")


def test_the_familys_own_address_in_another_case_is_the_family(client, thread):
    raw = _plain_reply(thread, sender=thread.guardian.email.upper(), body="Thanks!")

    assert _post(client, raw, content_type="message/rfc822").content == b"received"
    assert not UnroutedReply.objects.exists()


def test_an_email_never_enters_a_conversation_closed_to_the_family(client, thread):
    thread.guardian.student_links.update(contact_allowed=False)

    response = _post(client, _plain_reply(thread, sender=thread.guardian.email), content_type="message/rfc822")

    assert response.content == b"waiting for staff" and not Reply.objects.exists()
    assert UnroutedReply.objects.get().reason == UnroutedReason.CLOSED


# --- Control characters: never stored ----------------------------------------------------------------------------


def test_nul_and_other_control_characters_are_taken_out_of_what_is_read():
    message = EmailMessage()
    message["From"] = "ana@example.com"
    message["Subject"] = "Re: Field\x00 trip\x1b"
    message.set_content("Yes\x00, we\x07 will\tcome.\r\nThanks\x0b")
    message.add_attachment(b"data", maintype="image", subtype="png", filename="pho\x00to\x01.png")

    email = read_email(message.as_bytes())

    assert email.subject == "Re: Field trip"
    assert email.text == "Yes, we will\tcome.\nThanks"
    assert email.attachments[0].name == "photo.png"


def test_bytes_that_are_no_text_in_a_header_become_replacement_characters():
    raw = b"From: ana@example.com\nSubject: R\xe9union \xff\xfe\x00\nContent-Type: text/plain\n\nHola\x00\n"

    email = read_email(raw)

    assert "\x00" not in email.subject and "\x00" not in email.text
    email.subject.encode("utf-8")  # storable: no lone surrogate left


def test_a_reply_with_nul_bytes_is_stored_without_them(client, thread):
    raw = _plain_reply(thread, sender=thread.guardian.email, body="See\x00 you\x00 Friday")
    raw = raw.replace(b"Subject: Re: Field trip", b"Subject: Re: Field\x00 trip")

    assert _post(client, raw, content_type="message/rfc822").content == b"received"

    assert Reply.objects.get().body == "See you Friday"


# --- Property-based: whatever arrives, no 500 and nothing stored broken ----------------------------------------

_STORED_BROKEN = re.compile(r"[\x00-\x08\x0b-\x1f\ud800-\udfff]")


def _broken_rows() -> int:
    """Rows a reply or a waiting reply left with a character no database should hold, or a field over its size."""
    broken = 0
    for reply in Reply.objects.select_related("interaction"):
        texts = [reply.body, reply.external_id, reply.interaction.summary, json.dumps(reply.attachments)]
        broken += int(any(_STORED_BROKEN.search(text) for text in texts) or len(reply.body) > MESSAGE_MAX_LENGTH)
    for waiting in UnroutedReply.objects.all():
        texts = [waiting.body, waiting.subject, waiting.sender, waiting.external_id, json.dumps(waiting.attachments)]
        broken += int(any(_STORED_BROKEN.search(text) for text in texts) or len(waiting.sender) > 254)
    return broken


# Any code point but surrogates (no request carries those): NUL, CR, LF and the other controls included.
_any_text = st.text(st.characters(codec="utf-8"), max_size=60)
_header_names = st.sampled_from(
    [
        "Subject",
        "From",
        "Cc",
        "Content-Type",
        "Content-Disposition",
        "Auto-Submitted",
        "Message-ID",
        "Content-Transfer-Encoding",
        "X-Fuzz",
    ]
)


# Controls and NUL, but no line break.
_line_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=40)


def _mostly(common: Any, *rare: Any) -> Any:
    """`common` four times in five, else one of `rare`."""
    return st.integers(0, 4).flatmap(lambda n: st.one_of(*rare) if n == 3 else common)


_MESSAGE_NUMBERS = itertools.count()
NOISY_PARTS = ("from", "to", "subject", "headers", "charset", "body", "attachment")


@st.composite
def _emails(draw: st.DrawFn, family_address: str, to: str) -> bytes:
    """An email that is well made but for one part, or none, so that most examples get as far as being stored: the
    family's address or another, with any display name; headers, subject and body of any text (NUL and the other
    controls included); a body of any bytes in any declared charset; maybe an attachment of any name and type."""
    noisy = draw(st.sampled_from([None, None, *NOISY_PARTS]))

    def part(name: str, common: Any, rare: Any) -> Any:
        return draw(rare if noisy == name else common)

    sender = part(
        "from",
        st.sampled_from([family_address, "someone.else@example.org"])
        | _line_text.map(lambda name: f"{name} <{family_address}>"),
        _any_text,
    )
    headers = [
        ("From", sender),
        ("To", part("to", st.just(to), _any_text)),
        ("Subject", part("subject", _line_text, _any_text)),
        # Each its own Message-ID, unless noisy: the same one twice is rightly kept once.
        ("Message-ID", part("headers", st.builds(lambda: f"<{next(_MESSAGE_NUMBERS)}@fuzz>"), _line_text)),
    ]
    headers += part("headers", st.just([]), st.lists(st.tuples(_header_names, _any_text), min_size=1, max_size=3))
    head = b"".join(f"{name}: {value}\r\n".encode() for name, value in headers)
    charset = part("charset", st.sampled_from([b"utf-8", b""]), st.sampled_from([b"iso-8859-1", b"x-unknown", b"\xff"]))
    text_type = b"Content-Type: text/plain" + (b"; charset=" + charset if charset else b"") + b"\r\n"
    words = st.text(st.characters(codec="utf-8"), min_size=1, max_size=300).map(str.encode)
    body = part("body", words, st.binary(max_size=300))
    if noisy == "attachment" or draw(st.booleans()):
        filename = part("attachment", _line_text, _any_text).encode()
        content_type = part(
            "attachment",
            st.sampled_from([b"image/jpeg", b"application/pdf", b"text/plain", b"message/rfc822"]),
            st.binary(max_size=20),
        )
        attached = b"--fuzz-boundary\r\nContent-Type: " + content_type
        attached += b'\r\nContent-Disposition: attachment; filename="' + filename
        attached += b'"\r\nContent-Transfer-Encoding: base64\r\n\r\n' + draw(st.binary(max_size=200))
        body = b"--fuzz-boundary\r\n" + text_type + b"\r\n" + body + b"\r\n" + attached + b"\r\n--fuzz-boundary--\r\n"
        head += b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="fuzz-boundary"\r\n'
    else:
        head += text_type
    return head + b"\r\n" + body


@pytest.mark.security
@pytest.mark.parametrize("mode", ["raw", "content type", "form"])
def test_no_email_whatever_its_bytes_headers_or_form_fields_is_a_500_or_stored_broken(world, thread, mode):
    client = Client(raise_request_exception=False)
    emails = _emails(thread.guardian.email, reply_address(thread.pk))
    seen: list[tuple[Any, int]] = []

    if mode == "raw":
        strategy = st.tuples(st.just("message/rfc822"), _mostly(emails, st.binary(max_size=400)))
    elif mode == "content type":
        content_types = st.sampled_from(
            ["multipart/form-data; boundary=fuzz-boundary", "text/plain", "multipart/form-data", ""]
        ) | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
        strategy = st.tuples(content_types, emails | st.binary(max_size=400))
    else:
        fields = st.dictionaries(
            _mostly(st.sampled_from(["email", "body-mime"]), st.just("subject"), _any_text),
            _mostly(emails.map(lambda raw: raw.decode("utf-8", "replace")), _any_text),
            min_size=1,
            max_size=3,
        )
        strategy = st.tuples(st.sampled_from(["multipart", "urlencoded"]), fields)

    @settings(max_examples=60)
    @given(example=strategy)
    def post(example: Any) -> None:
        kind, data = example
        headers = {"Authorization": f"Bearer {SECRET}"}
        if mode != "form":
            response = client.post(HOOK, data, content_type=kind, headers=headers)
        elif kind == "multipart":
            response = client.post(
                HOOK, {key.replace("\x00", ""): value for key, value in data.items()}, headers=headers
            )
        else:
            response = client.post(
                HOOK, urlencode(data), content_type="application/x-www-form-urlencoded", headers=headers
            )
        seen.append((example, response.status_code))

    post()
    server_errors = [example for example, status in seen if status >= 500]
    broken = _broken_rows()
    count_security_probes("inbound email and texts fuzzed", probes=len(seen), errors=len(server_errors) + broken)

    assert server_errors == [] and broken == 0
    assert {status for _example, status in seen} <= {200, 400, 413}


@settings(max_examples=200)
@given(raw=st.binary(max_size=600) | _emails("ana@example.com", "reply+1-0@x"))
def test_the_parser_reads_any_bytes_or_says_why_not(raw):
    try:
        email = read_email(raw)
    except InboundEmailError:
        return
    stored = [email.sender, email.subject, email.text, email.message_id, *(a.name for a in email.attachments)]
    assert not any(_STORED_BROKEN.search(text) for text in stored)


def test_a_charset_python_does_not_know_is_read_as_utf8_not_a_500():  # found by the property-based test above
    email = read_email(b"From: ana@example.com\nContent-Type: text/plain; charset=x-unknown\n\nS\xc3\xad, gracias\n")

    assert email.text == "Sí, gracias"
