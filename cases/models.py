"""Case files: one person's detention history, its events, and the vocabularies they use."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from casetracker.audit import AuditedHistory
from casetracker.edtf import EDTFField, edtf_in_words
from casetracker.fields import EncryptedTextField
from casetracker.integrity import lock_chain
from casetracker.models import (
    DomainModel,
    DomainQuerySet,
    StaffStampedModel,
    edtf_bounds_pair,
    edtf_window_pair,
)
from languages.services import local_name
from people.models import Consent, Organisation, Person


class LocationKind(models.TextChoices):
    COUNTRY = "country", _("Country")
    REGION = "region", _("Region or province")
    PREFECTURE = "prefecture", _("Prefecture or prefecture-level city")
    COUNTY = "county", _("County or county-level city")
    TOWNSHIP = "township", _("Township or town")
    VILLAGE = "village", _("Village or neighbourhood")
    FACILITY = "facility", _("Facility (prison, camp, detention centre…)")


# Each kind may only sit inside a kind ranked above it, so the hierarchy cannot loop.
LOCATION_RANK = {kind: rank for rank, kind in enumerate(LocationKind.values)}

# Below county level: the places staff add themselves (townships, villages, facilities), each
# inside a county-level place or another place below it. Countries, regions, prefectures and
# counties are the gazetteer that Administrators keep (Location.check_editor).
STAFF_KINDS = (LocationKind.TOWNSHIP, LocationKind.VILLAGE, LocationKind.FACILITY)
STAFF_PARENT_KINDS = (LocationKind.COUNTY, LocationKind.TOWNSHIP, LocationKind.VILLAGE)
# The kinds a place's label names its ancestors up to: "Yining (Ghulja) — Ili …".
LABEL_STOPS = (LocationKind.COUNTRY, LocationKind.REGION, LocationKind.PREFECTURE)


class FacilityType(models.TextChoices):
    PRISON = "prison", _("Prison")
    DETENTION_CENTRE = "detention_centre", _("Detention centre (看守所)")
    INTERNMENT_CAMP = "internment_camp", _("Internment camp (“vocational training centre”)")
    POLICE_STATION = "police_station", _("Police station")
    COURT = "court", _("Court")
    HOSPITAL = "hospital", _("Hospital")
    OTHER = "other", _("Other")


class LocationQuerySet(DomainQuerySet):
    def within(self, location: "Location"):
        """The location and every place inside it."""
        return self.filter(path__startswith=location.path)

    def added_by(self, user):
        """Places whose history starts with ``user`` adding them."""
        added = Location.history.model.objects.filter(
            id=OuterRef("pk"), history_type="+", history_user_id=user.pk
        )
        return self.filter(Exists(added))

    def changeable_by(self, user):
        """The places ``user`` may change: all of them with ``cases.manage_gazetteer``;
        otherwise only places below county level, and of those only the ones they added unless
        they also have ``cases.curate_location`` (README, "Roles")."""
        if not user.has_perm("cases.change_location"):
            return self.none()
        if user.has_perm("cases.manage_gazetteer"):
            return self
        below_county = self.filter(kind__in=STAFF_KINDS)
        if user.has_perm("cases.curate_location"):
            return below_county
        return below_county.added_by(user)


# A place's name in each language (languages.services.local_name picks the reader's).
LOCATION_NAMES = ("name_en", "name_kk", "name_ru", "name_zh")


def place_labels(places) -> dict[int, str]:
    """{pk: label} for ``places``, each named with where it lies, nearest first, up to its
    prefecture (or region, or country): "Yining (Ghulja) — Ili Kazakh Autonomous Prefecture",
    "Camp No. 3 — Yining County, Ili Kazakh Autonomous Prefecture". Names are in the reader's
    language where the gazetteer has them. One query for them all."""
    places = list(places)
    chains = {p.pk: [int(pk) for pk in p.path.strip("/").split("/")[-2::-1] if pk] for p in places}
    wanted = {pk for chain in chains.values() for pk in chain}
    above = {
        row["pk"]: (local_name(row), row["kind"])
        for row in Location._base_manager.filter(pk__in=wanted).values(
            "pk", "kind", *LOCATION_NAMES
        )
    }
    labels = {}
    for place in places:
        names = []
        for pk in chains[place.pk]:
            if pk not in above:
                break
            name, kind = above[pk]
            names.append(name)
            if kind in LABEL_STOPS:
                break
        name = local_name(place)
        labels[place.pk] = f"{name} — {', '.join(names)}" if names else name
    return labels


class Location(DomainModel):
    """A place: country → region → prefecture → county/city → township/village, or a facility."""

    kind = models.CharField(_("kind"), max_length=20, choices=LocationKind)
    facility_type = models.CharField(
        _("facility type"),
        max_length=20,
        choices=FacilityType,
        blank=True,
        help_text=_("Only for facilities: what kind of facility it is."),
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
        help_text=_(
            "The place this one lies in, e.g. Ili Kazakh Autonomous Prefecture for Yining."
        ),
    )
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_kk = models.CharField(_("name (Kazakh)"), max_length=200, blank=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    name_ru = models.CharField(
        _("name (Russian)"),
        max_length=200,
        blank=True,
        help_text=_("The established Russian name, e.g. Кульджа (Инин) for Yining."),
    )
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
        help_text=_("Decimal degrees, e.g. 43.825592. Leave empty if unknown."),
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
        help_text=_("Decimal degrees, e.g. 87.616848."),
    )
    path = models.CharField(
        _("path"),
        max_length=255,
        editable=False,
        db_index=True,
        help_text=_("Ids from the top of the hierarchy, e.g. /1/2/14/: finds everything inside."),
    )

    objects = LocationQuerySet.as_manager()
    history = AuditedHistory(excluded_fields=["path"])

    class Meta:
        ordering = ["path"]
        verbose_name = _("place")
        verbose_name_plural = _("places")
        permissions = [
            (
                "manage_gazetteer",
                _("Can add and change countries, regions, prefectures and counties"),
            ),
            ("curate_location", _("Can change places below county level that others added")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=LocationKind.FACILITY) | Q(facility_type=""),
                name="cases_location_facility_type_only_for_facilities",
                violation_error_message=_("Only facilities have a facility type."),
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
                name="cases_location_coordinates_complete",
                violation_error_message=_("Give both latitude and longitude, or neither."),
            ),
            # Coalesce, not nulls_distinct=False: SQLite does not support the latter.
            models.UniqueConstraint(
                Coalesce("parent", Value(0)),
                "name_en",
                name="cases_location_unique_name_in_parent",
                violation_error_message=_("A place with this name already exists there."),
            ),
        ]

    def __str__(self):
        return local_name(self)

    def clean(self):
        if self.kind == LocationKind.FACILITY and not self.facility_type:
            raise ValidationError({"facility_type": gettext("Say what kind of facility this is.")})
        if self.parent_id is None:
            if self.kind != LocationKind.COUNTRY:
                raise ValidationError({"parent": gettext("Only a country has no parent place.")})
            return
        if self.parent.kind == LocationKind.FACILITY or (
            LOCATION_RANK[self.parent.kind] >= LOCATION_RANK[self.kind]
        ):
            raise ValidationError(
                {
                    "parent": gettext("A %(kind)s cannot lie inside a %(parent_kind)s.")
                    % {
                        "kind": self.get_kind_display().lower(),
                        "parent_kind": self.parent.get_kind_display().lower(),
                    }
                }
            )

    @property
    def label(self) -> str:
        """The name and where the place lies (place_labels; one query)."""
        return place_labels([self])[self.pk] if self.pk else local_name(self)

    def check_editor(self, user) -> None:
        """Raise ValidationError unless ``user`` may save this place as it now stands.

        Administrators (``cases.manage_gazetteer``) keep the gazetteer: countries, regions,
        prefectures and counties. Everyone else who may add places adds them below county
        level (a township, village or facility) inside a county-level place or below, and may
        change only the places Location.objects.changeable_by() gives them. The admin calls
        this on every save; so must any other way staff get to write places."""
        if user.has_perm("cases.manage_gazetteer"):
            return
        if self.pk is not None and not (
            Location.objects.changeable_by(user).filter(pk=self.pk).exists()
        ):
            raise ValidationError(
                _(
                    "You may not change this place: Administrators keep countries, regions, "
                    "prefectures and counties, and Verifiers correct the places others added."
                ),
                code="not_changeable",
            )
        errors = {}
        if self.kind not in STAFF_KINDS:
            errors["kind"] = ValidationError(
                _(
                    "Only Administrators add or change countries, regions, prefectures and "
                    "counties. Add a township, village or facility instead."
                ),
                code="gazetteer",
            )
        elif self.parent_id is None or self.parent.kind not in STAFF_PARENT_KINDS:
            errors["parent"] = ValidationError(
                _(
                    "Put it inside a county or county-level city, or inside a township or "
                    "village in one."
                ),
                code="above_county",
            )
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        with transaction.atomic():
            if self.pk is not None:
                # Moved: the new paths first, so that the save's receivers (the statistics
                # count a case in the prefecture its places lie in) read where it lies now.
                self._refresh_path()
            super().save(*args, **kwargs)
            self._refresh_path()  # a new place: its own id ends its path

    def _refresh_path(self) -> None:
        prefix = self.parent.path if self.parent_id else "/"
        new_path, old_path = f"{prefix}{self.pk}/", self.path
        if new_path == old_path:
            return
        # The path is derived and left out of history: the base manager writes it directly.
        places = Location._base_manager
        places.filter(pk=self.pk).update(path=new_path)
        self.path = new_path
        if old_path:  # moved: carry everything inside along
            moved = list(places.filter(path__startswith=old_path).exclude(pk=self.pk))
            for place in moved:
                place.path = new_path + place.path[len(old_path) :]
            places.bulk_update(moved, ["path"])


class Charge(DomainModel):
    """An offence under the PRC Criminal Law that detainees are charged with or accused of."""

    name = models.CharField(
        _("name"), max_length=200, unique=True, help_text=_("English name of the offence.")
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    article = models.CharField(
        _("Criminal Law article"),
        max_length=50,
        blank=True,
        help_text=_(
            "Article of the PRC Criminal Law, e.g. 103(2). Empty if not a statutory charge."
        ),
    )
    description = models.TextField(_("description"), blank=True)

    history = AuditedHistory()

    class Meta:
        ordering = ["name"]
        verbose_name = _("charge")
        verbose_name_plural = _("charges")

    def __str__(self):
        # The Chinese name for a Chinese reader; otherwise the English one.
        name = local_name(self, english="name")
        if not self.article:
            return name
        return gettext("%(name)s (Art. %(article)s)") % {"name": name, "article": self.article}


class Incident(DomainModel):
    """A wave or operation that many cases belong to, e.g. the 2024 arrests of Kazakh
    intellectuals."""

    name = models.CharField(_("name"), max_length=300, unique=True)
    date = EDTFField(_("date"))
    date_earliest, date_latest = edtf_bounds_pair("date", "date")
    description = models.TextField(
        _("description"), blank=True, help_text=_("Public. What is known of the wave.")
    )

    history = AuditedHistory()

    class Meta:
        ordering = ["-date_earliest", "name"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")

    def __str__(self):
        return self.name


class CaseStatus(models.TextChoices):
    DETAINED = "detained", _("Detained")
    SENTENCED = "sentenced", _("Sentenced")
    RELEASED = "released", _("Released")
    RELEASED_UNDER_RESTRICTIONS = "released_under_restrictions", _("Released under restrictions")
    DISAPPEARED = "disappeared", _("Disappeared")
    DECEASED = "deceased", _("Deceased")
    UNKNOWN = "unknown", _("Unknown")


class ReviewState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    VERIFIED = "verified", _("Verified")


class EvidenceLevel(models.IntegerChoices):
    REPORTED = 1, _("1 — reported (a single secondary mention)")
    TESTIMONY = 2, _("2 — testimony (first-hand account of a relative or witness)")
    CORROBORATED = 3, _("3 — corroborated (two or more independent sources)")
    DOCUMENTED = 4, _("4 — documented (official, court or leaked official document)")


# Consent that allows publication.
PUBLISHABLE_CONSENT = (Consent.GRANTED, Consent.PUBLIC_RECORD)


class CaseQuerySet(DomainQuerySet):
    def published(self):
        """The single definition of what partners may ever see. Every partner-visible output
        (API, exports) starts from here. Synthetic cases (the synthetic app) are never in it,
        but in a database made for measuring (PUBLISH_SYNTHETIC_DATA)."""
        return self._meant_for_partners().filter(review_state=ReviewState.VERIFIED)

    def in_correction(self):
        """Published cases that an edit sent back to review (or that were returned for
        changes since): their new content is not verified yet, and nothing has withdrawn
        them. Partners keep seeing the version last verified (snapshots.writer holds its
        snapshot) until a verifier verifies the correction, unpublishes the case, or the
        case is archived, marked sensitive or loses consent, which take it away at once."""
        return self._meant_for_partners().exclude(review_state=ReviewState.VERIFIED)

    def _meant_for_partners(self):
        published = self.filter(
            is_published=True,
            archived_at__isnull=True,
            sensitive=False,
            person__consent__in=PUBLISHABLE_CONSENT,
            evidence_level__gte=settings.MIN_PUBLISH_EVIDENCE_LEVEL,
        )
        return published.without_synthetic()

    def without_synthetic(self):
        """Synthetic cases (the synthetic app) leave every output, partners' and staff
        exports', but in a database made for measuring (PUBLISH_SYNTHETIC_DATA)."""
        return self if settings.PUBLISH_SYNTHETIC_DATA else self.filter(synthetic=False)

    def visible_to(self, user):
        """Cases a staff member may see: sensitive ones only if assigned, or entitled to all."""
        if user.has_perm("cases.view_sensitive_case"):
            return self
        assigned = Case.assigned_staff.through.objects.filter(user_id=user.pk).values("case_id")
        return self.filter(Q(sensitive=False) | Q(pk__in=assigned))

    def delete(self):
        refused = [case.reference for case in self if case.archived_at or case.ever_verified()]
        if refused:
            raise DeletionRefused(
                gettext("Verified cases can be archived, never deleted: %(references)s.")
                % {"references": ", ".join(refused)}
            )
        return super().delete()


