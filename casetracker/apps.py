from django.apps import AppConfig


class CasetrackerConfig(AppConfig):
    name = "casetracker"
    verbose_name = "casetracker"

    def ready(self):
        from casetracker import security, sites

        security.connect_receivers()
        sites.install()
