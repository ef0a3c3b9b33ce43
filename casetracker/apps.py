from django.apps import AppConfig


class CasetrackerConfig(AppConfig):
    name = "casetracker"
    verbose_name = "casetracker"

    def ready(self):
        from casetracker import integrity, security, sites

        integrity.connect_receivers()
        security.connect_receivers()
        sites.install()
