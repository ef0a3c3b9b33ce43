from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebsiteConfig(AppConfig):
    name = "website"
    verbose_name = _("Public website")

    def ready(self):
        from website import signals  # noqa: F401 (connects the receivers)
