"""What partners may see: the one explicit allow-list of public fields.

Every partner-visible output (the API here, and the exports) is built from these serializers
and from querysets that start at ``Case.objects.published()`` (``published_*`` below). A field
is public only if it is listed here; nothing is "all fields minus some". Restricted data
(internal notes, contacts, relationships and testifiers, staff identities, restricted and
confidential sources, evidence files, unpublished or sensitive cases) has no field here.
"""

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.urls import NoReverseMatch, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.models import Case, Charge, DetentionEvent, Incident, Location
from people.models import Organisation, Person, PersonName
from sources.models import Access, Citation, Source
from submissions.models import Submission

# --- Querysets: everything starts from the published cases ------------------------------


def published_cases():
    return Case.objects.published().defer(*secret_fields(Case))


def public_citations():
    return Citation.objects.filter(source__access=Access.PUBLIC, source__archived_at__isnull=True)


def published_people():
    return Person.objects.filter(cases__in=published_cases()).distinct()


def published_incidents():
    return Incident.objects.filter(cases__in=published_cases()).distinct()


def published_charges():
    return Charge.objects.filter(events__case__in=published_cases()).distinct()


def published_sources():
    cases = published_cases()
    cited = public_citations().filter(
        Q(case__in=cases) | Q(event__case__in=cases) | Q(person__cases__in=cases)
    )
    return Source.objects.filter(pk__in=cited.values("source_id"))


def published_locations():
    """Places a published case names, and the places they lie in (a lazy queryset)."""
    cases = published_cases()
    used = Location.objects.filter(
        Q(events__case__in=cases)
        | Q(facility_events__case__in=cases)
        | Q(people_from_here__cases__in=cases)
    )
    # A place is listed if a used place lies in it: the used place's path starts with its own.
    return Location.objects.filter(Exists(used.filter(path__startswith=OuterRef("path"))))


def published_organisations():
    cases = published_cases()
    return Organisation.objects.filter(
        Q(events__case__in=cases) | Q(sources__in=published_sources())
    ).distinct()


# Encrypted columns that a public serializer below does show. Every other encrypted column is
# restricted: partner outputs never load it, so it is never even decrypted for them.
PUBLIC_ENCRYPTED_FIELDS = {Source: {"author", "url"}, Citation: {"locator"}}


def secret_fields(model, prefix: str = "") -> list[str]:
    """The restricted encrypted columns of ``model``, as ``defer()`` arguments."""
    public = PUBLIC_ENCRYPTED_FIELDS.get(model, set())
    return [
        f"{prefix}{field.name}"
        for field in model._meta.concrete_fields
        if getattr(field, "encrypted", False) and field.name not in public
    ]


def case_queryset(cases=None):
    """Published cases (or ``cases``, for a staff export) with everything their
    representation reads, in a fixed number of queries whatever the page size, and without
    their restricted encrypted columns."""
    citations = (
        public_citations()
        .select_related("source__publisher")
        .defer(*secret_fields(Citation), *secret_fields(Source, "source__"))
    )
    cases = published_cases() if cases is None else cases
    people = Person.objects.select_related("place_of_origin").defer(*secret_fields(Person))
    return cases.defer(*secret_fields(Case)).prefetch_related(
        Prefetch("person", queryset=people),
        Prefetch("person__names", queryset=PersonName.objects.order_by("-is_preferred", "pk")),
        Prefetch("person__citations", queryset=citations, to_attr="public_citations"),
        Prefetch(
            "events",
            queryset=DetentionEvent.objects.select_related(
                "location", "facility", "authority"
            ).prefetch_related(
                "charges", Prefetch("citations", queryset=citations, to_attr="public_citations")
            ),
        ),
        "incidents",
        Prefetch("citations", queryset=citations, to_attr="public_citations"),
        Prefetch(
            "un_submissions",
            queryset=Submission.objects.opinions()
            .defer(*secret_fields(Submission))
            .order_by("adopted_on", "pk"),
            to_attr="un_opinions",
        ),
    )


