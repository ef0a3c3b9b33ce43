"""Vocabularies shared by several apps."""

from django.db import models


class Script(models.TextChoices):
    """ISO 15924 script codes."""

    LATIN = "Latn", "Latin"
    CYRILLIC = "Cyrl", "Cyrillic"
    ARABIC = "Arab", "Arabic script"
    HAN_SIMPLIFIED = "Hans", "Chinese characters (simplified)"
    HAN_TRADITIONAL = "Hant", "Chinese characters (traditional)"


class Language(models.TextChoices):
    """BCP 47 language tags of the languages sources and names come in."""

    KAZAKH = "kk", "Kazakh"
    UYGHUR = "ug", "Uyghur"
    CHINESE = "zh", "Chinese"
    RUSSIAN = "ru", "Russian"
    ENGLISH = "en", "English"
    KYRGYZ = "ky", "Kyrgyz"
    UZBEK = "uz", "Uzbek"
    MONGOLIAN = "mn", "Mongolian"
    TURKISH = "tr", "Turkish"
    UNDETERMINED = "und", "Undetermined"
