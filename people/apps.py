from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "people"
    verbose_name = _("People and organisations")

    def ready(self):
        from people import home, signals  # noqa: F401 - its home page panel, its receivers
