"""Machine translation, against a real HTTP server on 127.0.0.1 that speaks LibreTranslate's API."""

from collections.abc import Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation

from delivery.translation import LibreTranslate, NoTranslation, TranslationError, translator
from homeroom.testing import FakeLibreTranslate


@pytest.fixture
def server() -> Iterator[FakeLibreTranslate]:
    fake = FakeLibreTranslate()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def in_english() -> Iterator[None]:
    with translation.override("en"):
        yield


def test_a_batch_is_translated_in_order_in_one_request(server):
    libre = LibreTranslate(url=server.url)
    texts = ["Hello", "Maya read a whole book today.", "See you Friday."]

    assert libre.translate(texts, source="en", target="es") == [
        "Hola",
        "Maya leyó un libro entero hoy.",
        "[es] See you Friday.",
    ]
    assert server.requests == [
        {
            "path": "/translate",
            "content_type": "application/json",
            "q": texts,
            "source": "en",
            "target": "es",
            "format": "text",
        }
    ]


def test_a_trailing_slash_in_the_url_is_ignored(server):
    assert LibreTranslate(url=server.url + "/").translate(["Hello"], source="en", target="es") == ["Hola"]
    assert server.requests[0]["path"] == "/translate"


def test_regional_codes_are_sent_as_the_base_language(server):
    assert LibreTranslate(url=server.url).translate(["Hello"], source="en-us", target="zh-hans") == ["[zh] Hello"]
    assert LibreTranslate(url=server.url).translate(["Hello"], source="EN", target="pt-br") == ["[pt] Hello"]
    assert [(r["source"], r["target"]) for r in server.requests] == [("en", "zh"), ("en", "pt")]


def test_a_single_translation_may_come_back_as_a_string(server):
    server.mode = "string"
    assert LibreTranslate(url=server.url).translate(["Hello"], source="en", target="es") == ["Hola"]


def test_the_api_key_is_sent_only_when_set(server):
    LibreTranslate(url=server.url).translate(["Hello"], source="en", target="es")
    LibreTranslate(url=server.url, api_key="k3y").translate(["Hello"], source="en", target="es")

    assert "api_key" not in server.requests[0]
    assert server.requests[1]["api_key"] == "k3y"


def test_a_wrong_api_key_is_refused_with_the_servers_reason(server):
    server.api_key = "right"
    assert LibreTranslate(url=server.url, api_key="right").translate(["Hello"], source="en", target="es") == ["Hola"]

    with pytest.raises(TranslationError) as refused:
        LibreTranslate(url=server.url, api_key="wrong").translate(["Hello"], source="en", target="es")
    assert str(refused.value) == "The translation server refused the request: Invalid API key"


def test_an_unsupported_language_is_named_in_the_error(server):
    assert LibreTranslate(url=server.url).translate(["Hello"], source="en", target="es") == ["Hola"]

    with pytest.raises(TranslationError) as refused:
        LibreTranslate(url=server.url).translate(["Hello"], source="en", target="vi")
    assert str(refused.value) == "The translation server does not translate into Vietnamese."


def test_a_language_django_cannot_name_is_shown_by_its_code(server):
    with pytest.raises(TranslationError, match=r"does not translate into tlh\.$"):
        LibreTranslate(url=server.url).translate(["Hello"], source="en", target="tlh")


def test_the_language_is_named_in_the_language_of_the_member_of_staff(server):
    with translation.override("es"), pytest.raises(TranslationError) as refused:
        LibreTranslate(url=server.url).translate(["Hello"], source="en", target="vi")
    assert str(refused.value).endswith(" Vietnamita.")  # Django's own catalogue names the language


def test_an_error_page_without_json_gives_the_http_status(server):
    server.mode = "html-error"
    with pytest.raises(TranslationError) as refused:
        LibreTranslate(url=server.url).translate(["Hello"], source="en", target="es")
    assert str(refused.value) == "The translation server refused the request: HTTP 502 Bad Gateway"


def test_a_server_that_is_down_cannot_be_reached(server):
    libre = LibreTranslate(url=server.url)
    assert libre.translate(["Hello"], source="en", target="es") == ["Hola"]

    server.stop()
    with pytest.raises(TranslationError) as unreachable:
        libre.translate(["Hello"], source="en", target="es")
    assert str(unreachable.value) == "The translation server could not be reached."


def test_a_slow_server_times_out(server):
    server.mode = "hang"
    with pytest.raises(TranslationError) as slow:
        LibreTranslate(url=server.url, timeout=0.5).translate(["Hello"], source="en", target="es")
    assert str(slow.value) == "The translation server did not answer in time."
    assert len(server.requests) == 1


def test_a_malformed_answer_is_an_error(server):
    server.mode = "malformed"
    with pytest.raises(TranslationError, match="does not understand"):
        LibreTranslate(url=server.url).translate(["Hello"], source="en", target="es")


def test_a_missing_translation_is_an_error_not_a_shifted_batch(server):
    server.mode = "short"
    with pytest.raises(TranslationError) as short:
        LibreTranslate(url=server.url).translate(["Hello", "Goodbye"], source="en", target="es")
    assert str(short.value) == "The translation server sent 1 translations for 2 texts."


@pytest.mark.parametrize(("source", "target"), [("es", "es"), ("pt-br", "pt"), ("EN", "en-us")])
def test_the_same_language_needs_no_request(server, source, target):
    texts = ["Hola", "¿Qué tal?"]
    assert LibreTranslate(url=server.url).translate(texts, source=source, target=target) == texts
    assert server.requests == []


def test_nothing_to_translate_needs_no_request(server):
    assert LibreTranslate(url=server.url).translate([], source="en", target="es") == []
    assert server.requests == []


def test_no_translation_sends_the_original():
    assert NoTranslation().name == "none"
    assert NoTranslation().translate(["Hello"], source="en", target="es") is None


def test_a_url_that_is_not_http_is_refused():
    with pytest.raises(ImproperlyConfigured):
        LibreTranslate(url="file:///etc")


def test_the_translator_follows_the_settings(settings, server):
    settings.HOMEROOM_TRANSLATION_BACKEND = "none"
    assert isinstance(translator(), NoTranslation)

    settings.HOMEROOM_TRANSLATION_BACKEND = "libretranslate"
    settings.LIBRETRANSLATE_URL = server.url
    settings.LIBRETRANSLATE_API_KEY = "k3y"
    settings.LIBRETRANSLATE_TIMEOUT = 7
    chosen = translator()
    assert isinstance(chosen, LibreTranslate)
    assert (chosen.name, chosen.url, chosen.api_key, chosen.timeout) == ("libretranslate", server.url, "k3y", 7)
    assert chosen.translate(["Hello"], source="en", target="es") == ["Hola"]
    assert server.requests[0]["api_key"] == "k3y"


def test_the_translator_refuses_an_unknown_backend(settings):
    settings.HOMEROOM_TRANSLATION_BACKEND = "google"
    with pytest.raises(ImproperlyConfigured, match="google"):
        translator()