# A case reference as CaseReferenceCounter gives them out: CT-2024-00017.
REFERENCE_PATTERN = r"[A-Z]+-\d{4}-\d{5}"


class CaseReferenceCounter(models.Model):
    """The last case number given out in a year. Locked row by row while a number is taken."""

    year = models.PositiveIntegerField(_("year"), primary_key=True)
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("case reference counter")
        verbose_name_plural = _("case reference counters")

    def __str__(self):
        return f"{self.year}: {self.last_number}"

    @classmethod
    def next_reference(cls, year: int) -> str:
        """Take the next reference of ``year``, e.g. CT-2024-00017.

        The counter row stays locked until the caller's transaction ends, so concurrent
        creators queue and none can take the same number.
        """
        return cls.next_references(year, 1)[0]

    @classmethod
    def next_references(cls, year: int, count: int) -> list[str]:
        """Take the next ``count`` references of ``year``, consecutive, in one locked update
        (a bulk import's new cases); locked like next_reference()."""
        if count < 1:
            return []
        with transaction.atomic():
            lock_chain()  # the audit chain's lock before the counter's (casetracker.integrity)
            counter, _ = cls.objects.select_for_update().get_or_create(year=year)
            cls.objects.filter(pk=year).update(last_number=F("last_number") + count)
            counter.refresh_from_db()
        first = counter.last_number - count + 1
        return [
            f"{settings.CASE_REFERENCE_PREFIX}-{year}-{number:05d}"
            for number in range(first, counter.last_number + 1)
        ]


