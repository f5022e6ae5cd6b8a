"""What providers and mail programs call: texts and emails families send back, SMS delivery reports, one-click
unsubscribe. Each is authenticated by its own means (a provider's signature, a shared secret, a signed link),
never by a session, so none needs a CSRF token."""

import hmac
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from communication.inbound import InboundEmailError
from communication.models import EmailOptOut
from communication.services import (
    email_of_unsubscribe_token,
    receive_email_reply,
    receive_text_message,
    record_text_status,
    resubscribe_email,
    unsubscribe_email,
)
from communication.sms import is_valid_twilio_request

MAX_INBOUND_EMAIL_BYTES = 10 * 1024 * 1024  # the text is what matters; attachments are not kept


def _signed_by_twilio(request: HttpRequest) -> bool:
    # Twilio signs the public address it called, which a proxy in front of Homeroom may have rewritten.
    url = settings.HOMEROOM_BASE_URL + request.get_full_path()
    params = {key: request.POST[key] for key in request.POST}
    return is_valid_twilio_request(url=url, params=params, signature=request.headers.get("X-Twilio-Signature", ""))


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
    phone, body = request.POST.get("From", ""), request.POST.get("Body", "")
    if not phone:
        return HttpResponseBadRequest()
    return _twiml(receive_text_message(phone=phone, body=body, message_sid=request.POST.get("MessageSid", "")))


@csrf_exempt
@require_POST
def text_status(request: HttpRequest) -> HttpResponse:
    if not _signed_by_twilio(request):
        return HttpResponseForbidden()
    record_text_status(
        provider_id=request.POST.get("MessageSid", ""),
        status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode", ""),
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
    if len(request.body) > MAX_INBOUND_EMAIL_BYTES:
        return HttpResponse(status=413)
    if request.content_type == "message/rfc822":
        raw = request.body
    else:
        raw = (request.POST.get("email") or request.POST.get("body-mime") or "").encode()
    try:
        outcome = receive_email_reply(raw)
    except InboundEmailError as error:
        return HttpResponseBadRequest(str(error))
    return HttpResponse(outcome.value, content_type="text/plain")


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
        "communication/unsubscribe.html",
        {"email": email, "unsubscribed": unsubscribed, "done": request.method == "POST"},
    )
