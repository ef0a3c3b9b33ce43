"""People named in cases, the names they are known by, and the organisations around them."""

import re

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from casetracker.audit import AuditedHistory
from casetracker.choices import Language, Script
from casetracker.edtf import EDTFField, edtf_bounds
from casetracker.fields import EncryptedCharField, EncryptedTextField
from casetracker.models import DomainModel, DomainQuerySet, StaffStampedModel, edtf_bounds_pair
from casetracker.text import detect_script, fold
from languages.services import local_name, name_scripts

validate_country_codes = RegexValidator(
    r"^[A-Z]{2}( [A-Z]{2})*$",
    _("Enter two-letter country codes separated by spaces, e.g. “CN” or “CN KZ”."),
)


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class Ethnicity(models.TextChoices):
    KAZAKH = "kazakh", _("Kazakh")
    UYGHUR = "uyghur", _("Uyghur")
    KYRGYZ = "kyrgyz", _("Kyrgyz")
    HUI = "hui", _("Hui")
    UZBEK = "uzbek", _("Uzbek")
    TATAR = "tatar", _("Tatar")
    TAJIK = "tajik", _("Tajik")
    MONGOL = "mongol", _("Mongol")
    XIBE = "xibe", _("Xibe")
    HAN = "han", _("Han")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class Consent(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown — not yet asked")
    GRANTED = "granted", _("Granted")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    PUBLIC_RECORD = "public_record", _("Not needed — already public record")


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
        _("name"),
        max_length=300,
        editable=False,
        db_index=True,
        help_text=_("The preferred name, copied from the person's names for lists and search."),
    )
    # {script: name}: the preferred (else the first entered) spelling in each script, copied from
    # the person's names like display_name, so that a list shows each reader the spelling in
    # their interface's script without reading the names (Person.__str__).
    names_by_script = models.JSONField(default=dict, blank=True, editable=False)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender, default=Gender.UNKNOWN)
    birth_date = EDTFField(_("date of birth"))
    # The derived bounds are never shown (not editable): their label stays a plain string.
    birth_date_earliest, birth_date_latest = edtf_bounds_pair("birth_date", "date of birth")
    ethnicity = models.CharField(
        _("ethnicity"), max_length=20, choices=Ethnicity, default=Ethnicity.UNKNOWN
    )
    citizenship = models.CharField(
        _("citizenship"),
        max_length=50,
        blank=True,
        validators=[validate_country_codes],
        help_text=_("ISO country codes, space-separated: CN (China), KZ (Kazakhstan), “CN KZ”."),
    )
    place_of_origin = models.ForeignKey(
        "cases.Location",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="people_from_here",
        verbose_name=_("place of origin"),
        help_text=_("Home town or village, as precisely as known."),
    )
    occupation = models.CharField(
        _("occupation"),
        max_length=300,
        blank=True,
        help_text=_("Occupation or position, e.g. “Retired journalist, Xinjiang Daily”."),
    )
    public_summary = models.TextField(
        _("public summary"),
        blank=True,
        help_text=_("Public. What partners may read about this person once a case is published."),
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
    contact_details = EncryptedTextField(
        _("contact details"),
        blank=True,
        help_text=_("Restricted. How to reach this person or their family. Staff only."),
    )
    consent = models.CharField(
        _("consent to publish"),
        max_length=20,
        choices=Consent,
        default=Consent.UNKNOWN,
        help_text=_("Whether the person or their family agreed that the case may be published."),
    )
    # The photograph the public website shows (website.portraits): an image among the evidence
    # files, published only with the family's consent to it, as a re-encoded copy that keeps
    # none of the file's metadata.
    portrait = models.ForeignKey(
        "sources.EvidenceFile",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"content_type__startswith": "image/"},
        verbose_name=_("public portrait"),
        help_text=_(
            "A photograph among the evidence files. Shown on the public website only with the "
            "consent below, as a copy without the file's metadata (place, device, dates)."
        ),
    )
    portrait_consent = models.BooleanField(
        _("consent to publish the portrait"),
        default=False,
        help_text=_("The person or their family agreed that this photograph may be published."),
    )

    objects = PersonQuerySet.as_manager()
    history = AuditedHistory()

    class Meta:
        ordering = ["display_name", "pk"]
        verbose_name = _("person")
        verbose_name_plural = _("people")
        # The admin's person list and picker, by name (Meta.ordering), a page at a time.
        indexes = [models.Index(fields=["display_name", "id"], name="people_person_listed_idx")]
        permissions = [
            ("merge_person", "Can merge duplicate records of one person"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(birth_date_earliest__lte=models.F("birth_date_latest"))
                | Q(birth_date_earliest__isnull=True)
                | Q(birth_date_latest__isnull=True),
                name="people_person_birth_date_bounds_ordered",
            ),
        ]

    def __str__(self):
        """The name in the reader's script where the person has one (Kazakh Cyrillic for a
        Kazakh or Russian interface, Chinese characters for a Chinese one), else the
        preferred name. Names are never translated: only which spelling comes first."""
        for script in name_scripts():
            if name := (self.names_by_script or {}).get(script):
                return name
        return self.display_name or gettext("Unnamed person %(uid)s") % {"uid": str(self.uid)[:8]}

    def clean(self):
        super().clean()
        if self.portrait_consent and self.portrait_id is None:
            raise ValidationError(
                {"portrait_consent": gettext("Choose the photograph the consent is for.")}
            )
        if self.portrait_id and not self.portrait.content_type.startswith("image/"):
            raise ValidationError({"portrait": gettext("Choose an image file.")})

    def refresh_display_name(self) -> None:
        """Copy the preferred name (or else the first name entered) into ``display_name``, and
        the same per script into ``names_by_script``."""
        rows = self.names.order_by("-is_preferred", "pk").values_list("script", "name")
        name, by_script = shown_names(rows)
        if (name, by_script) != (self.display_name, self.names_by_script):
            self.display_name, self.names_by_script = name, by_script
            type(self).objects.filter(pk=self.pk).update(
                display_name=name, names_by_script=by_script
            )


