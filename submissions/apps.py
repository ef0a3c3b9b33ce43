from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubmissionsConfig(AppConfig):
    name = "submissions"
    verbose_name = _("UN submissions")

    def ready(self):
        # A change to an adopted opinion rewrites the case's published snapshot.
        from submissions import signals  # noqa: F401
