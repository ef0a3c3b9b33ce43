"""People named in cases, the names they are known by, and the organisations around them."""

import re

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce

from casetracker.audit import AuditedHistory
from casetracker.choices import Language, Script
from casetracker.edtf import EDTFField, edtf_bounds
from casetracker.models import DomainModel, DomainQuerySet, StaffStampedModel, edtf_bounds_pair
from casetracker.text import detect_script, fold

validate_country_codes = RegexValidator(
    r"^[A-Z]{2}( [A-Z]{2})*$",
    "Enter two-letter country codes separated by spaces, e.g. “CN” or “CN KZ”.",
)


class Gender(models.TextChoices):
    MALE = "male", "Male"
    FEMALE = "female", "Female"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class Ethnicity(models.TextChoices):
    KAZAKH = "kazakh", "Kazakh"
    UYGHUR = "uyghur", "Uyghur"
    KYRGYZ = "kyrgyz", "Kyrgyz"
    HUI = "hui", "Hui"
    UZBEK = "uzbek", "Uzbek"
    TATAR = "tatar", "Tatar"
    TAJIK = "tajik", "Tajik"
    MONGOL = "mongol", "Mongol"
    XIBE = "xibe", "Xibe"
    HAN = "han", "Han"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class Consent(models.TextChoices):
    UNKNOWN = "unknown", "Unknown — not yet asked"
    GRANTED = "granted", "Granted"
    REFUSED = "refused", "Refused"
    WITHDRAWN = "withdrawn", "Withdrawn"
    PUBLIC_RECORD = "public_record", "Not needed — already public record"


class PersonQuerySet(DomainQuerySet):
    def visible_to(self, user):
        """People a staff member may see: not the subject of a sensitive case hidden from them."""
        if user.has_perm("cases.view_sensitive_case"):
            return self
        # Cases sit above this app: reach them by name, not by import.
        Case = apps.get_model("cases", "Case")
        visible = Case.objects.visible_to(user).values("pk")
        hidden = Case.objects.filter(sensitive=True).exclude(pk__in=visible).values("person_id")
        return self.exclude(pk__in=hidden)


class Person(StaffStampedModel):
    """A detainee, a relative, a testifier or anyone else a case names."""

    display_name = models.CharField(
        "name",
        max_length=300,
        editable=False,
        db_index=True,
        help_text="The preferred name, copied from the person's names for lists and search.",
    )
    gender = models.CharField(max_length=10, choices=Gender, default=Gender.UNKNOWN)
    birth_date = EDTFField("date of birth")
    birth_date_earliest, birth_date_latest = edtf_bounds_pair("birth_date", "date of birth")
    ethnicity = models.CharField(max_length=20, choices=Ethnicity, default=Ethnicity.UNKNOWN)
    citizenship = models.CharField(
        max_length=50,
        blank=True,
        validators=[validate_country_codes],
        help_text="ISO country codes, space-separated: CN (China), KZ (Kazakhstan), “CN KZ”.",
    )
    place_of_origin = models.ForeignKey(
        "cases.Location",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="people_from_here",
        help_text="Home town or village, as precisely as known.",
    )
    occupation = models.CharField(
        max_length=300,
        blank=True,
        help_text="Occupation or position, e.g. “Retired journalist, Xinjiang Daily”.",
    )
    public_summary = models.TextField(
        blank=True,
        help_text="Public. What partners may read about this person once a case is published.",
    )
    internal_notes = models.TextField(
        blank=True,
        help_text="Restricted. Staff only: never shown to partners or exported.",
    )
    contact_details = models.TextField(
        blank=True,
        help_text="Restricted. How to reach this person or their family. Staff only.",
    )
    consent = models.CharField(
        "consent to publish",
        max_length=20,
        choices=Consent,
        default=Consent.UNKNOWN,
        help_text="Whether the person or their family agreed that the case may be published.",
    )

    objects = PersonQuerySet.as_manager()
    history = AuditedHistory()

    class Meta:
        ordering = ["display_name", "pk"]
        verbose_name = "person"
        verbose_name_plural = "people"
        constraints = [
            models.CheckConstraint(
                condition=Q(birth_date_earliest__lte=models.F("birth_date_latest"))
                | Q(birth_date_earliest__isnull=True)
                | Q(birth_date_latest__isnull=True),
                name="people_person_birth_date_bounds_ordered",
            ),
        ]

    def __str__(self):
        return self.display_name or f"Unnamed person {str(self.uid)[:8]}"

    def refresh_display_name(self) -> None:
        """Copy the preferred name (or else the first name entered) into ``display_name``."""
        name = (
            self.names.order_by("-is_preferred", "pk").values_list("name", flat=True).first() or ""
        )
        if name != self.display_name:
            self.display_name = name
            type(self).objects.filter(pk=self.pk).update(display_name=name)


