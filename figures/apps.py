from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FiguresConfig(AppConfig):
    name = "figures"
    verbose_name = _("Statistics")

    def ready(self):
        # The write paths' receivers, and the admin home page's panel.
        from figures import signals, views  # noqa: F401