def _reference_help_text() -> str:
    example = f"{settings.CASE_REFERENCE_PREFIX}-2024-00017"
    return gettext(
        "The case's reference, given when it is created: the prefix, the year and a number, "
        "such as %(example)s."
    ) % {"example": example}


# Lazy, and the very object the migrations use (cases/migrations/0001_initial.py): the example
# follows CASE_REFERENCE_PREFIX and a different prefix needs no migration of its own.
REFERENCE_HELP_TEXT = lazy(_reference_help_text, str)()


class Case(StaffStampedModel):
    """One case file: one person's detention history as the sources tell it."""

    reference = models.CharField(
        _("reference"),
        max_length=20,
        unique=True,
        editable=False,
        help_text=REFERENCE_HELP_TEXT,
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("person"),
        help_text=_("The detained person: search by any spelling, or add them with “+”."),
    )
    status = models.CharField(
        _("current situation"),
        max_length=30,
        choices=CaseStatus,
        default=CaseStatus.UNKNOWN,
        editable=False,
        db_index=True,
        help_text=_("Derived from the latest dated event, unless overridden."),
    )
    status_override = models.CharField(
        _("override current situation"),
        max_length=30,
        choices=CaseStatus,
        blank=True,
        help_text=_("Only if the events do not show the person's current situation correctly."),
    )
    review_state = models.CharField(
        _("review state"),
        max_length=20,
        choices=ReviewState,
        default=ReviewState.DRAFT,
        editable=False,
        db_index=True,
    )
    incidents = models.ManyToManyField(
        Incident,
        blank=True,
        related_name="cases",
        verbose_name=_("incidents"),
        help_text=_("Waves or operations this case is part of."),
    )
    sensitive = models.BooleanField(
        _("sensitive (need to know)"),
        default=False,
        help_text=_(
            "Only assigned staff, verifiers and administrators can see a sensitive case. "
            "A sensitive case is never published."
        ),
    )
    assigned_staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="assigned_cases",
        verbose_name=_("assigned staff"),
        help_text=_(
            "Staff working on this case; the only data-entry staff who see it if sensitive."
        ),
    )
    evidence_level = models.PositiveSmallIntegerField(
        _("evidence level"), choices=EvidenceLevel, null=True, blank=True, editable=False
    )
    evidence_level_reason = EncryptedTextField(
        _("evidence level reason"),
        blank=True,
        editable=False,
        help_text=_("Why the verifier set a lower level than suggested."),
    )
    submitted_at = models.DateTimeField(_("submitted for review"), null=True, editable=False)
    verified_at = models.DateTimeField(_("verified at"), null=True, editable=False)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        editable=False,
        related_name="+",
        verbose_name=_("verified by"),
    )
    is_published = models.BooleanField(_("published"), default=False, editable=False)
    published_at = models.DateTimeField(_("published at"), null=True, editable=False)
    archived_at = models.DateTimeField(_("archived at"), null=True, editable=False, db_index=True)
    public_summary = models.TextField(
        _("public summary"),
        blank=True,
        help_text=_("Public. A few sentences partners may read once the case is published."),
    )
    synthetic = models.BooleanField(
        _("synthetic"),
        default=False,
        editable=False,
        help_text=_("Made up by generate_synthetic for trials and benchmarks: never published."),
    )
    internal_notes = EncryptedTextField(
        _("internal notes"),
        blank=True,
        help_text=_("Restricted. Staff only: never shown to partners or exported."),
    )

    objects = CaseQuerySet.as_manager()
    history = AuditedHistory(m2m_fields=[incidents])

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        permissions = [
            ("verify_case", _("Can verify cases and request changes")),
            ("publish_case", _("Can publish and unpublish cases")),
            ("archive_case", _("Can archive cases")),
            ("view_sensitive_case", _("Can see sensitive cases without being assigned")),
        ]
        # The home page's work lists (cases.home) read the oldest or newest few cases of a
        # state: each through an index, never a sort of the whole state.
        indexes = [
            models.Index(fields=["review_state", "submitted_at"], name="cases_case_queue_idx"),
            models.Index(
                fields=["review_state", "is_published", "verified_at"],
                name="cases_case_unpublished_idx",
            ),
            models.Index(fields=["is_published", "published_at"], name="cases_case_published_idx"),
            # The admin's case list, newest first (Meta.ordering), a page at a time.
            models.Index(fields=["created_at", "id"], name="cases_case_listed_idx"),
        ]

    def __str__(self):
        """Reads self.person: select_related("person") when listing cases."""
        return f"{self.reference or gettext('New case')} · {self.person}"

    def save(self, *args, **kwargs):
        with transaction.atomic():
            if not self.reference:
                self.reference = CaseReferenceCounter.next_reference(timezone.localdate().year)
            self.status = self.status_override or self.derived_status()
            super().save(*args, **kwargs)

    @property
    def workflow_state(self) -> str:
        """Where the case stands: draft, in_review, verified, published or archived."""
        if self.archived_at:
            return "archived"
        if self.is_published and self.review_state == ReviewState.VERIFIED:
            return "published"
        return self.review_state

    def ever_verified(self) -> bool:
        return (
            self.review_state == ReviewState.VERIFIED
            or self.transitions.filter(to_state__in=["verified", "published"]).exists()
        )

    def delete(self, *args, **kwargs):
        if self.pk and (self.archived_at or self.ever_verified()):
            raise DeletionRefused(
                gettext("%(reference)s has been verified: it can be archived, never deleted.")
                % {"reference": self.reference}
            )
        return super().delete(*args, **kwargs)

    def derived_status(self) -> str:
        """The situation the latest dated event implies (events that imply none are skipped)."""
        if self.pk is None:
            return CaseStatus.UNKNOWN
        latest = (
            _status_events(self.events.all())
            .order_by(*LATEST_EVENT_FIRST)
            .values_list("kind", flat=True)
            .first()
        )
        return EVENT_STATUS[latest] if latest else CaseStatus.UNKNOWN

    @staticmethod
    def derived_statuses(case_ids) -> dict[int, str]:
        """derived_status() of many cases, in one query per 2,000 cases (a bulk import)."""
        ids, statuses = sorted(set(case_ids)), {}
        for start in range(0, len(ids), 2000):  # SQLite's limit on parameters
            events = _status_events(
                DetentionEvent.objects.filter(case_id__in=ids[start : start + 2000])
            )
            rows = events.order_by("case_id", *LATEST_EVENT_FIRST).values_list("case_id", "kind")
            for case_id, kind in rows:
                statuses.setdefault(case_id, EVENT_STATUS[kind])  # the first is the latest
        return {pk: statuses.get(pk, CaseStatus.UNKNOWN) for pk in ids}

    def refresh_status(self) -> None:
        status = self.status_override or self.derived_status()
        if status != self.status:
            # A derived value, not an edit: it does not take part in the version check.
            self.status, self.updated_at = status, timezone.now()
            Case.objects.filter(pk=self.pk).update(status=status, updated_at=self.updated_at)


