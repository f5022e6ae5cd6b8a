"""A family's copy as it leaves: the email (text and HTML, its headers, the reply address that brings an answer back
to its conversation), the text message, and the signed links in them."""

import re
import uuid
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from delivery.mime import quick_folding
from delivery.models import Delivery, MessageKind, Thread
from roster.models import Guardian, School


def email_for(
    delivery: Delivery, school: School, rendered: dict[tuple[Any, ...], tuple[str, str]] | None = None
) -> EmailMultiAlternatives:
    """The family's copy as an email in its language: plain text and HTML, no tracking of any kind. `rendered`
    keeps the parts already written for a batch, to be reused for the families reading the same words."""
    context = _outgoing_context(delivery, school)
    text, html = _email_parts(delivery, context, {} if rendered is None else rendered)
    subject = context["subject"]
    headers = {"Content-Language": delivery.language, "Message-ID": _message_id(delivery)}
    if context["unsubscribe_url"]:
        # RFC 8058: mail programs show an "Unsubscribe" button that posts here without opening a page.
        headers["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if delivery.message.kind == MessageKind.AUTO_REPLY:
        headers["Auto-Submitted"] = "auto-replied"  # RFC 3834: no mail program answers it back
    email = _FamilyEmail(
        subject=subject, body=text, to=[delivery.guardian.email], reply_to=[_reply_to(delivery)], headers=headers
    )
    email.attach_alternative(html, "text/html")
    return email


class _FamilyEmail(EmailMultiAlternatives):
    # Read by django-anymail, which would otherwise leave tracking to the provider account's default.
    track_opens = False
    track_clicks = False

    def message(self, *args: Any, **kwargs: Any) -> Any:
        message = super().message(*args, **kwargs)
        # A random boundary of our own: left to draw one, the standard library compiles a regular expression per
        # email to check it against the text, a sixth of the time a school-wide notice spends on each family.
        message.set_boundary(f"=_homeroom_{uuid.uuid4().hex}")
        message.policy = quick_folding
        return message


# Stand-ins for each family's own links while the parts are written once for all who read the same words.
LINK_STAND_INS = {"read_url": "https://read.invalid/", "unsubscribe_url": "https://unsubscribe.invalid/"}


def _email_parts(
    delivery: Delivery, context: dict[str, Any], rendered: dict[tuple[Any, ...], tuple[str, str]]
) -> tuple[str, str]:
    """The text and HTML parts. The families of one message reading one language get the same words and differ
    only in their links: the parts are written once (two templates, a fifth of the time each family costs) and
    each family's links put in. The links need no escaping: signed tokens and numbers only."""
    links = {name: context[name] for name in LINK_STAND_INS if context[name]}
    key = (
        delivery.message_id,
        delivery.language,
        delivery.subject,
        delivery.body,
        delivery.machine_translated,
        bool(delivery.thread_id),
        tuple(links),
    )
    if key not in rendered:
        stand_in_context = {**context, **{name: LINK_STAND_INS[name] for name in links}}
        with translation.override(delivery.language):
            rendered[key] = (
                render_to_string("delivery/email/message.txt", stand_in_context),
                render_to_string("delivery/email/message.html", stand_in_context),
            )
    text, html = rendered[key]
    for name, link in links.items():
        text, html = text.replace(LINK_STAND_INS[name], link), html.replace(LINK_STAND_INS[name], link)
    return text, html


SMS_BODY_LENGTH = 320  # two or three texts; the rest is a tap away


def text_message_for(delivery: Delivery, school: School) -> str:
    context = {**_outgoing_context(delivery, school), "reply_code": shared_number_reply_code(delivery)}
    with translation.override(delivery.language):
        return render_to_string("delivery/email/message_sms.txt", context).strip()


def _outgoing_context(delivery: Delivery, school: School) -> dict[str, Any]:
    message = delivery.message
    subject, body = delivery.subject, delivery.body
    if message.is_urgent:
        with translation.override(delivery.language):
            subject = _("Urgent: %(subject)s") % {"subject": subject}
    return {
        "delivery": delivery,
        "language": delivery.language,
        "subject": subject,
        "body": body,
        "short_body": body if len(body) <= SMS_BODY_LENGTH else body[: SMS_BODY_LENGTH - 1].rstrip() + "…",
        "original_subject": message.subject,
        "original_body": message.body,
        "sender": message.sender.full_name,
        "school": school.name,
        "office_phone": school.office_phone,
        "read_url": _read_url(delivery),
        "can_reply_by_email": bool(delivery.thread_id and settings.HOMEROOM_REPLY_DOMAIN),
        "unsubscribe_url": ""
        if message.is_urgent or message.kind == MessageKind.AUTO_REPLY
        else absolute_url(_path_with("delivery:unsubscribe", unsubscribe_token(delivery.guardian.email))),
    }


def absolute_url(path: str) -> str:
    return settings.HOMEROOM_BASE_URL + path


def _read_url(delivery: Delivery) -> str:
    if delivery.thread_id:
        return absolute_url(_path_with("portal:conversation", str(delivery.thread_id)))
    return absolute_url(reverse("portal:home"))


PATH_ARGUMENT = "0000000000"


@lru_cache(maxsize=8)
def _path_pattern(name: str) -> str:
    return reverse(name, args=[PATH_ARGUMENT])


def _path_with(name: str, argument: str) -> str:
    """reverse(name, args=[argument]) for an argument that needs no quoting: reverse() walks the URL patterns
    every time, a tenth of what a school-wide notice costs per family."""
    return _path_pattern(name).replace(PATH_ARGUMENT, argument)


def _message_id(delivery: Delivery) -> str:
    """The delivery's own Message-ID, stored before it is first sent: every sending of it carries the same."""
    if delivery.email_id:
        return delivery.email_id
    domain = urlsplit(settings.HOMEROOM_BASE_URL).hostname or "homeroom.invalid"
    return f"<delivery-{delivery.pk}@{domain}>"


def reply_address(thread_id: int) -> str:
    """reply+ID-SIGNATURE@ the reply domain: the signature proves the address came from us, so a family's answer
    reaches its own conversation and nobody can write into another's by guessing a number."""
    signature = salted_hmac("homeroom.reply", str(thread_id)).hexdigest()[:20]
    return f"reply+{thread_id}-{signature}@{settings.HOMEROOM_REPLY_DOMAIN}"


def _reply_to(delivery: Delivery) -> str:
    if delivery.thread_id and settings.HOMEROOM_REPLY_DOMAIN:
        return reply_address(delivery.thread_id)
    return delivery.message.sender.email


def unsubscribe_token(email: str) -> str:
    return signing.dumps(email, salt="homeroom.unsubscribe", compress=True)


def email_of_unsubscribe_token(token: str) -> str | None:
    try:
        return str(signing.loads(token, salt="homeroom.unsubscribe"))
    except signing.BadSignature:
        return None


REPLY_ADDRESS = re.compile(r"^reply\+(\d+)-([0-9a-f]{20})@", re.IGNORECASE)


def thread_of_reply_address(addresses: Iterable[str]) -> Thread | None:
    """The conversation a reply+ID-SIGNATURE address stands for, when its signature is ours."""
    for address in addresses:
        if (match := REPLY_ADDRESS.match(address)) is None:
            continue
        thread_id = int(match.group(1))
        if constant_time_compare(reply_address(thread_id).split("@")[0].lower(), address.split("@")[0].lower()):
            return Thread.objects.select_related("guardian", "staff").filter(pk=thread_id).first()
    return None


def reply_code(thread_id: int) -> str:
    """The four digits a family sharing its number with another puts in a text to say which conversation it
    answers. Only compared with the conversations of the number that texted, so four digits are enough."""
    return f"{int(salted_hmac('homeroom.text-reply', str(thread_id)).hexdigest()[:8], 16) % 10000:04d}"


def shared_number_reply_code(delivery: Delivery) -> str:
    """The reply code a text carries when its number is another family member's too; "" when it is nobody else's."""
    phone = delivery.guardian.phone
    if not delivery.thread_id or not phone:
        return ""
    shared = Guardian.objects.filter(phone=phone).exclude(pk=delivery.guardian_id).exists()
    return reply_code(delivery.thread_id) if shared else ""