class NameKind(models.TextChoices):
    NATIVE = "native", _("Native spelling")
    TRANSLITERATION = "transliteration", _("Transliteration")
    OFFICIAL_CHINESE = "official_chinese", _("Official Chinese name")
    ALIAS = "alias", _("Alias or nickname")
    FORMER = "former", _("Former name")


# A name left without a language or kind takes them from its script (PersonName.clean/save).
# Latin is not here: Latin spellings come from Kazakh, Russian, English, pinyin… so staff say
# which. The kinds are those the import template gives each script's column.
LANGUAGE_OF_SCRIPT = {
    Script.CYRILLIC: Language.KAZAKH,
    Script.ARABIC: Language.KAZAKH,
    Script.HAN_SIMPLIFIED: Language.CHINESE,
    Script.HAN_TRADITIONAL: Language.CHINESE,
}
KIND_OF_SCRIPT = {
    Script.LATIN: NameKind.TRANSLITERATION,
    Script.CYRILLIC: NameKind.NATIVE,
    Script.ARABIC: NameKind.NATIVE,
    Script.HAN_SIMPLIFIED: NameKind.OFFICIAL_CHINESE,
    Script.HAN_TRADITIONAL: NameKind.OFFICIAL_CHINESE,
}


def script_of(name: str, script: str = "") -> str:
    """``script`` if given, else the one ``name`` is written in (Chinese characters are taken
    as simplified): what PersonName.save() stores."""
    if script:
        return script
    detected = detect_script(name)
    return Script.HAN_SIMPLIFIED if detected == "Hani" else (detected or "")


def shown_names(rows) -> tuple[str, dict[str, str]]:
    """(display name, {script: name}) from a person's (script, name) rows, preferred first,
    then in the order entered."""
    rows = list(rows)
    by_script: dict[str, str] = {}
    for script, name in rows:
        if script:
            by_script.setdefault(script, name)
    return (rows[0][1] if rows else ""), by_script


def refresh_display_names(person_ids) -> None:
    """Person.refresh_display_name() for many people, reading their names in a few queries."""
    ids = sorted(person_ids)
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        rows: dict[int, list] = {}
        names = PersonName.objects.filter(person_id__in=chunk).order_by(
            "person_id", "-is_preferred", "pk"
        )
        for person_id, script, name in names.values_list("person_id", "script", "name"):
            rows.setdefault(person_id, []).append((script, name))
        changed = []
        for person in Person.objects.filter(pk__in=chunk):
            name, by_script = shown_names(rows.get(person.pk, []))
            if (name, by_script) != (person.display_name, person.names_by_script):
                person.display_name, person.names_by_script = name, by_script
                changed.append(person)
        # One UPDATE per batch, with its history, like refresh_display_name()'s update().
        Person.objects.bulk_update(changed, ["display_name", "names_by_script"], batch_size=500)


