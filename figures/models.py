"""The facts the statistics count: one row per case (and its charges and places), twice.

- ``PublishedFacts``: per published case, read off its published document
  (snapshots.models.PublishedCase), never off the live records: the statistics partners see
  count what partners can see, a held correction included as its last verified version.
  Only ``snapshots.writer`` writes them, in the transaction that writes the snapshot; a
  snapshot's deletion takes its facts with it. Nothing there is restricted: every value
  comes from the public document.
- ``CaseFacts``: per case, whatever its state, read off the live records for the staff's
  statistics page (``figures.staff`` writes them in the transaction of every write that can
  change them). They hold what a staff member may count, and the case's need-to-know flag,
  so that a page counts only the cases its reader may see.

``figures.facts`` derives the values of both from a document of one shape.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import (
    Case,
    CaseStatus,
    Charge,
    EvidenceLevel,
    Location,
    LocationKind,
    ReviewState,
)
from people.models import Ethnicity, Gender
from snapshots.models import PublishedCase


class SentenceKind(models.TextChoices):
    TERM = "term", _("Prison term")
    LIFE = "life", _("Life imprisonment")
    DEATH_SUSPENDED = "death_suspended", _("Death sentence, suspended")
    DEATH = "death", _("Death sentence")
    UNREAD = "unread", _("Sentence as written could not be read")


class ChargesState(models.TextChoices):
    NAMED = "named", _("Charges named")
    NONE_DISCLOSED = "none", _("No charges disclosed")
    NOT_STATED = "not_stated", _("Not stated")


class PlaceRole(models.TextChoices):
    DETENTION = "detention", _("Place of detention")
    ORIGIN = "origin", _("Place of origin")


class Precision(models.IntegerChoices):
    """How precisely a case's places of one role are known: the finest level of any."""

    NONE = 0, _("No place recorded")
    ABOVE_PREFECTURE = 1, _("Known only above prefecture level")
    PREFECTURE = 2, _("Prefecture known, not the county")
    COUNTY = 3, _("County known")


class FactsBase(models.Model):
    """The values counted, the same for a published case and for any case."""

    status = models.CharField(_("current situation"), max_length=30, choices=CaseStatus)
    evidence_level = models.PositiveSmallIntegerField(
        _("evidence level"), choices=EvidenceLevel, null=True
    )
    ethnicity = models.CharField(_("ethnicity"), max_length=20, choices=Ethnicity)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender)
    # First detention (the earliest detained or arrested event): no earlier than the
    # earliest of their earliest days, no later than the earliest of their latest days.
    # Null when no such event is dated; detained_latest null alone: open-ended ("2019/..").
    detained_earliest = models.DateField(_("first detained, earliest"), null=True)
    detained_latest = models.DateField(_("first detained, latest"), null=True)
    detained_year_low = models.PositiveSmallIntegerField(_("first detained, from year"), null=True)
    detained_year_high = models.PositiveSmallIntegerField(_("first detained, to year"), null=True)
    # Whole years of age at the first detention, youngest and oldest possible (from the
    # birth date's and the detention's bounds); null when either is unknown.
    age_low = models.PositiveSmallIntegerField(_("age at detention, youngest"), null=True)
    age_high = models.PositiveSmallIntegerField(_("age at detention, oldest"), null=True)
    # Days from the first detention to the family's first notification, shortest and longest.
    notified_low = models.PositiveIntegerField(_("days to family notified, fewest"), null=True)
    notified_high = models.PositiveIntegerField(_("days to family notified, most"), null=True)
    # The last sentence given (sentenced events), read by figures.sentences.
    sentence_kind = models.CharField(
        _("sentence"), max_length=20, choices=SentenceKind, blank=True, default=""
    )
    sentence_months = models.PositiveIntegerField(_("sentence in months"), null=True)
    charges_state = models.CharField(
        _("charges"), max_length=12, choices=ChargesState, default=ChargesState.NOT_STATED
    )
    detention_precision = models.PositiveSmallIntegerField(
        _("places of detention known to"), choices=Precision, default=Precision.NONE
    )
    origin_precision = models.PositiveSmallIntegerField(
        _("place of origin known to"), choices=Precision, default=Precision.NONE
    )

    class Meta:
        abstract = True


class PublishedFacts(FactsBase):
    # Removed by figures.facts.remove before their snapshot (snapshots.writer), which takes
    # them out of the kept counts (Tally): a deletion that forgot them fails at commit.
    snapshot = models.OneToOneField(
        PublishedCase,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        related_name="facts",
        verbose_name=_("published snapshot"),
    )

    class Meta:
        verbose_name = _("published case facts")
        verbose_name_plural = _("published case facts")
        indexes = [
            models.Index(fields=["status"], name="figures_status_idx"),
            models.Index(
                fields=["detained_year_low", "detained_year_high"], name="figures_year_idx"
            ),
        ]

    def __str__(self):
        return str(self.snapshot_id)


class PublishedFactCharge(models.Model):
    """A charge a published case names (once per case, however many events name it)."""

    facts = models.ForeignKey(PublishedFacts, on_delete=models.CASCADE, related_name="charges")
    # Removed by figures.facts.unlink before the charge (figures.signals), out of the counts.
    charge = models.ForeignKey(Charge, on_delete=models.DO_NOTHING, related_name="+")

    class Meta:
        verbose_name = _("charge of a published case")
        verbose_name_plural = _("charges of published cases")
        constraints = [
            models.UniqueConstraint(fields=["facts", "charge"], name="figures_charge_once")
        ]
        indexes = [models.Index(fields=["charge", "facts"], name="figures_charge_idx")]

    def __str__(self):
        return f"{self.facts_id}: {self.charge_id}"