class DeletionRefused(Exception):
    """The record is part of the verified archive: archive it instead."""


class TransitionAction(models.TextChoices):
    SUBMIT = "submit", _("Submitted for review")
    REQUEST_CHANGES = "request_changes", _("Changes requested")
    VERIFY = "verify", _("Verified")
    PUBLISH = "publish", _("Published")
    UNPUBLISH = "unpublish", _("Unpublished")
    ARCHIVE = "archive", _("Archived")
    REOPEN = "reopen", _("Back to review after an edit")


class AppendOnlyQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        from casetracker.integrity import append

        with transaction.atomic(using=self.db, savepoint=False):
            created = super().bulk_create(objs, *args, **kwargs)
            append(created, self.db)  # one link per step in the audit chain, as single saves
        return created

    def update(self, **kwargs):
        raise PermissionError("The transition log is append-only.")

    def delete(self):
        raise PermissionError("The transition log is append-only.")


class CaseTransition(models.Model):
    """One step of a case through review and publication. Append-only: never changed."""

    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, related_name="transitions", verbose_name=_("case")
    )
    action = models.CharField(_("action"), max_length=20, choices=TransitionAction)
    from_state = models.CharField(_("from state"), max_length=20)
    to_state = models.CharField(_("to state"), max_length=20)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("user"),
    )
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    # Reasons may quote testimonies or name testifiers: encrypted at rest.
    reason = EncryptedTextField(_("reason"), blank=True)
    evidence_level = models.PositiveSmallIntegerField(
        _("evidence level"), choices=EvidenceLevel, null=True
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["case", "at", "pk"]
        verbose_name = _("workflow step")
        verbose_name_plural = _("workflow log")

    def __str__(self):
        return f"{self.case_id}: {self.from_state} → {self.to_state}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The transition log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The transition log is append-only.")