class PersonNameQuerySet(DomainQuerySet):
    """The bulk paths of PersonName: each keeps the derived search form and match keys like
    ``PersonName.save()`` does, so that imports writing names in bulk are found too."""

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj.derive()
        created = super().bulk_create(objs, *args, **kwargs)
        if any(obj.pk is None for obj in created):
            # A backend that does not return keys: read them back by the unique spelling.
            stored = {
                (p, n, lang): pk
                for pk, p, n, lang in PersonName.objects.filter(
                    person__in={obj.person_id for obj in created}
                ).values_list("pk", "person_id", "name", "language")
            }
            for obj in created:
                obj.pk = stored[(obj.person_id, obj.name, obj.language)]
        PersonNameKey.sync(created)
        refresh_display_names({obj.person_id for obj in created})
        return created

    def bulk_update(self, objs, fields, batch_size=None):
        objs, fields = list(objs), list(fields)
        if "name" in fields:
            for obj in objs:
                obj.derive()
            fields += [f for f in ("search_name", "script") if f not in fields]
        rows = super().bulk_update(objs, fields, batch_size=batch_size)
        if "name" in fields:
            PersonNameKey.sync(objs)
        return rows

    def update(self, **kwargs):
        if "name" not in kwargs:
            return super().update(**kwargs)
        if not isinstance(kwargs["name"], str):
            if "search_name" in kwargs:  # bulk_update() above: it syncs the keys itself
                return super().update(**kwargs)
            raise ValueError("PersonName.name can only be updated to a literal name.")
        kwargs.setdefault("search_name", fold(kwargs["name"]))
        pks = list(self.values_list("pk", flat=True))
        rows = super().update(**kwargs)
        PersonNameKey.sync(PersonName.objects.filter(pk__in=pks))
        return rows


