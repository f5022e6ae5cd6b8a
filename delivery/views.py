"""What providers and mail programs call: texts and emails families send back, SMS delivery reports, one-click
unsubscribe. Each is authenticated by its own means (a provider's signature, a shared secret, a signed link),
never by a session, so none needs a CSRF token."""

import hmac
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    QueryDict,
)
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from delivery.compose import email_of_unsubscribe_token
from delivery.inbound import InboundEmailError, without_control_characters
from delivery.models import EmailOptOut, PhoneOptOut
from delivery.outbox import record_text_status
from delivery.services import receive_email_reply, receive_text_message, resubscribe_email, unsubscribe_email
from delivery.sms import is_valid_twilio_request


def _signed_by_twilio(request: HttpRequest) -> bool:
    # Twilio signs the public address it called, which a proxy in front of Homeroom may have rewritten.
    url = settings.HOMEROOM_BASE_URL + request.get_full_path()
    params = {key: request.POST[key] for key in request.POST}
    return is_valid_twilio_request(url=url, params=params, signature=request.headers.get("X-Twilio-Signature", ""))


PHONE_MAX_LENGTH = PhoneOptOut._meta.get_field("phone").max_length or 16


def _field(request: HttpRequest, name: str) -> str:
    """A field Twilio posted, as it may be stored: no NUL or other control character (PostgreSQL refuses NUL)."""
    return without_control_characters(request.POST.get(name, ""))


def _twiml(answer: str) -> HttpResponse:
    message = f"<Message>{escape(answer)}</Message>" if answer else ""
    return HttpResponse(
        f'<?xml version="1.0" encoding="UTF-8"?><Response>{message}</Response>', content_type="text/xml"
    )


@csrf_exempt
@require_POST
def incoming_text(request: HttpRequest) -> HttpResponse:
    if not _signed_by_twilio(request):
        return HttpResponseForbidden()
    phone, body = _field(request, "From"), _field(request, "Body")
    if not phone or len(phone) > PHONE_MAX_LENGTH:
        return HttpResponseBadRequest()  # no number Homeroom texts is longer than E.164's 15 digits and its +
    return _twiml(receive_text_message(phone=phone, body=body, message_sid=_field(request, "MessageSid")[:200]))


@csrf_exempt
@require_POST
def text_status(request: HttpRequest) -> HttpResponse:
    if not _signed_by_twilio(request):
        return HttpResponseForbidden()
    record_text_status(
        provider_id=_field(request, "MessageSid")[:64],
        status=_field(request, "MessageStatus"),
        error_code=_field(request, "ErrorCode")[:20],
    )
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def incoming_email(request: HttpRequest) -> HttpResponse:
    """An email a family sent to a reply address, as the raw message: the request's body (message/rfc822), or the
    `email` (SendGrid) or `body-mime` (Mailgun) field of a form."""
    secret = settings.HOMEROOM_INBOUND_SECRET
    if not secret:
        raise Http404
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return HttpResponseForbidden()
    limit = settings.HOMEROOM_INBOUND_EMAIL_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return HttpResponseBadRequest(_("The Content-Length header is not a number."))
    # Read here, not through request.body or request.POST: those stop at DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB),
    # and a reply with two photos from a phone is larger. The limit of this route is its own.
    data = b"" if declared > limit else request.read(limit + 1)
    if declared > limit or len(data) > limit:
        return _too_large(limit)
    try:
        raw = _raw_email(request.content_type or "", request.META.get("CONTENT_TYPE", ""), data)
    except ValueError as error:
        return HttpResponseBadRequest(str(error))
    try:
        outcome = receive_email_reply(raw)
    except InboundEmailError as error:
        return HttpResponseBadRequest(str(error))
    return HttpResponse(outcome.value, content_type="text/plain")


def _too_large(limit: int) -> HttpResponse:
    message = _(
        "The email is larger than %(size)s MB, the most Homeroom accepts. It was not delivered: please send it "
        "again with fewer or smaller photos or files."
    ) % {"size": f"{limit / (1024 * 1024):g}"}
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


EMAIL_FIELDS = ("email", "body-mime")  # SendGrid's and Mailgun's names for the raw message


def _raw_email(content_type: str, content_type_header: str, data: bytes) -> bytes:
    """The raw message out of the request body: the body itself, or the SendGrid or Mailgun field (a form field
    or a file) of a multipart or URL-encoded form."""
    if content_type == "message/rfc822":
        return data
    if content_type == "application/x-www-form-urlencoded":
        try:
            form = QueryDict(data, encoding="utf-8")
        except TooManyFieldsSent as error:
            raise ValueError(_("The form has too many fields.")) from error
        return next((form[name].encode() for name in EMAIL_FIELDS if form.get(name)), b"")
    if content_type == "multipart/form-data":
        return _multipart_field(content_type_header, data)
    raise ValueError(_("Send the email as message/rfc822 or in a form's email or body-mime field."))


def _multipart_field(content_type_header: str, data: bytes) -> bytes:
    # The standard library's MIME parser reads multipart/form-data as it reads multipart mail, with no size limit
    # of its own: the hook's limit was checked before.
    try:
        header = content_type_header.encode("ascii")
    except UnicodeEncodeError as error:
        raise ValueError(_("The Content-Type header is not ASCII.")) from error
    form = BytesParser(policy=compat32).parsebytes(b"Content-Type: " + header + b"\r\n\r\n" + data)
    parts = form.get_payload() if form.is_multipart() else []
    found: dict[str, bytes] = {}
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, Message):
            continue
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str) and name in EMAIL_FIELDS and name not in found:
            payload = part.get_payload(decode=True)
            found[name] = payload if isinstance(payload, bytes) else b""
    return next((found[name] for name in EMAIL_FIELDS if found.get(name)), b"")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The link at the foot of every non-essential email. A mail program's one-click button posts here (RFC 8058);
    a person sees a page first, so that a link scanner opening it unsubscribes nobody."""
    email = email_of_unsubscribe_token(token)
    if email is None:
        raise Http404
    if request.method == "POST":
        if request.POST.get("resubscribe"):
            resubscribe_email(email=email)
        else:
            unsubscribe_email(email=email)
    unsubscribed = EmailOptOut.objects.filter(email=email).exists()
    return render(
        request,
        "delivery/unsubscribe.html",
        {"email": email, "unsubscribed": unsubscribed, "done": request.method == "POST"},
    )
