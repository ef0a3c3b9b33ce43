from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasetrackerConfig(AppConfig):
    name = "casetracker"
    # What the admin lists under it: account changes, the security log and the audit chain.
    verbose_name = _("Security and audit")

    def ready(self):
        from casetracker import integrity, security, sites

        integrity.connect_receivers()
        security.connect_receivers()
        sites.install()
