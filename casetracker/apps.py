from importlib import import_module

from django.apps import AppConfig


class CasetrackerConfig(AppConfig):
    name = "casetracker"
    verbose_name = "casetracker"

    def import_models(self):
        super().import_models()
        # SecurityEvent lives with the rest of the security log in casetracker.security; load
        # it with the app's models so that migrations and the admin see it.
        import_module("casetracker.security")

    def ready(self):
        from casetracker import security, sites

        security.connect_receivers()
        sites.install()