class PersonName(DomainModel):
    """One attested spelling of a person's name, in one script and language."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="names", verbose_name=_("person")
    )
    name = models.CharField(
        _("name"),
        max_length=300,
        help_text=_("Exactly as the source writes it: Қанат Ережеп, قانات ەرەجەپ, Kanat Yerezhep."),
    )
    script = models.CharField(
        _("script"),
        max_length=4,
        choices=Script,
        blank=True,
        help_text=_("Writing system. Left empty, it is detected from the name."),
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=Language,
        blank=True,
        help_text=_(
            "Language the name is given in. Left empty, it follows the script: Cyrillic and "
            "Arabic script are taken as Kazakh, Chinese characters as Chinese. A Latin "
            "spelling must say its language (Kazakh, Russian, English, pinyin…)."
        ),
    )
    kind = models.CharField(
        _("kind"),
        max_length=20,
        choices=NameKind,
        blank=True,
        help_text=_(
            "Left empty, it follows the script, as in imports: Chinese characters are the "
            "official Chinese name, Latin a transliteration, Cyrillic and Arabic script the "
            "native spelling."
        ),
    )
    is_preferred = models.BooleanField(
        _("preferred"),
        default=False,
        help_text=_("The name shown in lists. At most one per person."),
    )
    search_name = models.CharField(
        _("search name"),
        max_length=300,
        editable=False,
        db_index=True,
        help_text=_("Folded form used by search (lower case, separators normalised)."),
    )

    objects = PersonNameQuerySet.as_manager()
    history = AuditedHistory()

    class Meta:
        ordering = ["person", "-is_preferred", "pk"]
        verbose_name = _("name")
        verbose_name_plural = _("names")
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(is_preferred=True),
                name="people_personname_one_preferred_per_person",
                violation_error_message=_("A person can have only one preferred name."),
            ),
            models.UniqueConstraint(
                fields=["person", "name", "language"],
                name="people_personname_unique_spelling",
                violation_error_message=_("This person already has this name in this language."),
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        self.name = re.sub(r"\s+", " ", self.name or "").strip()
        if not self.name:
            raise ValidationError({"name": gettext("A name cannot be empty.")})
        detected = detect_script(self.name)
        matches = (
            (Script.HAN_SIMPLIFIED, Script.HAN_TRADITIONAL) if detected == "Hani" else (detected,)
        )
        if not self.script:
            self.script = matches[0]
        elif detected and self.script not in matches:
            written_in, chosen = Script(matches[0]).label, self.get_script_display()
            raise ValidationError(
                {
                    "script": gettext("The name is written in %(written_in)s, not %(chosen)s.")
                    % {"written_in": written_in, "chosen": chosen}
                }
            )
        self.derive_language_and_kind()

    def derive_language_and_kind(self) -> None:
        """Fill an empty language and kind from the script (LANGUAGE_OF_SCRIPT, KIND_OF_SCRIPT).

        A name whose script does not tell its language (Latin, or no letters) is refused with
        an error on the language field: staff must say which language it is in.
        """
        if not self.language:
            self.language = LANGUAGE_OF_SCRIPT.get(self.script, "")
        if not self.language:
            raise ValidationError(
                {
                    "language": _(
                        "Choose the language: Latin letters do not tell it (Kazakh, Russian, "
                        "English, pinyin…)."
                    )
                    if self.script == Script.LATIN
                    else _("Choose the language: the letters do not tell it.")
                }
            )
        if not self.kind:
            self.kind = KIND_OF_SCRIPT.get(self.script, NameKind.NATIVE)

    def derive(self) -> None:
        """Fill the fields derived from the name: its search form and, if empty, its script,
        language and kind. Raises ValidationError if the language is empty and the script
        does not tell it: every path that writes a name (save, bulk_create) refuses it."""
        self.search_name = fold(self.name)
        self.script = script_of(self.name, self.script)
        self.derive_language_and_kind()

    def save(self, *args, **kwargs):
        self.derive()
        update_fields = kwargs.get("update_fields")
        with transaction.atomic():
            super().save(*args, **kwargs)
            if update_fields is None or "name" in update_fields:
                PersonNameKey.sync([self])
        self.person.refresh_display_name()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        self.person.refresh_display_name()
        return result


class OrganisationKind(models.TextChoices):
    NGO = "ngo", _("Human-rights or civil-society group")
    MEDIA = "media", _("News media")
    GOVERNMENT = "government", _("Government body")
    PARTY = "party", _("Communist Party body")
    SECURITY = "security", _("Police or state security")
    COURT = "court", _("Court or procuratorate")
    DETENTION = "detention", _("Detention or prison administration")
    EDUCATION = "education", _("School, university or research institute")
    COMPANY = "company", _("Company")
    RELIGIOUS = "religious", _("Religious body")
    OTHER = "other", _("Other")


class Organisation(DomainModel):
    """A body that employs people, detains them, or publishes about them."""

    name = models.CharField(
        _("name (English)"),
        max_length=300,
        help_text=_("Name in English, as partners will read it."),
    )
    name_kk = models.CharField(_("name (Kazakh)"), max_length=300, blank=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=300, blank=True)
    name_ru = models.CharField(_("name (Russian)"), max_length=300, blank=True)
    abbreviation = models.CharField(
        _("abbreviation"), max_length=50, blank=True, help_text=_("e.g. RFA, XJTV.")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=OrganisationKind)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
        help_text=_("The body this one is part of, e.g. a department's newspaper."),
    )
    location = models.ForeignKey(
        "cases.Location",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
        verbose_name=_("location"),
        help_text=_("Where it is based."),
    )
    website = models.URLField(_("website"), blank=True)
    description = models.TextField(
        _("description"), blank=True, help_text=_("Public. A line on what the body is.")
    )

    history = AuditedHistory()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            # Coalesce, not nulls_distinct=False: SQLite does not support the latter.
            models.UniqueConstraint(
                Coalesce("parent", Value(0)),
                "name",
                name="people_organisation_unique_name_in_parent",
                violation_error_message=_("An organisation with this name already exists here."),
            ),
            models.CheckConstraint(
                condition=~Q(parent=models.F("pk")),
                name="people_organisation_not_own_parent",
            ),
        ]

    def __str__(self):
        name = local_name(self, english="name")
        return f"{name} ({self.abbreviation})" if self.abbreviation else name

    def clean(self):
        node, seen = self.parent, set()
        while node is not None:
            if node.pk == self.pk and self.pk is not None:
                raise ValidationError(
                    {"parent": gettext("An organisation cannot be part of itself.")}
                )
            if node.pk in seen:
                break
            seen.add(node.pk)
            node = node.parent


class Affiliation(DomainModel):
    """A person's role in an organisation, e.g. director of a TV channel's Kazakh service."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="affiliations", verbose_name=_("person")
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="affiliations",
        verbose_name=_("organisation"),
    )
    role = models.CharField(
        _("role"), max_length=200, help_text=_("e.g. Director, Journalist, Founder.")
    )
    start = EDTFField(_("from"))
    start_earliest, start_latest = edtf_bounds_pair("start", "from")
    end = EDTFField(_("until"))
    end_earliest, end_latest = edtf_bounds_pair("end", "until")
    is_former = models.BooleanField(
        _("former role"),
        default=False,
        help_text=_("Tick if the role has ended, even when the end date is unknown."),
    )

    history = AuditedHistory()

    class Meta:
        ordering = ["person", "start_earliest", "pk"]
        verbose_name = _("affiliation")
        verbose_name_plural = _("affiliations")
        constraints = [
            models.CheckConstraint(
                condition=Q(start_earliest__lte=models.F("end_latest"))
                | Q(start_earliest__isnull=True)
                | Q(end_latest__isnull=True),
                name="people_affiliation_starts_before_it_ends",
            ),
        ]

    def __str__(self):
        values = {"person": self.person, "role": self.role, "organisation": self.organisation}
        if self.is_former:
            return gettext("%(person)s: former %(role)s, %(organisation)s") % values
        return gettext("%(person)s: %(role)s, %(organisation)s") % values

    def clean(self):
        try:
            start, end = edtf_bounds(self.start), edtf_bounds(self.end)
        except ValidationError:
            return  # the field validators report it
        if start.earliest and end.latest and start.earliest > end.latest:
            raise ValidationError({"end": gettext("The role cannot end before it starts.")})