class PublishedFactPlace(models.Model):
    """The prefecture or county of a place a published case names as where the person was
    held or comes from (a facility or village counts in its county and prefecture), once per
    case, role and place. The levels the statistics break down by, and only those."""

    facts = models.ForeignKey(PublishedFacts, on_delete=models.CASCADE, related_name="places")
    role = models.CharField(_("role"), max_length=10, choices=PlaceRole)
    kind = models.CharField(_("level"), max_length=20, choices=LocationKind)
    # Removed by figures.facts.unlink before the place (figures.signals), out of the counts.
    location = models.ForeignKey(Location, on_delete=models.DO_NOTHING, related_name="+")

    class Meta:
        verbose_name = _("place of a published case")
        verbose_name_plural = _("places of published cases")
        constraints = [
            models.UniqueConstraint(fields=["facts", "role", "location"], name="figures_place_once")
        ]
        # A breakdown reads (role, kind) and groups by place, from the index alone.
        indexes = [
            models.Index(fields=["role", "kind", "location", "facts"], name="figures_place_idx")
        ]

    def __str__(self):
        return f"{self.facts_id}: {self.role} {self.location_id}"


class CaseFacts(FactsBase):
    """The facts of any case, for the staff (figures.staff), with what only staff count."""

    # Removed by figures.facts.remove when the case is (figures.signals.case_deleted).
    case = models.OneToOneField(
        Case, primary_key=True, on_delete=models.DO_NOTHING, related_name="facts"
    )
    review_state = models.CharField(_("review state"), max_length=20, choices=ReviewState)
    added_on = models.DateField(_("added on"))
    verified_on = models.DateField(_("verified on"), null=True)
    # Whom the case may be counted for, and whether at all (Case.objects.visible_to,
    # without_synthetic, archived cases): copied so that a page reads this table alone.
    sensitive = models.BooleanField(_("sensitive"))
    archived = models.BooleanField(_("archived"))
    synthetic = models.BooleanField(_("synthetic"))

    class Meta:
        verbose_name = _("statistics")
        verbose_name_plural = _("statistics")

    def __str__(self):
        return str(self.case_id)


class CaseFactCharge(models.Model):
    """A charge a case names (once per case, however many events name it)."""

    facts = models.ForeignKey(CaseFacts, on_delete=models.CASCADE, related_name="charges")
    # Removed by figures.facts.unlink before the charge (figures.signals), out of the counts.
    charge = models.ForeignKey(Charge, on_delete=models.DO_NOTHING, related_name="+")

    class Meta:
        verbose_name = _("charge of a case")
        verbose_name_plural = _("charges of cases")
        constraints = [
            models.UniqueConstraint(fields=["facts", "charge"], name="figures_case_charge_once")
        ]
        indexes = [models.Index(fields=["charge", "facts"], name="figures_case_charge_idx")]

    def __str__(self):
        return f"{self.facts_id}: {self.charge_id}"


class CaseFactPlace(models.Model):
    """The prefecture or county of a place a case names (as PublishedFactPlace)."""

    facts = models.ForeignKey(CaseFacts, on_delete=models.CASCADE, related_name="places")
    role = models.CharField(_("role"), max_length=10, choices=PlaceRole)
    kind = models.CharField(_("level"), max_length=20, choices=LocationKind)
    # Removed by figures.facts.unlink before the place (figures.signals), out of the counts.
    location = models.ForeignKey(Location, on_delete=models.DO_NOTHING, related_name="+")

    class Meta:
        verbose_name = _("place of a case")
        verbose_name_plural = _("places of cases")
        constraints = [
            models.UniqueConstraint(
                fields=["facts", "role", "location"], name="figures_case_place_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["role", "kind", "location", "facts"], name="figures_case_place_idx"
            )
        ]

    def __str__(self):
        return f"{self.facts_id}: {self.role} {self.location_id}"


class Tally(models.Model):
    """How many cases of one class count under one key of one dimension (figures.tally): the
    statistics of every case a class holds, kept current by the same writes as the facts
    (figures.facts.write and remove, in their transaction), so that a page counting every
    case reads a few thousand of these rows instead of millions of facts.

    A class is what decides who may count a case: its scope (the published facts, for
    partners and the public; every case's, for staff), and for staff whether the case is
    sensitive, archived or synthetic."""

    scope = models.CharField(_("scope"), max_length=10)
    sensitive = models.BooleanField(_("sensitive"), default=False)
    archived = models.BooleanField(_("archived"), default=False)
    synthetic = models.BooleanField(_("synthetic"), default=False)
    dimension = models.CharField(_("dimension"), max_length=30)
    # The values counted, as a JSON list (figures.tally.encode).
    key = models.CharField(_("key"), max_length=200)
    cases = models.BigIntegerField(_("cases"))

    class Meta:
        verbose_name = _("tally")
        verbose_name_plural = _("tallies")
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "sensitive", "archived", "synthetic", "dimension", "key"],
                name="figures_tally_once",
            )
        ]

    def __str__(self):
        return f"{self.scope} {self.dimension} {self.key}: {self.cases}"
