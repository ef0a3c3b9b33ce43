"""Bulk imports of case lists: one record per file imported, and the submitting groups' own
ids for the people, cases and events a file creates, so that a re-import updates them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from casetracker.fields import EncryptedTextField


class ImportFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    XLSX = "xlsx", _("XLSX (Excel)")


class BatchStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to be checked")
    RUNNING = "running", _("Checking or importing")
    PREVIEWED = "previewed", _("Previewed, waiting for confirmation")
    VALIDATED = "validated", _("Dry run: no errors, nothing written")
    INVALID = "invalid", _("Refused: errors in the file, nothing written")
    IMPORTED = "imported", _("Imported")
    FAILED = "failed", _("Failed: rolled back, nothing written")
    EXPIRED = "expired", _("Preview expired: not confirmed in time, file discarded")
    INTERRUPTED = "interrupted", _("Interrupted: the process stopped, nothing written")


class ImportBatch(models.Model):
    """One file submitted for import: what it was, who sent it, and what it did.

    Written by imports.services only. Kept for every run, dry runs and refused files too, so
    that the audit trail shows who tried to import what."""

    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    format = models.CharField(_("format"), max_length=10, choices=ImportFormat, blank=True)
    content = models.BinaryField(
        _("content"),
        editable=False,
        null=True,
        help_text=_(
            "The file as uploaded in the admin, encrypted (casetracker.crypto), kept "
            "until it is confirmed, refused or expired (imports.services.PREVIEW_KEPT)."
        ),
    )
    preview = EncryptedTextField(
        _("preview"),
        blank=True,
        default="",
        editable=False,
        help_text=_(
            "What the check found, as its page shows it (people, cases and events to create "
            "or update, possible duplicates, errors), encrypted: it quotes the file."
        ),
    )
    group = models.ForeignKey(
        "people.Organisation",
        on_delete=models.PROTECT,
        related_name="import_batches",
        verbose_name=_("group"),
        help_text=_("The group that submitted the list; its external ids are unique within it."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("imported by"),
    )
    created_at = models.DateTimeField(_("started"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=BatchStatus,
        default=BatchStatus.RUNNING,
        db_index=True,
    )
    rows = models.PositiveIntegerField(_("rows"), default=0)
    people_created = models.PositiveIntegerField(_("people created"), default=0)
    people_updated = models.PositiveIntegerField(_("people updated"), default=0)
    names_added = models.PositiveIntegerField(_("names added"), default=0)
    cases_created = models.PositiveIntegerField(_("cases created"), default=0)
    cases_updated = models.PositiveIntegerField(_("cases updated"), default=0)
    events_created = models.PositiveIntegerField(_("events created"), default=0)
    events_updated = models.PositiveIntegerField(_("events updated"), default=0)
    sources_created = models.PositiveIntegerField(_("sources created"), default=0)
    citations_created = models.PositiveIntegerField(_("citations created"), default=0)
    duplicates_flagged = models.PositiveIntegerField(
        _("possible duplicates"),
        default=0,
        help_text=_("New people who resemble someone on file."),
    )
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    errors = models.JSONField(
        _("error list"),
        default=list,
        blank=True,
        help_text=_("The first errors found: row, column and what was expected."),
    )
    failure = models.TextField(
        _("failure"),
        blank=True,
        help_text=_("Why the import failed after validation (rolled back)."),
    )
    # Which process works on the batch, and when it was last seen doing so: a batch left
    # running by a process that died is shown as interrupted (imports.services
    # .mark_interrupted_batches, casetracker.processes).
    host = models.CharField(
        _("host"),
        max_length=255,
        blank=True,
        help_text=_("The machine that ran the import."),
    )
    pid = models.PositiveIntegerField(
        _("process id"),
        null=True,
        blank=True,
        help_text=_("The process that ran the import, on that machine."),
    )
    last_seen_at = models.DateTimeField(
        _("last seen"),
        null=True,
        blank=True,
        help_text=_(
            "When the import was last seen working (updated as it goes), or when it finished."
        ),
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        constraints = [
            # Two imports of one file for one group at once would race to create the same
            # people; a preview or dry run writes nothing and is never in the way, nor is a
            # batch whose process has gone (interrupted).
            models.UniqueConstraint(
                fields=["group", "sha256"],
                condition=Q(status=BatchStatus.RUNNING, dry_run=False),
                name="imports_importbatch_one_running_import_per_file",
                violation_error_message=_("This file is already being imported for this group."),
            ),
        ]

    def __str__(self):
        return gettext("Import #%(number)s: %(file_name)s") % {
            "number": self.pk,
            "file_name": self.file_name,
        }

    @property
    def reason(self) -> str:
        """What every history row this batch writes says about why."""
        return f"Import batch #{self.pk} ({self.file_name})"


# The counts an import keeps, as shown in the admin and printed by the command.
COUNT_FIELDS = [
    "people_created",
    "people_updated",
    "names_added",
    "cases_created",
    "cases_updated",
    "events_created",
    "events_updated",
    "sources_created",
    "citations_created",
    "duplicates_flagged",
]


class RecordKind(models.TextChoices):
    PERSON = "person", _("Person")
    CASE = "case", _("Case")
    EVENT = "event", _("Event")


class ExternalRecord(models.Model):
    """A submitting group's own id for a person, case or event that an import wrote.

    Ids are chosen by the group, so they are unique per group and kind only."""

    group = models.ForeignKey(
        "people.Organisation",
        on_delete=models.PROTECT,
        related_name="external_records",
        verbose_name=_("group"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=RecordKind)
    external_id = models.CharField(_("external id"), max_length=200)
    person = models.ForeignKey(
        "people.Person",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="external_records",
        verbose_name=_("person"),
    )
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="external_records",
        verbose_name=_("case"),
    )
    event = models.ForeignKey(
        "cases.DetentionEvent",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="external_records",
        verbose_name=_("event"),
    )
    first_batch = models.ForeignKey(
        ImportBatch,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by import"),
    )
    last_batch = models.ForeignKey(
        ImportBatch, on_delete=models.PROTECT, related_name="+", verbose_name=_("last import")
    )

    class Meta:
        ordering = ["group", "kind", "external_id"]
        verbose_name = _("external id")
        verbose_name_plural = _("external ids")
        constraints = [
            models.UniqueConstraint(
                fields=["group", "kind", "external_id"],
                name="imports_externalrecord_unique_per_group",
                violation_error_message=_("This group already uses this external id."),
            ),
            models.CheckConstraint(
                condition=Q(kind=RecordKind.PERSON, person__isnull=False, case__isnull=True)
                & Q(event__isnull=True)
                | Q(kind=RecordKind.CASE, person__isnull=True, case__isnull=False)
                & Q(event__isnull=True)
                | Q(kind=RecordKind.EVENT, person__isnull=True, case__isnull=True)
                & Q(event__isnull=False),
                name="imports_externalrecord_one_target_of_its_kind",
            ),
        ]

    def __str__(self):
        return f"{self.group_id}/{self.kind}/{self.external_id}"

    @property
    def target(self):
        return self.person or self.case or self.event
