"""Where each fact comes from: sources, the citations that tie them to claims, and files."""

import hashlib
import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases.models import Case, DeletionRefused, DetentionEvent, ReviewState
from casetracker.audit import AuditedHistory
from casetracker.choices import Language
from casetracker.edtf import EDTFField, edtf_in_words
from casetracker.fields import (
    EncryptedCharField,
    EncryptedTextField,
    EncryptedURLField,
    LookupDigestField,
    evidence_storage,
)
from casetracker.models import DomainModel, DomainQuerySet, StaffStampedModel, edtf_bounds_pair
from people.models import Organisation, Person


class SourceKind(models.TextChoices):
    NEWS_REPORT = "news_report", _("News report")
    NGO_REPORT = "ngo_report", _("NGO report or list")
    TESTIMONY = "testimony", _("Testimony")
    INTERVIEW = "interview", _("Interview")
    OFFICIAL_DOCUMENT = "official_document", _("Official document")
    COURT_DOCUMENT = "court_document", _("Court document")
    LEAKED_DOCUMENT = "leaked_document", _("Leaked official document")
    SOCIAL_MEDIA_POST = "social_media_post", _("Social media post")
    VIDEO = "video", _("Video or broadcast")
    PHOTO = "photo", _("Photograph")
    OTHER = "other", _("Other")


class Reliability(models.TextChoices):
    """Admiralty (NATO) source reliability."""

    A = "A", _("A — completely reliable")
    B = "B", _("B — usually reliable")
    C = "C", _("C — fairly reliable")
    D = "D", _("D — not usually reliable")
    E = "E", _("E — unreliable")
    F = "F", _("F — reliability cannot be judged")


class Credibility(models.IntegerChoices):
    """Admiralty (NATO) information credibility."""

    CONFIRMED = 1, _("1 — confirmed by other sources")
    PROBABLY_TRUE = 2, _("2 — probably true")
    POSSIBLY_TRUE = 3, _("3 — possibly true")
    DOUBTFUL = 4, _("4 — doubtful")
    IMPROBABLE = 5, _("5 — improbable")
    CANNOT_JUDGE = 6, _("6 — truth cannot be judged")


class Access(models.TextChoices):
    PUBLIC = "public", _("Public — may be cited to partners")
    RESTRICTED = "restricted", _("Restricted — staff only")
    CONFIDENTIAL = "confidential", _("Confidential — staff only, endangers people if leaked")


class SourceQuerySet(DomainQuerySet):
    def with_url(self, url: str):
        """Sources at exactly this address (the URL is encrypted: matched by its digest)."""
        digest = self.model._meta.get_field("url_digest").digest_of(url)
        return self.filter(url_digest=digest) if digest else self.none()

    def with_urls(self, urls):
        """Sources at any of these addresses."""
        field = self.model._meta.get_field("url_digest")
        digests = {field.digest_of(url) for url in urls} - {""}
        return self.filter(url_digest__in=digests)

    def visible_to(self, user):
        """Sources a staff member may see (need to know, README "Roles").

        Staff entitled to every sensitive case see every source. Anyone else sees a source
        cited by at least one case, event or person they may see; a source cited by nothing
        (yet, or any more) only if it is public or they entered it. So a testimony cited only
        by a sensitive case stays hidden from staff not assigned to that case, and stays so
        when its citations are removed.
        """
        if user.has_perm("cases.view_sensitive_case"):
            return self
        visible_citations = Citation.objects.visible_to(user).filter(source=OuterRef("pk"))
        any_citation = Citation.objects.filter(source=OuterRef("pk"))
        return self.filter(
            Exists(visible_citations)
            | (~Exists(any_citation) & (Q(access=Access.PUBLIC) | Q(created_by_id=user.pk)))
        )

    def delete(self):
        refused = [source.title for source in self if source.ever_cited_by_verified_case()]
        if refused:
            raise DeletionRefused(
                gettext("Sources of verified cases can be archived, never deleted: %(titles)s.")
                % {"titles": "; ".join(refused)}
            )
        return super().delete()