# --- Pieces ------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.URI)
class ApiUrlField(serializers.Field):
    """The record's own API address: partners follow these, never integer ids.

    Reversing a URL for every record of every nested object costs more than the rest of a
    page: the address is reversed once per request and kind, then filled in per record."""

    PLACEHOLDER = "00000000-0000-0000-0000-000000000000"

    def __init__(self, basename: str, by: str):
        self.basename, self.by = basename, by
        super().__init__(source="*", read_only=True)

    def to_representation(self, instance):
        templates = self.context.setdefault("_api_url_templates", {})
        template = templates.get(self.basename)
        if template is None:
            kwarg = "key" if self.basename == "case" else "uid"
            try:
                path = reverse(f"api:{self.basename}-detail", kwargs={kwarg: self.PLACEHOLDER})
            except NoReverseMatch:
                if not settings.PUBLIC_SITE_ONLY:
                    raise
                return None  # a process serving the public website alone has no API
            request = self.context.get("request")
            template = request.build_absolute_uri(path) if request else path
            templates[self.basename] = template
        return template.replace(self.PLACEHOLDER, str(getattr(instance, self.by)))


def api_url(basename: str, by: str = "uid") -> ApiUrlField:
    return ApiUrlField(basename, by)


class EDTFDateSerializer(serializers.Serializer):
    edtf = serializers.CharField(help_text="As the sources give it, in EDTF, e.g. 2019/2023.")
    earliest = serializers.DateField(allow_null=True, help_text="Earliest possible day.")
    latest = serializers.DateField(allow_null=True, help_text="Latest possible day.")


def edtf(value, earliest, latest):
    return {"edtf": value, "earliest": earliest, "latest": latest} if value else None


class PlaceSerializer(serializers.ModelSerializer):
    url = api_url("location")

    class Meta:
        model = Location
        fields = ["uid", "url", "kind", "facility_type", "name_en", "name_kk", "name_ru", "name_zh"]


class OrganisationBriefSerializer(serializers.ModelSerializer):
    url = api_url("organisation")

    class Meta:
        model = Organisation
        fields = ["uid", "url", "name", "name_kk", "name_ru", "name_zh", "abbreviation", "kind"]


class ChargeSerializer(serializers.ModelSerializer):
    url = api_url("charge")

    class Meta:
        model = Charge
        fields = ["uid", "url", "name", "name_zh", "article", "description"]


class IncidentBriefSerializer(serializers.ModelSerializer):
    url = api_url("incident")
    date = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = ["uid", "url", "name", "date"]

    @extend_schema_field(EDTFDateSerializer(allow_null=True))
    def get_date(self, incident):
        return edtf(incident.date, incident.date_earliest, incident.date_latest)


class NameSerializer(serializers.ModelSerializer):
    preferred = serializers.BooleanField(source="is_preferred")

    class Meta:
        model = PersonName
        fields = ["name", "script", "language", "kind", "preferred"]


class PersonSerializer(serializers.ModelSerializer):
    url = api_url("person")
    name = serializers.CharField(source="display_name", help_text="The preferred name.")
    names = NameSerializer(many=True, help_text="Every recorded spelling, in every script.")
    birth_date = serializers.SerializerMethodField()
    place_of_origin = PlaceSerializer(allow_null=True)
    portrait = serializers.SerializerMethodField(
        help_text="Whether the public website shows a photograph of the person (the family "
        "consented to publishing it)."
    )

    class Meta:
        model = Person
        fields = [
            "uid",
            "url",
            "name",
            "names",
            "gender",
            "birth_date",
            "ethnicity",
            "place_of_origin",
            "occupation",
            "public_summary",
            "portrait",
        ]

    def get_portrait(self, person) -> bool:
        return person.portrait_id is not None and person.portrait_consent

    @extend_schema_field(EDTFDateSerializer(allow_null=True))
    def get_birth_date(self, person):
        return edtf(person.birth_date, person.birth_date_earliest, person.birth_date_latest)