class NameKind(models.TextChoices):
    NATIVE = "native", "Native spelling"
    TRANSLITERATION = "transliteration", "Transliteration"
    OFFICIAL_CHINESE = "official_chinese", "Official Chinese name"
    ALIAS = "alias", "Alias or nickname"
    FORMER = "former", "Former name"


class PersonName(DomainModel):
    """One attested spelling of a person's name, in one script and language."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="names")
    name = models.CharField(
        max_length=300,
        help_text="Exactly as the source writes it: Қанат Ережеп, قانات ەرەجەپ, Kanat Yerezhep.",
    )
    script = models.CharField(
        max_length=4,
        choices=Script,
        blank=True,
        help_text="Writing system. Left empty, it is detected from the name.",
    )
    language = models.CharField(
        max_length=8,
        choices=Language,
        default=Language.KAZAKH,
        help_text="Language the name is given in (kk Kazakh, ug Uyghur, zh Chinese, ru Russian…).",
    )
    kind = models.CharField(max_length=20, choices=NameKind, default=NameKind.NATIVE)
    is_preferred = models.BooleanField(
        "preferred",
        default=False,
        help_text="The name shown in lists. At most one per person.",
    )
    search_name = models.CharField(
        max_length=300,
        editable=False,
        db_index=True,
        help_text="Folded form used by search (lower case, separators normalised).",
    )

    history = AuditedHistory()

    class Meta:
        ordering = ["person", "-is_preferred", "pk"]
        verbose_name = "name"
        verbose_name_plural = "names"
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(is_preferred=True),
                name="people_personname_one_preferred_per_person",
                violation_error_message="A person can have only one preferred name.",
            ),
            models.UniqueConstraint(
                fields=["person", "name", "language"],
                name="people_personname_unique_spelling",
                violation_error_message="This person already has this name in this language.",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        self.name = re.sub(r"\s+", " ", self.name or "").strip()
        if not self.name:
            raise ValidationError({"name": "A name cannot be empty."})
        detected = detect_script(self.name)
        matches = (
            (Script.HAN_SIMPLIFIED, Script.HAN_TRADITIONAL) if detected == "Hani" else (detected,)
        )
        if not self.script:
            self.script = matches[0]
        elif detected and self.script not in matches:
            written_in, chosen = Script(matches[0]).label, self.get_script_display()
            raise ValidationError({"script": f"The name is written in {written_in}, not {chosen}."})

    def save(self, *args, **kwargs):
        self.search_name = fold(self.name)
        if not self.script:
            detected = detect_script(self.name)
            self.script = Script.HAN_SIMPLIFIED if detected == "Hani" else (detected or "")
        super().save(*args, **kwargs)
        self.person.refresh_display_name()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        self.person.refresh_display_name()
        return result


class OrganisationKind(models.TextChoices):
    NGO = "ngo", "Human-rights or civil-society group"
    MEDIA = "media", "News media"
    GOVERNMENT = "government", "Government body"
    PARTY = "party", "Communist Party body"
    SECURITY = "security", "Police or state security"
    COURT = "court", "Court or procuratorate"
    DETENTION = "detention", "Detention or prison administration"
    EDUCATION = "education", "School, university or research institute"
    COMPANY = "company", "Company"
    RELIGIOUS = "religious", "Religious body"
    OTHER = "other", "Other"


class Organisation(DomainModel):
    """A body that employs people, detains them, or publishes about them."""

    name = models.CharField(
        "name (English)", max_length=300, help_text="Name in English, as partners will read it."
    )
    name_kk = models.CharField("name (Kazakh)", max_length=300, blank=True)
    name_zh = models.CharField("name (Chinese)", max_length=300, blank=True)
    abbreviation = models.CharField(max_length=50, blank=True, help_text="e.g. RFA, XJTV.")
    kind = models.CharField(max_length=20, choices=OrganisationKind)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text="The body this one is part of, e.g. a department's newspaper.",
    )
    location = models.ForeignKey(
        "cases.Location",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
        help_text="Where it is based.",
    )
    website = models.URLField(blank=True)
    description = models.TextField(blank=True, help_text="Public. A line on what the body is.")

    history = AuditedHistory()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = "organisation"
        verbose_name_plural = "organisations"
        constraints = [
            # Coalesce, not nulls_distinct=False: SQLite does not support the latter.
            models.UniqueConstraint(
                Coalesce("parent", Value(0)),
                "name",
                name="people_organisation_unique_name_in_parent",
                violation_error_message="An organisation with this name already exists here.",
            ),
            models.CheckConstraint(
                condition=~Q(parent=models.F("pk")),
                name="people_organisation_not_own_parent",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.abbreviation})" if self.abbreviation else self.name

    def clean(self):
        node, seen = self.parent, set()
        while node is not None:
            if node.pk == self.pk and self.pk is not None:
                raise ValidationError({"parent": "An organisation cannot be part of itself."})
            if node.pk in seen:
                break
            seen.add(node.pk)
            node = node.parent


class Affiliation(DomainModel):
    """A person's role in an organisation, e.g. director of a TV channel's Kazakh service."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="affiliations")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="affiliations"
    )
    role = models.CharField(max_length=200, help_text="e.g. Director, Journalist, Founder.")
    start = EDTFField("from")
    start_earliest, start_latest = edtf_bounds_pair("start", "from")
    end = EDTFField("until")
    end_earliest, end_latest = edtf_bounds_pair("end", "until")
    is_former = models.BooleanField(
        "former role",
        default=False,
        help_text="Tick if the role has ended, even when the end date is unknown.",
    )

    history = AuditedHistory()

    class Meta:
        ordering = ["person", "start_earliest", "pk"]
        verbose_name = "affiliation"
        verbose_name_plural = "affiliations"
        constraints = [
            models.CheckConstraint(
                condition=Q(start_earliest__lte=models.F("end_latest"))
                | Q(start_earliest__isnull=True)
                | Q(end_latest__isnull=True),
                name="people_affiliation_starts_before_it_ends",
            ),
        ]

    def __str__(self):
        former = "former " if self.is_former else ""
        return f"{self.person}: {former}{self.role}, {self.organisation}"

    def clean(self):
        try:
            start, end = edtf_bounds(self.start), edtf_bounds(self.end)
        except ValidationError:
            return  # the field validators report it
        if start.earliest and end.latest and start.earliest > end.latest:
            raise ValidationError({"end": "The role cannot end before it starts."})


