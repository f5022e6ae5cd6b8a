"""Machine translation of the free text that staff write to families.

A message about a child is student data, so it must not be sent to a third-party translation service. The only
real backend is LibreTranslate, an open-source server that a school or district runs on its own machines
(settings.HOMEROOM_TRANSLATION_BACKEND = "libretranslate", LIBRETRANSLATE_URL pointing at it). Without one,
"none" sends the original text. Callers label a translation as machine-made and keep the original one tap away.

The client uses only the standard library: one HTTP POST per batch does not justify a new dependency."""

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from http import HTTPStatus
from http.client import HTTPException
from typing import Any, Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _


class TranslationError(Exception):
    """The translation server failed; str() is a translated sentence that can be shown to the member of staff.

    It never quotes the texts being translated: they are about a child and may end up in logs."""


class Translator(Protocol):
    name: str

    def translate(self, texts: Sequence[str], *, source: str, target: str) -> list[str] | None:
        """The translations of texts, in order; None when this translator does not translate."""
        ...


class NoTranslation:
    """No translation backend: families receive what staff wrote."""

    name = "none"

    def translate(self, texts: Sequence[str], *, source: str, target: str) -> list[str] | None:
        return None


def server_language(code: str) -> str:
    """Homeroom's language code as LibreTranslate knows it: "pt-br" -> "pt", "zh-hans" -> "zh"."""
    return code.split("-")[0].strip().lower()


def language_name(code: str) -> str:
    try:
        return str(get_language_info(code)["name_translated"])
    except KeyError:  # a language Django has no name for: the code is still meaningful to an administrator
        return code


class LibreTranslate:
    """A self-hosted LibreTranslate server (https://github.com/LibreTranslate/LibreTranslate), over its HTTP API."""

    name = "libretranslate"

    def __init__(self, *, url: str, api_key: str = "", timeout: float = 15) -> None:
        # urlopen also opens file: and ftp: URLs; a mistyped setting must not read the disk.
        if urlsplit(url).scheme not in ("http", "https"):
            raise ImproperlyConfigured(f"LIBRETRANSLATE_URL must be an http:// or https:// URL, not {url!r}.")
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def translate(self, texts: Sequence[str], *, source: str, target: str) -> list[str] | None:
        source, target = server_language(source), server_language(target)
        if not texts or source == target:
            return list(texts)
        payload: dict[str, Any] = {"q": list(texts), "source": source, "target": target, "format": "text"}
        if self.api_key:
            payload["api_key"] = self.api_key
        answer = self.post("/translate", payload, source=source, target=target)
        translated = answer.get("translatedText")
        if isinstance(translated, str) and len(texts) == 1:  # older servers answer a one-item batch with a string
            translated = [translated]
        if not isinstance(translated, list) or not all(isinstance(text, str) for text in translated):
            raise TranslationError(_("The translation server sent an answer Homeroom does not understand."))
        if len(translated) != len(texts):
            # Pairing what is left by position would put one sentence under another family's message.
            raise TranslationError(
                _("The translation server sent %(received)d translations for %(sent)d texts.")
                % {"received": len(translated), "sent": len(texts)}
            )
        return translated

    def post(self, path: str, payload: dict[str, Any], *, source: str, target: str) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            self.url + path,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (as above)
                body = response.read()
        except urllib.error.HTTPError as error:
            raise self.refusal(error, source=source, target=target) from error
        except TimeoutError as error:
            raise TranslationError(_("The translation server did not answer in time.")) from error
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                raise TranslationError(_("The translation server did not answer in time.")) from error
            raise TranslationError(_("The translation server could not be reached.")) from error
        except (OSError, HTTPException) as error:  # the connection dropped mid-answer
            raise TranslationError(_("The translation server could not be reached.")) from error
        answer = parse_json(body)
        if answer is None:
            raise TranslationError(_("The translation server sent an answer Homeroom does not understand."))
        if isinstance(answer.get("error"), str):
            raise TranslationError(
                _("The translation server refused the request: %(reason)s") % {"reason": answer["error"]}
            )
        return answer

    def refusal(self, error: urllib.error.HTTPError, *, source: str, target: str) -> TranslationError:
        """The TranslationError for an HTTP error answer, with the server's own reason when it gave one."""
        try:
            answer = parse_json(error.read())
        except (OSError, HTTPException):
            answer = None
        reason = answer.get("error") if answer else None
        if not isinstance(reason, str) or not reason:
            try:
                phrase = HTTPStatus(error.code).phrase
            except ValueError:
                phrase = ""
            reason = f"HTTP {error.code} {phrase}".strip()
        # LibreTranslate answers 400 "<code> is not supported" for a language it has no model for.
        if error.code == HTTPStatus.BAD_REQUEST and "not supported" in reason.lower():
            mentioned = {word.strip(".,:;'\"()").lower() for word in reason.split()}
            if target in mentioned:
                return TranslationError(
                    _("The translation server does not translate into %(language)s.")
                    % {"language": language_name(target)}
                )
            if source in mentioned:
                return TranslationError(
                    _("The translation server does not translate from %(language)s.")
                    % {"language": language_name(source)}
                )
        return TranslationError(_("The translation server refused the request: %(reason)s") % {"reason": reason})


def parse_json(body: bytes) -> dict[str, Any] | None:
    """A JSON object, or None for anything else (an HTML error page from a proxy, a truncated answer)."""
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return answer if isinstance(answer, dict) else None


def translator() -> Translator:
    """The translator chosen by settings.HOMEROOM_TRANSLATION_BACKEND."""
    backend = settings.HOMEROOM_TRANSLATION_BACKEND
    if backend == NoTranslation.name:
        return NoTranslation()
    if backend == LibreTranslate.name:
        return LibreTranslate(
            url=settings.LIBRETRANSLATE_URL,
            api_key=settings.LIBRETRANSLATE_API_KEY,
            timeout=settings.LIBRETRANSLATE_TIMEOUT,
        )
    raise ImproperlyConfigured(
        f"HOMEROOM_TRANSLATION_BACKEND must be {NoTranslation.name!r} or {LibreTranslate.name!r}, not {backend!r}."
    )
