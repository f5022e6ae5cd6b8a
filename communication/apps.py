from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunicationConfig(AppConfig):
    name = "communication"
    verbose_name = _("Keep in touch")

    def ready(self) -> None:
        from communication.conversations import Conversations  # models are ready only now
        from delivery import receivers

        receivers.register(Conversations())