class Source(StaffStampedModel):
    """A report, testimony, document or post that makes claims about cases."""

    title = models.CharField(
        _("title"), max_length=500, help_text=_("Headline or a short description.")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=SourceKind)
    publisher = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sources",
        verbose_name=_("publisher"),
        help_text=_("The organisation that published it, e.g. Radio Free Asia."),
    )
    # Encrypted: the speaker of a testimony is a testifier.
    author = EncryptedCharField(
        _("author"), max_length=300, blank=True, help_text=_("Author or speaker, if named.")
    )
    # Encrypted: a URL can name a private channel or file share. Found by its digest.
    url = EncryptedURLField(_("URL"), max_length=1000, blank=True)
    url_digest = LookupDigestField(source="url")
    archive_url = models.URLField(
        _("archived copy"),
        max_length=1000,
        blank=True,
        help_text=_("A web.archive.org or archive.today copy, in case the original disappears."),
    )
    published = EDTFField(_("publication date"))
    # The derived bounds are never shown (not editable): their label stays a plain string.
    published_earliest, published_latest = edtf_bounds_pair("published", "publication date")
    language = models.CharField(
        _("language"), max_length=8, choices=Language, default=Language.ENGLISH
    )
    reliability = models.CharField(
        _("reliability"),
        max_length=1,
        choices=Reliability,
        default=Reliability.F,
        help_text=_("Admiralty grade of the source's track record (A best, F cannot be judged)."),
    )
    access = models.CharField(
        _("access"),
        max_length=20,
        choices=Access,
        default=Access.RESTRICTED,
        help_text=_(
            "Who may see this source. Testimonies are confidential unless agreed otherwise."
        ),
    )
    notes = EncryptedTextField(_("notes"), blank=True, help_text=_("Restricted. Staff only."))
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True, editable=False)

    objects = SourceQuerySet.as_manager()
    # The URL's digest is derived from the URL, which the history keeps (encrypted).
    history = AuditedHistory(excluded_fields=["url_digest"])

    class Meta:
        ordering = [models.F("published_earliest").desc(nulls_last=True), "title", "pk"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        permissions = [("archive_source", "Can archive sources")]
        constraints = [
            models.CheckConstraint(
                condition=Q(published_earliest__lte=models.F("published_latest"))
                | Q(published_earliest__isnull=True)
                | Q(published_latest__isnull=True),
                name="sources_source_published_bounds_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.title} ({edtf_in_words(self.published)})" if self.published else self.title

    # What a source weighs as evidence (cases.services.suggest_evidence_level).
    @property
    def is_documentary(self) -> bool:
        return self.kind in DOCUMENTARY_KINDS

    @property
    def is_first_hand(self) -> bool:
        return self.kind in FIRST_HAND_KINDS

    @property
    def independence_key(self) -> tuple:
        """Sources with the same key are not independent: same publisher, or for testimony
        without a publisher, the same testifier."""
        if self.publisher_id:
            return ("publisher", self.publisher_id)
        if self.author.strip():
            return ("author", self.author.strip().casefold())
        # Neither publisher nor author: the origin is unknown, and two such sources may well
        # be one. They count as one, never as corroboration of each other.
        return ("unknown origin",)

    def ever_cited_by_verified_case(self) -> bool:
        """Whether this source backs, or once backed, a case that has been verified. Looks at
        the citations' history too: removing a citation does not make a source deletable."""
        verified = Case.objects.filter(
            Q(review_state=ReviewState.VERIFIED) | Q(transitions__to_state="verified")
        )
        cited = Citation.history.filter(source_id=self.pk)
        return verified.filter(
            Q(pk__in=cited.values("case_id"))
            | Q(events__pk__in=cited.values("event_id"))
            | Q(person_id__in=cited.values("person_id"))
        ).exists()

    def delete(self, *args, **kwargs):
        if self.pk and self.ever_cited_by_verified_case():
            raise DeletionRefused(
                gettext("This source supports a verified case: it can be archived, never deleted.")
            )
        return super().delete(*args, **kwargs)


DOCUMENTARY_KINDS = {
    SourceKind.OFFICIAL_DOCUMENT,
    SourceKind.COURT_DOCUMENT,
    SourceKind.LEAKED_DOCUMENT,
}
FIRST_HAND_KINDS = {SourceKind.TESTIMONY, SourceKind.INTERVIEW}


class CitationQuerySet(DomainQuerySet):
    def visible_to(self, user):
        """Citations of cases, events and people the user may see (need to know)."""
        if user.has_perm("cases.view_sensitive_case"):
            return self  # every case, so every event and person: no test of each citation
        cases = Case.objects.visible_to(user)
        return self.filter(
            Q(case__in=cases)
            | Q(event__case__in=cases)
            | Q(person__in=Person.objects.visible_to(user))
        )


class Citation(DomainModel):
    """A claim a source makes about exactly one case, event or person."""

    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="citations", verbose_name=_("source")
    )
    case = models.ForeignKey(
        Case,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="citations",
        verbose_name=_("case"),
    )
    event = models.ForeignKey(
        DetentionEvent,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="citations",
        verbose_name=_("event"),
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="citations",
        verbose_name=_("person"),
    )
    claim = EncryptedTextField(
        _("claim"),
        help_text=_("What the source says that this citation supports, in your own words."),
    )
    # Encrypted: where in a confidential source a claim sits can identify its speaker.
    locator = EncryptedCharField(
        _("locator"),
        max_length=200,
        blank=True,
        help_text=_("Where in the source: page 3, paragraph 4, 12:30 in the video…"),
    )
    quote = EncryptedTextField(_("quote"), blank=True, help_text=_("The exact words, if useful."))
    credibility = models.PositiveSmallIntegerField(
        _("information credibility"),
        choices=Credibility,
        default=Credibility.CANNOT_JUDGE,
        help_text=_("Admiralty grade of this piece of information (1 confirmed … 6 cannot judge)."),
    )

    objects = CitationQuerySet.as_manager()
    history = AuditedHistory()

    class Meta:
        ordering = ["source", "pk"]
        verbose_name = _("citation")
        verbose_name_plural = _("citations")
        constraints = [
            models.CheckConstraint(
                condition=Q(case__isnull=False, event__isnull=True, person__isnull=True)
                | Q(case__isnull=True, event__isnull=False, person__isnull=True)
                | Q(case__isnull=True, event__isnull=True, person__isnull=False),
                name="sources_citation_exactly_one_subject",
                violation_error_message=_("A citation supports exactly one case, event or person."),
            ),
        ]

    def __str__(self):
        subject = self.case or self.event or self.person
        where = f", {self.locator}" if self.locator else ""
        return f"{self.source.title}{where} → {subject}"


def evidence_path(instance: "EvidenceFile", filename: str) -> str:
    # A random name on disk: the original name may itself identify someone.
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"evidence/{uuid.uuid4().hex}{suffix}"


class EvidenceFileQuerySet(DomainQuerySet):
    def visible_to(self, user):
        """The files of the sources the user may see (SourceQuerySet.visible_to)."""
        return self.filter(source__in=Source.objects.visible_to(user))


class EvidenceFile(DomainModel):
    """A file that backs a source: a scan, a screenshot, a recording. Fixed once uploaded."""

    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="files", verbose_name=_("source")
    )
    # Every evidence file is encrypted on disk, whatever its source's access level: the level
    # can be raised after upload. The SHA-256 and size are those of the original bytes.
    file = models.FileField(
        _("file"), upload_to=evidence_path, storage=evidence_storage, max_length=200
    )
    original_name = EncryptedCharField(_("original name"), max_length=255, editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, editable=False, db_index=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"), editable=False)
    content_type = models.CharField(_("content type"), max_length=100, editable=False)
    description = EncryptedCharField(_("description"), max_length=300, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("uploaded by"),
    )

    objects = EvidenceFileQuerySet.as_manager()
    history = AuditedHistory()

    class Meta:
        ordering = ["source", "pk"]
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")

    def __str__(self):
        return self.original_name or self.file.name

    def clean(self):
        if self.pk is None and self.file and self.file.size > settings.EVIDENCE_MAX_UPLOAD_BYTES:
            limit = settings.EVIDENCE_MAX_UPLOAD_BYTES // (1024 * 1024)
            raise ValidationError(
                {"file": gettext("Files over %(limit)s MB cannot be uploaded.") % {"limit": limit}}
            )

    def save(self, *args, **kwargs):
        if self.pk is None:
            self._fingerprint()
        else:
            stored = type(self).objects.filter(pk=self.pk).values_list("file", "sha256").get()
            if stored != (self.file.name, self.sha256):
                raise ValidationError(gettext("An evidence file cannot be replaced after upload."))
        super().save(*args, **kwargs)

    def _fingerprint(self) -> None:
        """Hash the upload chunk by chunk, so a large file is never held in memory whole."""
        digest, size = hashlib.sha256(), 0
        for chunk in self.file.chunks():
            digest.update(chunk)
            size += len(chunk)
        self.file.seek(0)
        self.sha256, self.size = digest.hexdigest(), size
        self.original_name = self.original_name or PurePath(self.file.name).name[:255]
        # The browser's claim, kept for information; downloads are always sent as attachments.
        claimed = getattr(self.file.file, "content_type", None)
        self.content_type = (claimed or self.content_type or "application/octet-stream")[:100]
