"""The export log: every bundle of cases that left casetracker, who took it and what was in it."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Channel(models.TextChoices):
    COMMAND = "command", "manage.py export_cases"
    ADMIN = "admin", "Admin"
    API = "api", "Partner API"


class Scope(models.TextChoices):
    PUBLISHED = "published", "Published cases only"
    UNPUBLISHED = "unpublished", "Unpublished cases included (staff export)"


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

    at = models.DateTimeField("when", default=timezone.now, db_index=True)
    channel = models.CharField(max_length=10, choices=Channel)
    scope = models.CharField(max_length=15, choices=Scope, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff member who exported (empty: the command without --as, or a partner).",
    )
    partner = models.ForeignKey(
        "api.Partner",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exports",
        help_text="The partner who downloaded the bundle through the API.",
    )
    filters = models.JSONField(
        default=dict,
        blank=True,
        help_text="Filters used, with their values where they are codes, uids, dates or "
        "numbers; of a search or a place given by its name, only that it was given.",
    )
    selected = models.JSONField(
        default=list,
        blank=True,
        help_text="References of the cases chosen in the admin, when the export was of a "
        "selection (those left out included).",
    )
    left_out = models.PositiveIntegerField(
        default=0, help_text="Selected cases that were not exported (not published)."
    )
    formats = models.CharField(max_length=50)
    case_count = models.PositiveIntegerField("cases")
    counts = models.JSONField(default=dict, help_text="Records in each file of the bundle.")
    manifest_sha256 = models.CharField("SHA-256 of manifest.json", max_length=64, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "export"
        verbose_name_plural = "export log"
        default_permissions = ("view",)
        permissions = [
            (
                "export_unpublished",
                "Can export unpublished cases (allow-listed fields only; every export logged)",
            ),
        ]

    def __str__(self):
        who = self.user or self.partner or "command line"
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_scope_display()} by {who}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The export log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The export log is append-only.")
