from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SourcesConfig(AppConfig):
    name = "sources"
    verbose_name = _("Sources and evidence")

    def ready(self):
        from sources import signals  # noqa: F401 - connects the receivers
