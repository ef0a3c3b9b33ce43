from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "people"
    verbose_name = "People and organisations"

    def ready(self):
        from people import home  # noqa: F401 - registers its home page panel
