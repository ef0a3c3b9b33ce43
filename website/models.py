"""What the organisation writes for its public website, in each interface language."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from casetracker.audit import AuditedHistory
from casetracker.models import StaffStampedModel


class MethodologyQuerySet(models.QuerySet):
    def for_language(self, code: str):
        """The text in language ``code``; else the one in the site's default language; else
        None (the page then shows the text that comes with casetracker)."""
        texts = {t.language: t for t in self.filter(language__in=[code, settings.LANGUAGE_CODE])}
        return texts.get(code) or texts.get(settings.LANGUAGE_CODE)


class Methodology(StaffStampedModel):
    """The methodology page: how the organisation documents and verifies cases, and how to
    ask for a correction or a removal. One text per language; the evidence levels are listed
    under it from the software's own definitions."""

    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, unique=True
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(
        _("text"),
        help_text=_(
            "Plain text: a blank line starts a new paragraph, and web addresses become links."
        ),
    )

    objects = MethodologyQuerySet.as_manager()
    history = AuditedHistory()

    class Meta:
        ordering = ["language"]
        verbose_name = _("methodology text")
        verbose_name_plural = _("methodology texts")

    def __str__(self):
        return f"{self.title} ({self.get_language_display()})"
