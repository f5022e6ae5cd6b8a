"""Error pages that must render when nothing else works: no database query, no navigation."""

import sys

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.template import loader


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500, called while the error is being handled. A database that went away is an outage, not a
    fault in the page: the person is told so (503, come back in a minute) rather than that something broke. Every
    write runs in a transaction, so nothing they sent was half-saved either way."""
    error = sys.exc_info()[1]
    if isinstance(error, DatabaseError):
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = "60"
        return response
    return HttpResponse(loader.get_template("500.html").render(), status=500)
