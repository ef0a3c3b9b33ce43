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


class PublicDownload(models.Model):
    """A bundle of every published case that the public website offers for download
    (website.downloads): the export bundle partners get, with its manifest. Written by a
    background job; the newest is the one offered."""

    file_name = models.CharField(_("file name"), max_length=100, unique=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    manifest_sha256 = models.CharField(_("SHA-256 of the manifest"), max_length=64)
    cases = models.PositiveIntegerField(_("cases"))
    written_at = models.DateTimeField(_("written at"), db_index=True)

    class Meta:
        ordering = ["-written_at", "-pk"]
        verbose_name = _("public data download")
        verbose_name_plural = _("public data downloads")

    def __str__(self):
        return self.file_name


class PublicPortrait(models.Model):
    """The copy of a person's portrait the public website serves (website.portraits): decoded
    and encoded again as a JPEG at most PORTRAIT_SIZE pixels wide or high, so that none of the
    original file's metadata (GPS position, device, dates, comments) is in it."""

    person = models.OneToOneField(
        "people.Person",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("person"),
    )
    image = models.BinaryField(_("image"))
    # The original file's SHA-256: a portrait replaced since is encoded again.
    source_sha256 = models.CharField(_("SHA-256 of the original"), max_length=64)
    written_at = models.DateTimeField(_("written at"))

    class Meta:
        verbose_name = _("public portrait")
        verbose_name_plural = _("public portraits")

    def __str__(self):
        return str(self.person_id)