class RelationshipKind(models.TextChoices):
    PARENT_OF = "parent_of", _("is a parent of")
    CHILD_OF = "child_of", _("is a child of")
    SPOUSE_OF = "spouse_of", _("is the spouse of")
    SIBLING_OF = "sibling_of", _("is a sibling of")
    RELATIVE_OF = "relative_of", _("is another relative of")
    TESTIFIER_OF = "testifier_of", _("testified about")
    COLLEAGUE_OF = "colleague_of", _("is a colleague of")
    OTHER = "other", _("is otherwise connected to")


class Relationship(DomainModel):
    """How two people are connected. Restricted by nature: it can expose families and
    testifiers to reprisals, so it is never shown to partners or exported."""

    from_person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="relationships", verbose_name=_("person")
    )
    # Encrypted: "T testifier_of K" in a stolen database would name a testifier. Hence no
    # unique constraint and no ordering or filtering on it in the database: see clean().
    kind = EncryptedCharField(_("kind"), max_length=20, choices=RelationshipKind)
    to_person = models.ForeignKey(
        Person,
        on_delete=models.CASCADE,
        related_name="relationships_in",
        verbose_name=_("related person"),
    )
    notes = EncryptedTextField(_("notes"), blank=True, help_text=_("Restricted. Staff only."))

    history = AuditedHistory()

    class Meta:
        ordering = ["from_person", "pk"]
        verbose_name = _("relationship (restricted)")
        verbose_name_plural = _("relationships (restricted)")
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_person=models.F("to_person")),
                name="people_relationship_not_with_self",
                violation_error_message=_("A person cannot be related to themselves."),
            ),
        ]

    def __str__(self):
        # Without the kind: this text is stored in the clear (the admin's log of changes,
        # its messages), and the kind is what must not be.
        return f"{self.from_person} → {self.to_person}"

    def twins(self):
        """Other recorded relationships with the same people and kind. The kind is encrypted
        (no unique constraint can hold it): compared in Python, over the few rows of a pair."""
        if self.from_person_id is None or self.to_person_id is None:
            return []
        rows = Relationship.objects.filter(
            from_person_id=self.from_person_id, to_person_id=self.to_person_id
        ).exclude(pk=self.pk)
        return [rel for rel in rows.order_by("pk") if rel.kind == self.kind]

    def clean(self):
        super().clean()
        if self.kind and self.twins():
            raise ValidationError(gettext("This relationship is already recorded."))


# --- Duplicates: match keys, candidate pairs, and the uids of merged records ----------------

MATCH_KEY_LENGTH = 64


def name_match_keys(name: str) -> set[str]:
    """The blocking keys that find ``name`` as the same name (people.names.match_keys, cut to
    the column): what searches and imports look up."""
    from people.names import match_keys  # pure and import-light, but only needed here

    return {key[:MATCH_KEY_LENGTH] for key in match_keys(name) if key}


