from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SeedingConfig(AppConfig):
    """Demo and district-sized data: the one place that builds rows of every domain app together."""

    name = "seeding"
    verbose_name = _("Demo and test data")