class PublicationRecord(models.Model):
    """One stretch of time during which partners could see a case (it had a published
    snapshot: ``Case.objects.published()``, and a correction of it in review since).

    Kept by cases.publication.record() after every write that can change it, so that partners
    who keep copies learn when a case leaves the published set (withdrawn: unpublished,
    consent withdrawn, marked sensitive, archived) and remove it."""

    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, related_name="publication_records", verbose_name=_("case")
    )
    published_at = models.DateTimeField(_("published at"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["case", "published_at", "pk"]
        verbose_name = _("publication record")
        verbose_name_plural = _("publication records")
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(withdrawn_at__isnull=True),
                name="cases_publicationrecord_one_open_per_case",
            ),
        ]

    def __str__(self):
        return (
            f"{self.case_id}: {self.published_at:%Y-%m-%d} – {self.withdrawn_at or gettext('now')}"
        )


class EventKind(models.TextChoices):
    DETAINED = "detained", _("Detained")
    ARRESTED = "arrested", _("Formally arrested")
    CHARGED = "charged", _("Charged")
    TRIED = "tried", _("Tried")
    SENTENCED = "sentenced", _("Sentenced")
    TRANSFERRED = "transferred", _("Transferred")
    RELEASED = "released", _("Released")
    RELEASED_UNDER_RESTRICTIONS = "released_under_restrictions", _("Released under restrictions")
    DISAPPEARED = "disappeared", _("Disappeared")
    DIED = "died", _("Died")
    FAMILY_NOTIFIED = "family_notified", _("Family notified")
    SIGHTED = "sighted", _("Sighted")


