"""The export log: every bundle of cases that left casetracker, who took it and what was in it."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from casetracker.fields import EncryptedTextField


class Channel(models.TextChoices):
    COMMAND = "command", _("manage.py export_cases")
    ADMIN = "admin", _("Admin")
    API = "api", _("Partner API")
    PUBLIC = "public", _("Public website's data download")


class Scope(models.TextChoices):
    PUBLISHED = "published", _("Published cases only")
    UNPUBLISHED = "unpublished", _("Unpublished cases included (staff export)")


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The export log is append-only.")

    def delete(self):
        raise PermissionError("The export log is append-only.")


class ExportLog(models.Model):
    """One export: when, by whom (a staff member or a partner), through what, with which
    filters, how many records, and the SHA-256 of its manifest.json (which holds the hash of
    every file), so that a bundle found later can be matched to its export.

    Written by exports.services only; append-only (a PostgreSQL trigger refuses UPDATE and
    DELETE as well)."""

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel)
    scope = models.CharField(_("scope"), max_length=15, choices=Scope, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
        help_text=_(
            "The staff member who exported (empty: the command without --as, or a partner)."
        ),
    )
    partner = models.ForeignKey(
        "api.Partner",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exports",
        verbose_name=_("partner"),
        help_text=_("The partner who downloaded the bundle through the API."),
    )
    filters = models.JSONField(
        _("filters"),
        default=dict,
        blank=True,
        help_text=_(
            "Filters used, with their values where they are codes, uids, dates or "
            "numbers; of a search or a place given by its name, only that it was given."
        ),
    )
    selected = models.JSONField(
        _("selected"),
        default=list,
        blank=True,
        help_text=_(
            "References of the cases chosen in the admin, when the export was of a "
            "selection (those left out included)."
        ),
    )
    left_out = models.PositiveIntegerField(
        _("left out"),
        default=0,
        help_text=_("Selected cases that were not exported (not published)."),
    )
    formats = models.CharField(_("formats"), max_length=50)
    case_count = models.PositiveIntegerField(_("cases"))
    counts = models.JSONField(
        _("counts"), default=dict, help_text=_("Records in each file of the bundle.")
    )
    manifest_sha256 = models.CharField(_("SHA-256 of manifest.json"), max_length=64, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("export")
        verbose_name_plural = _("export log")
        default_permissions = ("view",)
        permissions = [
            (
                "export_unpublished",
                "Can export unpublished cases (allow-listed fields only; every export logged)",
            ),
        ]

    def __str__(self):
        who = self.user or self.partner or gettext("command line")
        return gettext("%(at)s %(scope)s by %(who)s") % {
            "at": f"{self.at:%Y-%m-%d %H:%M}",
            "scope": self.get_scope_display(),
            "who": who,
        }

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The export log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The export log is append-only.")


class PartnerExport(models.Model):
    """An export a partner asked for through the API (``POST /api/v1/exports/``), made by a
    background job (``exports.tasks.partner_bundle``) that the partner follows and whose file
    it downloads. Only that partner sees it (exports.api)."""

    # (A key of its own, a number: key rotation walks encrypted tables by numeric key.)
    job = models.OneToOneField(
        "jobs.Job",
        on_delete=models.CASCADE,
        related_name="partner_export",
        verbose_name=_("background job"),
    )
    partner = models.ForeignKey(
        "api.Partner",
        on_delete=models.PROTECT,
        related_name="background_exports",
        verbose_name=_("partner"),
    )
    # The case filters asked for, as JSON (name → values). Encrypted, and emptied once the
    # export is made: a search holds a name the partner looked for, which is kept nowhere
    # else (the export log and the request log keep only that a search was given).
    filters = EncryptedTextField(_("filters"), blank=True)

    class Meta:
        verbose_name = _("partner export")
        verbose_name_plural = _("partner exports")
        default_permissions = ()

    def __str__(self):
        return str(self.job_id)