class EventSerializer(serializers.ModelSerializer):
    date = serializers.SerializerMethodField()
    location = PlaceSerializer(allow_null=True)
    facility = PlaceSerializer(allow_null=True)
    authority = OrganisationBriefSerializer(allow_null=True)
    charges = ChargeSerializer(many=True)

    class Meta:
        model = DetentionEvent
        fields = [
            "uid",
            "kind",
            "date",
            "location",
            "facility",
            "authority",
            "charges",
            "charge_basis",
            "sentence",
            "description",
        ]

    @extend_schema_field(EDTFDateSerializer(allow_null=True))
    def get_date(self, event):
        return edtf(event.date, event.date_earliest, event.date_latest)


class CitationRefSerializer(serializers.Serializer):
    locator = serializers.CharField(help_text="Where in the source: page, paragraph, timestamp.")
    supports = serializers.ChoiceField(choices=["case", "event", "person"])
    event = serializers.UUIDField(allow_null=True, help_text="The event's uid, if it cites one.")


class OptionalURLField(serializers.URLField):
    """A web address, or null when there is none: never "", which is no URI (the schema
    declares the field a nullable URI)."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, **kwargs)

    def to_representation(self, value):
        return value or None


class SourceBriefSerializer(serializers.ModelSerializer):
    url = api_url("source")
    link = OptionalURLField(
        source="url", help_text="The source itself, on the web; null if it is not online."
    )
    published = serializers.SerializerMethodField()
    publisher = OrganisationBriefSerializer(allow_null=True)

    class Meta:
        model = Source
        fields = [
            "uid",
            "url",
            "title",
            "kind",
            "publisher",
            "author",
            "link",
            "archive_url",
            "published",
            "language",
            "reliability",
        ]

    @extend_schema_field(EDTFDateSerializer(allow_null=True))
    def get_published(self, source):
        return edtf(source.published, source.published_earliest, source.published_latest)


class CitedSourceSerializer(SourceBriefSerializer):
    citations = CitationRefSerializer(many=True, source="case_citations")

    class Meta(SourceBriefSerializer.Meta):
        fields = [*SourceBriefSerializer.Meta.fields, "citations"]


def cited_sources(case: Case) -> list[dict]:
    """The public sources of a case with the locators of their citations, from the
    prefetched ``public_citations`` of the case, its events and its person."""
    by_source: dict[int, tuple[Source, list[dict]]] = {}
    refs = [(c, "case", None) for c in case.public_citations]
    refs += [(c, "person", None) for c in case.person.public_citations]
    for event in case.events.all():
        refs += [(c, "event", event.uid) for c in event.public_citations]
    for citation, supports, event_uid in refs:
        source, citations = by_source.setdefault(citation.source_id, (citation.source, []))
        citations.append({"locator": citation.locator, "supports": supports, "event": event_uid})
    sources = sorted(by_source.values(), key=lambda pair: (pair[0].title, pair[0].pk))
    for source, citations in sources:
        source.case_citations = citations  # read by CitedSourceSerializer
    return [source for source, _ in sources]


class UNOpinionSerializer(serializers.ModelSerializer):
    """An opinion of the UN Working Group on Arbitrary Detention about the case: a public
    document of the UN. Nothing else of a submission (its drafts, dates, notes) is public."""

    number = serializers.CharField(source="opinion_number", help_text="E.g. 23/2025.")
    adopted = serializers.DateField(source="adopted_on")
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=["I", "II", "III", "IV", "V"]),
        source="found_categories",
        help_text="The categories of arbitrary detention the opinion found.",
    )
    link = OptionalURLField(source="opinion_url", help_text="The opinion on the OHCHR website.")

    class Meta:
        model = Submission
        fields = ["number", "adopted", "finding", "categories", "link"]


# --- Records -----------------------------------------------------------------------------


class CaseSerializer(serializers.ModelSerializer):
    url = api_url("case", by="reference")
    person = PersonSerializer()
    events = EventSerializer(many=True)
    incidents = IncidentBriefSerializer(many=True)
    sources = serializers.SerializerMethodField()
    un_opinions = UNOpinionSerializer(
        many=True, help_text="Opinions of the UN Working Group on Arbitrary Detention."
    )

    class Meta:
        model = Case
        fields = [
            "uid",
            "reference",
            "url",
            "status",
            "evidence_level",
            "verified_at",
            "updated_at",
            "public_summary",
            "person",
            "events",
            "incidents",
            "sources",
            "un_opinions",
        ]

    @extend_schema_field(CitedSourceSerializer(many=True))
    def get_sources(self, case):
        # One serializer for every case of the page: building one per case rebuilds its fields.
        if not hasattr(self, "_sources"):
            self._sources = CitedSourceSerializer(many=True, context=self.context)
        return self._sources.to_representation(cited_sources(case))


class CaseRefSerializer(serializers.ModelSerializer):
    url = api_url("case", by="reference")

    class Meta:
        model = Case
        fields = ["uid", "reference", "url"]


class PersonRecordSerializer(PersonSerializer):
    cases = serializers.SerializerMethodField()

    class Meta(PersonSerializer.Meta):
        fields = [*PersonSerializer.Meta.fields, "cases"]

    @extend_schema_field(CaseRefSerializer(many=True))
    def get_cases(self, person):
        return CaseRefSerializer(person.published_cases, many=True, context=self.context).data


class IncidentSerializer(IncidentBriefSerializer):
    class Meta(IncidentBriefSerializer.Meta):
        fields = [*IncidentBriefSerializer.Meta.fields, "description"]


class OrganisationSerializer(OrganisationBriefSerializer):
    class Meta(OrganisationBriefSerializer.Meta):
        fields = [*OrganisationBriefSerializer.Meta.fields, "website", "description"]


class LocationSerializer(PlaceSerializer):
    parent = serializers.UUIDField(source="parent.uid", allow_null=True, default=None)

    class Meta(PlaceSerializer.Meta):
        fields = [*PlaceSerializer.Meta.fields, "parent", "latitude", "longitude"]


class SourceSerializer(SourceBriefSerializer):
    pass


class WithdrawalSerializer(serializers.Serializer):
    uid = serializers.UUIDField(source="case.uid")
    reference = serializers.CharField(source="case.reference")
    withdrawn_at = serializers.DateTimeField()


# --- What a UN submission draft adds (submissions.drafts) ----------------------------------
#
# A draft goes to the UN secretariat, not to the public. It is the case's public record, plus
# the person's citizenship (which the Working Group's questionnaire asks, and the authorities
# holding them know), plus, for each fact that restricted or confidential sources support,
# only that the organisation holds such a source and of what kind: never its title, author,
# address, locator, quote or claim.


class DraftPersonSerializer(PersonSerializer):
    class Meta(PersonSerializer.Meta):
        fields = [*PersonSerializer.Meta.fields, "citizenship"]


class DraftCaseSerializer(CaseSerializer):
    person = DraftPersonSerializer()


def draft_record(case: Case) -> dict:
    """The record of ``case`` a draft may show (any review state: the caller decides which
    cases may have a draft)."""
    case = case_queryset(Case.objects.filter(pk=case.pk)).get()
    return DraftCaseSerializer(case, context={"request": None}).data


def sources_on_file(case: Case) -> dict[str, list[str]]:
    """The kinds of the sources the organisation holds and does not publish (restricted or
    confidential), by what they support: "case", "person", or an event's uid. An archived
    source supports nothing any more: it is neither cited nor counted."""
    withheld = Citation.objects.exclude(source__access=Access.PUBLIC).filter(
        source__archived_at__isnull=True
    )
    rows = withheld.filter(
        Q(case=case) | Q(event__case=case) | Q(person_id=case.person_id)
    ).values_list("case_id", "event__uid", "source__kind")
    found: dict[str, list[str]] = {}
    for case_id, event_uid, kind in rows.order_by("pk"):
        key = str(event_uid) if event_uid else ("case" if case_id else "person")
        found.setdefault(key, []).append(kind)
    return found
