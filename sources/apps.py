from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "sources"
    verbose_name = "Sources and evidence"

    def ready(self):
        from sources import signals  # noqa: F401 - connects the receivers
