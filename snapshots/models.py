"""The published snapshots: each case in the published set, stored as partners see it.

A snapshot is the case's public document, exactly what ``api.public.CaseSerializer`` gives for
the case detail, kept as JSON text with the API addresses of records as paths (the origin of
the request is put in front when it is written out), and the columns partner lists are sorted
and paged on. Partner outputs write the stored text out instead of serialising the case again
on every request. Only ``snapshots.writer`` writes these rows; they are derived from the
case, its history and its publication record, so they are not audited themselves.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import Case, CaseStatus, EvidenceLevel
from casetracker.fields import EncryptedTextField
from people.models import Ethnicity, Gender


class PublishedCase(models.Model):
    case = models.OneToOneField(
        Case,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="snapshot",
        verbose_name=_("case"),
    )
    uid = models.UUIDField(_("uid"), unique=True)
    reference = models.CharField(_("reference"), max_length=20, unique=True)
    updated_at = models.DateTimeField(_("updated at"))
    # What the partner filters read of the case itself, as the document shows it (api.filters:
    # the rest, events, incidents and names, through the case's key).
    status = models.CharField(_("current situation"), max_length=30, choices=CaseStatus)
    evidence_level = models.PositiveSmallIntegerField(
        _("evidence level"), choices=EvidenceLevel, null=True
    )
    ethnicity = models.CharField(_("ethnicity"), max_length=20, choices=Ethnicity)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender)
    # The public document as JSON text (api.public.CaseSerializer, addresses as paths),
    # encrypted at rest like the columns it is made from (a source's author and address).
    document = EncryptedTextField(_("document"))
    written_at = models.DateTimeField(_("written at"))
    # Set while the case's correction is in review: the document is the last verified
    # version, kept (snapshots.writer.hold) until the correction is verified.
    held_since = models.DateTimeField(_("correction in review since"), null=True, blank=True)
    # False when, during a correction, the live names, events or incidents no longer say
    # what the held document shows: the filters that read them leave the case out.
    filters_current = models.BooleanField(_("filters read what it shows"), default=True)

    class Meta:
        verbose_name = _("published snapshot")
        verbose_name_plural = _("published snapshots")
        indexes = [
            # The partner list's default order, newest change first, a page at a time.
            models.Index(fields=["updated_at", "case"], name="snapshots_listed_idx"),
        ]

    def __str__(self):
        return self.reference


class SnapshotState(models.Model):
    """What the stored snapshots were written under: the fingerprint of the allow-list and of
    the settings that decide the published set (snapshots.writer.fingerprint). A migration
    that finds another fingerprint rewrites every snapshot."""

    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    written_at = models.DateTimeField(_("written at"))

    class Meta:
        verbose_name = _("snapshot state")
        verbose_name_plural = _("snapshot states")

    def __str__(self):
        return self.fingerprint
