"""The languages a family may ask us to use. The portal's own pages exist in settings.LANGUAGES; a family
whose language has no UI translation yet reads the portal in English and gets messages translated."""

from django.utils.translation import gettext_lazy as _

FAMILY_LANGUAGES = [
    ("en", _("English")),
    ("es", _("Spanish")),
    ("zh-hans", _("Chinese (Simplified)")),
    ("vi", _("Vietnamese")),
    ("ar", _("Arabic")),
    ("ht", _("Haitian Creole")),
    ("fr", _("French")),
    ("pt", _("Portuguese")),
    ("ru", _("Russian")),
    ("so", _("Somali")),
    ("tl", _("Tagalog")),
    ("ko", _("Korean")),
]
FAMILY_LANGUAGE_CODES = [code for code, _name in FAMILY_LANGUAGES]
FAMILY_LANGUAGE_NAMES = dict(FAMILY_LANGUAGES)