# The situation each kind of event leaves the person in; kinds not listed say nothing of it.
EVENT_STATUS = {
    EventKind.DETAINED: CaseStatus.DETAINED,
    EventKind.ARRESTED: CaseStatus.DETAINED,
    EventKind.CHARGED: CaseStatus.DETAINED,
    EventKind.TRIED: CaseStatus.DETAINED,
    EventKind.TRANSFERRED: CaseStatus.DETAINED,
    EventKind.SENTENCED: CaseStatus.SENTENCED,
    EventKind.RELEASED: CaseStatus.RELEASED,
    EventKind.RELEASED_UNDER_RESTRICTIONS: CaseStatus.RELEASED_UNDER_RESTRICTIONS,
    EventKind.DISAPPEARED: CaseStatus.DISAPPEARED,
    EventKind.DIED: CaseStatus.DECEASED,
}


# The events that start a detention, and those that say where and by whom a person was held:
# the statistics (figures.facts) and the UN drafts (submissions.drafts) read them alike.
DETENTION_STARTS = frozenset({EventKind.DETAINED, EventKind.ARRESTED})
HELD_AT = frozenset(
    {
        EventKind.DETAINED,
        EventKind.ARRESTED,
        EventKind.CHARGED,
        EventKind.TRIED,
        EventKind.SENTENCED,
        EventKind.TRANSFERRED,
        EventKind.SIGHTED,
    }
)