class RelationshipKind(models.TextChoices):
    PARENT_OF = "parent_of", "is a parent of"
    CHILD_OF = "child_of", "is a child of"
    SPOUSE_OF = "spouse_of", "is the spouse of"
    SIBLING_OF = "sibling_of", "is a sibling of"
    RELATIVE_OF = "relative_of", "is another relative of"
    TESTIFIER_OF = "testifier_of", "testified about"
    COLLEAGUE_OF = "colleague_of", "is a colleague of"
    OTHER = "other", "is otherwise connected to"


class Relationship(DomainModel):
    """How two people are connected. Restricted by nature: it can expose families and
    testifiers to reprisals, so it is never shown to partners or exported."""

    from_person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="relationships", verbose_name="person"
    )
    kind = models.CharField(max_length=20, choices=RelationshipKind)
    to_person = models.ForeignKey(
        Person,
        on_delete=models.CASCADE,
        related_name="relationships_in",
        verbose_name="related person",
    )
    notes = models.TextField(blank=True, help_text="Restricted. Staff only.")

    history = AuditedHistory()

    class Meta:
        ordering = ["from_person", "kind", "pk"]
        verbose_name = "relationship (restricted)"
        verbose_name_plural = "relationships (restricted)"
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_person=models.F("to_person")),
                name="people_relationship_not_with_self",
                violation_error_message="A person cannot be related to themselves.",
            ),
            models.UniqueConstraint(
                fields=["from_person", "kind", "to_person"],
                name="people_relationship_unique",
                violation_error_message="This relationship is already recorded.",
            ),
        ]

    def __str__(self):
        return f"{self.from_person} {self.get_kind_display()} {self.to_person}"
