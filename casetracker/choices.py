"""Vocabularies shared by several apps."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Script(models.TextChoices):
    """ISO 15924 script codes."""

    LATIN = "Latn", _("Latin")
    CYRILLIC = "Cyrl", _("Cyrillic")
    ARABIC = "Arab", _("Arabic script")
    HAN_SIMPLIFIED = "Hans", _("Chinese characters (simplified)")
    HAN_TRADITIONAL = "Hant", _("Chinese characters (traditional)")


class Language(models.TextChoices):
    """BCP 47 language tags of the languages sources and names come in."""

    KAZAKH = "kk", _("Kazakh")
    UYGHUR = "ug", _("Uyghur")
    CHINESE = "zh", _("Chinese")
    RUSSIAN = "ru", _("Russian")
    ENGLISH = "en", _("English")
    KYRGYZ = "ky", _("Kyrgyz")
    UZBEK = "uz", _("Uzbek")
    MONGOLIAN = "mn", _("Mongolian")
    TURKISH = "tr", _("Turkish")
    UNDETERMINED = "und", _("Undetermined")