# Events latest first, for the case's current situation. No latest day means an open end
# ("2025/.."): later than any date.
LATEST_EVENT_FIRST = (
    F("date_latest").desc(nulls_first=True),
    F("date_earliest").desc(nulls_last=True),
    "-pk",
)


def _status_events(events):
    """The events that can say what a case's current situation is: dated, of a kind that
    implies one."""
    return events.filter(kind__in=list(EVENT_STATUS)).exclude(
        date_earliest__isnull=True, date_latest__isnull=True
    )


class ChargeBasis(models.TextChoices):
    # Empty is "not stated", the default: a sentenced event is not "without charges" because
    # nobody filled this in.
    NOT_STATED = "", _("Not stated")
    OFFICIAL = "official", _("Officially disclosed (charge sheet, verdict, notice)")
    REPORTED = "reported", _("Reported, not officially disclosed")
    NONE = "none", _("No charges known (the sources say none were disclosed)")


class EventQuerySet(DomainQuerySet):
    def visible_to(self, user):
        return self.filter(case__in=Case.objects.visible_to(user))

    def within(self, earliest=None, latest=None, approximate: bool = False):
        """Events that may have happened between the days ``earliest`` and ``latest`` (either
        None: no bound): their dating overlaps the window, an open end being endless; with
        ``approximate``, their approximate window does (casetracker.edtf.edtf_window). The one
        rule of the partner API's date_from/date_to and the case list's date filter."""
        low, high = (
            ("date_window_earliest", "date_window_latest")
            if approximate
            else (
                "date_earliest",
                "date_latest",
            )
        )
        overlap = Q(**{f"{low}__isnull": False}) | Q(**{f"{high}__isnull": False})
        if earliest:
            overlap &= Q(**{f"{high}__gte": earliest}) | Q(**{f"{high}__isnull": True})
        if latest:
            overlap &= Q(**{f"{low}__lte": latest}) | Q(**{f"{low}__isnull": True})
        return self.filter(overlap)