def name_stored_keys(name: str) -> set[str]:
    """Every key stored for ``name``: its match keys, and the keys that bring an initial and
    the names it may stand for together in the duplicate scan (people.names.possible_keys)."""
    from people.names import possible_keys

    return name_match_keys(name) | {key[:MATCH_KEY_LENGTH] for key in possible_keys(name)}


class PersonNameKey(models.Model):
    """A derived blocking key of one name (people.names.match_keys): names of one person in
    different scripts share a key, so candidate people are found by an indexed lookup instead
    of a scan of everyone. Rewritten on every write path of PersonName; not audited (derived
    from the name, whose history is)."""

    name = models.ForeignKey(
        PersonName, on_delete=models.CASCADE, related_name="match_keys", verbose_name=_("name")
    )
    key = models.CharField(_("key"), max_length=MATCH_KEY_LENGTH)
    # The name's text, as PersonName.name: the spellings sharing a key are read from this
    # table's index alone, each spelling once however many people bear it (name search).
    spelling = models.CharField(_("spelling"), max_length=300)

    class Meta:
        ordering = ["name", "key"]
        verbose_name = _("name match key")
        verbose_name_plural = _("name match keys")
        constraints = [
            # Unique as (key, name) is, since the spelling is the name's; in this order the
            # one index serves the key lookups, the spellings of a key and their names.
            models.UniqueConstraint(
                fields=["key", "spelling", "name"], name="people_personnamekey_unique"
            ),
        ]

    def __str__(self):
        return self.key

    @classmethod
    def sync(cls, names) -> None:
        """Replace the stored keys of ``names`` (saved PersonName rows) by their current keys."""
        names = [name for name in names if name.pk is not None]
        for start in range(0, len(names), 2000):  # SQLite's limit on parameters
            chunk = names[start : start + 2000]
            cls.objects.filter(name__in=[name.pk for name in chunk]).delete()
            cls.objects.bulk_create(
                [
                    cls(name_id=name.pk, key=key, spelling=name.name)
                    for name in chunk
                    for key in sorted(name_stored_keys(name.name))
                ],
                batch_size=1000,
            )


class CandidateStatus(models.TextChoices):
    OPEN = "open", _("To review")
    DISMISSED = "dismissed", _("Not the same person")
    MERGED = "merged", _("Merged")


class DuplicateCandidate(DomainModel):
    """Two records that may be one person, found by find_duplicates, an import or the admin.

    The pair is stored in a canonical order (lower id first), once. Staff decide: merge
    (people.services.merge_people) or "not the same person" (dismissed, which later scans
    respect). Once merged, the absorbed side is empty and ``absorbed_uid`` keeps its uid."""

    person_a = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("first person"),
    )
    person_b = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("second person"),
    )
    score = models.FloatField(
        _("score"), help_text=_("How likely the two are one person, 0 to 1 (see people.matching).")
    )
    reasons = models.JSONField(
        _("reasons"),
        default=dict,
        blank=True,
        help_text=_("Why they look alike: the names that matched and the facts that agree or not."),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=CandidateStatus,
        default=CandidateStatus.OPEN,
        db_index=True,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    # Staff's free text, which can quote a testimony: encrypted at rest.
    decision_reason = EncryptedTextField(_("decision reason"), blank=True)
    absorbed_uid = models.UUIDField(
        _("merged record's public ID"),
        null=True,
        blank=True,
        help_text=_("After a merge: the uid of the record that was merged away."),
    )
    # When a scan (or an import, or the add-person check) last found the pair alike: open
    # pairs a scan covered and did not list again are scored once more at its end, and
    # withdrawn if no longer alike (people.scan).
    # Bookkeeping, not content: left out of the history, which holds the score and reasons.
    scored_at = models.DateTimeField(_("last found alike"), null=True, blank=True, editable=False)

    history = AuditedHistory(excluded_fields=["scored_at"])

    class Meta:
        ordering = ["status", "-score", "pk"]
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        constraints = [
            models.UniqueConstraint(
                fields=["person_a", "person_b"],
                name="people_duplicatecandidate_unique_pair",
                violation_error_message=_("This pair is already recorded."),
            ),
            models.CheckConstraint(
                condition=Q(person_a__lt=models.F("person_b"))
                | Q(person_a__isnull=True)
                | Q(person_b__isnull=True),
                name="people_duplicatecandidate_canonical_order",
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=1),
                name="people_duplicatecandidate_score_range",
            ),
            models.CheckConstraint(
                condition=Q(status=CandidateStatus.MERGED)
                | Q(person_a__isnull=False, person_b__isnull=False),
                name="people_duplicatecandidate_open_pairs_complete",
            ),
        ]

    @property
    def possible(self) -> bool:
        """Listed from below SAME_PERSON_THRESHOLD: a possible duplicate (its names differ by
        an initial, people.matching), not a likely one."""
        from people.names import SAME_PERSON_THRESHOLD

        return self.score < SAME_PERSON_THRESHOLD

    def __str__(self):
        a = self.person_a or gettext("(merged)")
        b = self.person_b or gettext("(merged)")
        return f"{a} ↔ {b}"

    @staticmethod
    def ordered(first_id: int, second_id: int) -> tuple[int, int]:
        return (first_id, second_id) if first_id < second_id else (second_id, first_id)


