from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import check_for_language
from django.views.decorators.http import require_POST, require_safe

from accounts.selectors import start_pages
from homeroom.http import AuthenticatedRequest


@require_safe
@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    pages = start_pages(request.user)
    if not pages:
        return render(request, "accounts/no_role.html", status=403)
    return redirect(pages[0].url)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the pages' language; remembered on the account when signed in, in a cookie otherwise."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=False):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if not check_for_language(language) or language not in dict(settings.LANGUAGES):
        return response
    if request.user.is_authenticated:
        request.user.language = language
        request.user.save(update_fields=["language"])
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
    )
    return response