class DetentionEvent(DomainModel):
    """One dated step in a case: detention, trial, sentence, transfer, release, notification…"""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="events", verbose_name=_("case")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=EventKind)
    date = EDTFField(_("date"))
    date_earliest, date_latest = edtf_bounds_pair("date", "date")
    # The approximate window (casetracker.edtf.edtf_window): searches that ask for approximate
    # dates too use these. Derived, so not kept in the history.
    date_window_earliest, date_window_latest = edtf_window_pair("date", "date")
    location = models.ForeignKey(
        Location,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("location"),
        help_text=_("Where it happened, as precisely as known (a region, a city, a village)."),
    )
    facility = models.ForeignKey(
        Location,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="facility_events",
        limit_choices_to={"kind": LocationKind.FACILITY},
        verbose_name=_("facility"),
        help_text=_("The prison, camp or detention centre, if known."),
    )
    authority = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("authority"),
        help_text=_("The body that acted: a public security bureau, a court…"),
    )
    charges = models.ManyToManyField(
        Charge,
        blank=True,
        related_name="events",
        verbose_name=_("charges"),
        help_text=_("Charges or accusations reported with this event."),
    )
    charge_basis = models.CharField(
        _("charges known from"),
        max_length=10,
        choices=ChargeBasis,
        blank=True,
        help_text=_("Whether the authorities disclosed the charges or they are only reported."),
    )
    sentence = models.CharField(
        _("sentence"),
        max_length=200,
        blank=True,
        help_text=_("As reported, e.g. “15 years”, “life”."),
    )
    description = models.TextField(
        _("description"), blank=True, help_text=_("Public. What happened, briefly.")
    )

    objects = EventQuerySet.as_manager()
    history = AuditedHistory(
        m2m_fields=[charges], excluded_fields=["date_window_earliest", "date_window_latest"]
    )

    class Meta:
        ordering = ["case", F("date_earliest").asc(nulls_last=True), "pk"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        constraints = [
            models.CheckConstraint(
                condition=Q(date_earliest__lte=F("date_latest"))
                | Q(date_earliest__isnull=True)
                | Q(date_latest__isnull=True),
                name="cases_detentionevent_date_bounds_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {edtf_in_words(self.date) or gettext('(date unknown)')}"

    def clean(self):
        if self.facility_id and self.facility.kind != LocationKind.FACILITY:
            raise ValidationError({"facility": gettext("Choose a facility, not a place.")})
        if self.location_id and self.location.kind == LocationKind.FACILITY:
            raise ValidationError(
                {"location": gettext("Choose a place here; facilities go below.")}
            )
        if self.facility_id and not self.location_id:
            self.location = self.facility.parent
        if self.sentence and self.kind != EventKind.SENTENCED:
            raise ValidationError({"sentence": gettext("Only a sentencing event has a sentence.")})

    def save(self, *args, **kwargs):
        with transaction.atomic():
            super().save(*args, **kwargs)
            self.case.refresh_status()

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            result = super().delete(*args, **kwargs)
            self.case.refresh_status()
        return result