class DuplicateScan(models.Model):
    """One run of the duplicate scan (people.scan): whom it covers, how far it has got and
    what it found. A run that stopped half-way (a worker restarted, Ctrl-C) is continued
    from ``done_through`` by the next one; the run after a finished one compares only the
    people changed since the finished one started. Bookkeeping of the scan, not audited:
    the pairs it writes are."""

    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    changed_since = models.DateTimeField(
        _("people changed since"),
        null=True,
        blank=True,
        help_text=_("Empty: everyone was compared."),
    )
    done_through = models.CharField(
        _("compared through name key"),
        max_length=MATCH_KEY_LENGTH,
        blank=True,
        help_text=_("The blocks of people up to this name key are done."),
    )
    counts = models.JSONField(_("figures"), default=dict, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("duplicate scan")
        verbose_name_plural = _("duplicate scans")
        default_permissions = ()

    def __str__(self):
        return gettext("Duplicate scan of %(started)s") % {"started": self.started_at}


class MatchingRules(models.Model):
    """The version of people.names' rules (``RULES_VERSION``) under which the stored match
    keys were last computed, written when ``rebuild_keys`` finishes. A migrate that finds
    another version queues the duplicate scan with the keys rebuilt (people.signals), which
    scores every open pair again. Bookkeeping, not audited, like DuplicateScan."""

    version = models.PositiveIntegerField(_("version"))
    applied_at = models.DateTimeField(_("applied"), default=timezone.now)

    class Meta:
        verbose_name = _("name matching rules")
        verbose_name_plural = _("name matching rules")
        default_permissions = ()

    def __str__(self):
        return gettext("Name matching rules %(version)s") % {"version": self.version}

    @classmethod
    def current(cls) -> bool:
        from people.names import RULES_VERSION

        return cls.objects.filter(version=RULES_VERSION).exists()

    @classmethod
    def record(cls) -> None:
        from people.names import RULES_VERSION

        cls.objects.all().delete()
        cls.objects.create(version=RULES_VERSION)


class PersonAlias(models.Model):
    """The uid of a person merged into another: it keeps resolving to the survivor (the
    API redirects). Re-pointed when the survivor is merged in turn, so one hop always ends
    at a live record."""

    uid = models.UUIDField(_("merged record's public ID"), unique=True, editable=False)
    person = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="aliases",
        verbose_name=_("person"),
        help_text=_("The record it was merged into."),
    )
    former_name = models.CharField(_("former name"), max_length=300, blank=True, editable=False)
    merged_at = models.DateTimeField(_("merged at"), auto_now_add=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        editable=False,
        related_name="+",
        verbose_name=_("merged by"),
    )
    reason = EncryptedTextField(
        _("reason"), blank=True, help_text=_("Encrypted at rest: it can quote sources.")
    )

    history = AuditedHistory()

    class Meta:
        ordering = ["-merged_at", "pk"]
        verbose_name = _("merged record")
        verbose_name_plural = _("merged records")

    def __str__(self):
        return f"{self.former_name or self.uid} → {self.person}"

    @classmethod
    def resolve(cls, uid) -> Person | None:
        """The live record a merged record's uid now means (None if the uid is no alias)."""
        try:
            alias = cls.objects.select_related("person").filter(uid=uid).first()
        except ValidationError:  # not a uuid
            return None
        return alias.person if alias else None
