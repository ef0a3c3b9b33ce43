"""Filters of the partner API (and of exports, which share them). Every bad value is a 400 that
names the parameter and says what it accepts; an empty or blank one too, rather than being
ignored: a typo never widens a query."""

import datetime
import unicodedata
import uuid

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import extend_schema_field

from api import patterns, public
from cases.models import CaseStatus, DetentionEvent, EventKind, EvidenceLevel, Location
from casetracker.edtf import edtf_bounds
from casetracker.text import fold
from people.matching import search_people
from people.models import Ethnicity, Gender, Person
from snapshots.models import PublishedCase

# Where a filter reads on the published snapshots (snapshots.models.PublishedCase) when it
# reads elsewhere on the case. Every other filter reads the same column on both, or the
# events through the case's key (a snapshot's key is its case's).
SNAPSHOT_PATHS = {
    "ethnicity": "ethnicity",
    "gender": "gender",
    "incident": "case__incidents__uid",
}

# The filters that read the live records through the case's key (events, incidents, names).
# A held snapshot (a correction in review: snapshots.writer.hold) shows the last verified
# version; when the live records no longer say what it shows, these filters leave it out
# rather than answer from content not yet verified.
LIVE_FILTERS = (
    "charge",
    "location",
    "facility",
    "incident",
    "event_kind",
    "date_from",
    "date_to",
    "search",
)

# What a value of each filter is, for the answer to an empty one. Filters with choices list
# them after the message ("Accepted: …"), so they need no more here.
ACCEPTS = {
    "charge": gettext_lazy("the uid of a charge (see /api/v1/charges/)"),
    "location": gettext_lazy(
        "the uid of a place, or its full name in any language (see /api/v1/locations/)"
    ),
    "facility": gettext_lazy("the uid of a facility (see /api/v1/locations/)"),
    "incident": gettext_lazy("the uid of an incident (see /api/v1/incidents/)"),
    "date_from": gettext_lazy("a date in EDTF, e.g. 2024-04-05, 2024-04, 2024, 201X, 2019/2023"),
    "date_to": gettext_lazy("a date in EDTF, e.g. 2024-04-05, 2024-04, 2024, 201X, 2019/2023"),
    "updated_since": gettext_lazy("an ISO 8601 time, e.g. 2024-11-05T00:00:00Z"),
    "search": gettext_lazy("a person's name, or part of one, in any script"),
}
TIME_MESSAGE = gettext_lazy(
    "An ISO 8601 time that exists, e.g. 2024-11-05T00:00:00Z or 2024-11-05T06:00:00+06:00 "
    "(UTC when no zone is given)."
)


def empty_message(name: str) -> str:
    accepts = ACCEPTS.get(name)
    if accepts is None:
        return gettext("Empty: leave %(name)s out, or give one of the accepted values.") % {
            "name": name
        }
    return gettext("Empty: leave %(name)s out, or give %(accepts)s.") % {
        "name": name,
        "accepts": accepts,
    }


def once_message(name: str) -> str:
    return gettext("Given more than once: give %(name)s once.") % {"name": name}


def parse_time(value: str):
    """The UTC time of a value of the TIME pattern (naive times are UTC), or None.

    In UTC, because databases take less than the pattern allows: PostgreSQL no offset beyond
    ±15:59, SQLite (which stores UTC) no time that is before year 1 or after 9999 in UTC.
    Such a time lies before or after every record, and so does the first or last one there
    is, which it becomes."""
    if not patterns.matches(patterns.TIME, value):
        return None
    when = parse_datetime(value)
    if is_naive(when):
        return make_aware(when, datetime.UTC)
    try:
        return when.astimezone(datetime.UTC)
    except OverflowError:
        edge = datetime.datetime.min if when.year == 1 else datetime.datetime.max
        return edge.replace(tzinfo=datetime.UTC)


class EDTFFormField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if value:
            edtf_bounds(value)  # raises a ValidationError with accepted examples
        return value


class EDTFFilter(django_filters.CharFilter):
    field_class = EDTFFormField


class TimeFormField(forms.CharField):
    """An ISO 8601 time of the TIME pattern, exactly as the schema publishes it."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        when = parse_time(value)
        if when is None:
            raise ValidationError(TIME_MESSAGE, code="invalid")
        return when


@extend_schema_field({"type": "string"})  # described in full in api/openapi.py
class TimeFilter(django_filters.Filter):
    field_class = TimeFormField


# --- a place by uid or by name ---------------------------------------------------------------


def name_fields() -> list[str]:
    """The Location fields that hold its name, one per language (name_en, name_kk, …)."""
    return [f.name for f in Location._meta.concrete_fields if f.name.startswith("name_")]


def folded_name(text: str) -> str:
    """Exact but case-insensitive: the same text, letter for letter, in any case (Python's
    casefold, so Cyrillic and Kazakh letters too, which SQLite's LIKE does not fold)."""
    return unicodedata.normalize("NFC", text).strip().casefold()


def places_named(name: str) -> list[Location]:
    """The places partners may see (api.public.published_locations) with this name in any
    of their languages. Never a place that only unpublished cases name."""
    wanted = folded_name(name)
    fields = name_fields()
    candidates = public.published_locations().only("uid", "path", "kind", *fields)
    return [
        place
        for place in candidates
        if any(folded_name(getattr(place, field)) == wanted for field in fields)
    ]


def describe(place: Location) -> str:
    """One line a partner can tell places apart by: uid, names, kind and where it lies."""
    ids = [int(pk) for pk in place.path.strip("/").split("/")[:-1] if pk]
    # The places a visible place lies in are visible too (published_locations lists them).
    above = Location.objects.filter(pk__in=ids).only("name_en", "path").order_by("path")
    fields = name_fields()
    names = list(dict.fromkeys(n for n in (getattr(place, f) for f in fields) if n))
    where = " › ".join(p.name_en for p in above)
    return gettext("%(uid)s: %(names)s (%(kind)s in %(where)s)") % {
        "uid": place.uid,
        "names": " / ".join(names),
        "kind": place.get_kind_display().lower(),
        "where": where or "—",
    }


class PlaceFormField(forms.CharField):
    """A place's uid, or its name in any language: resolved here, so that an unknown or
    ambiguous name is refused with the places it could mean."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
        found = places_named(value)
        if not found:
            raise ValidationError(
                gettext(
                    "No place is called “%(name)s”. Give a place's uid, or its full name in "
                    "any language, as /api/v1/locations/ lists it."
                ),
                code="unknown_place",
                params={"name": value},
            )
        if len(found) > 1:
            lines = [
                gettext(
                    "“%(name)s” is the name of %(count)d places: give the uid of the one you mean."
                )
                % {"name": value, "count": len(found)},
                *(describe(place) for place in found),
            ]
            raise ValidationError([ValidationError(line, code="ambiguous_place") for line in lines])
        return found[0]


@extend_schema_field({"type": "string"})  # described in full in api/openapi.py
class PlaceFilter(django_filters.Filter):
    field_class = PlaceFormField


# --- the filters -------------------------------------------------------------------------------


class CaseFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=CaseStatus.choices,
        # A column of the case itself: no join, so no duplicates to remove. (django-filter's
        # default DISTINCT would sort whole rows, stored documents and all, before a page.)
        distinct=False,
        help_text="Current situation; repeat for several: status=detained&status=sentenced.",
    )
    ethnicity = django_filters.ChoiceFilter(
        field_name="person__ethnicity", choices=Ethnicity.choices, help_text="e.g. kazakh."
    )
    gender = django_filters.ChoiceFilter(field_name="person__gender", choices=Gender.choices)
    charge = django_filters.UUIDFilter(
        method="filter_charge", help_text="uid of a charge (see /api/v1/charges/)."
    )
    location = PlaceFilter(
        method="filter_location",
        help_text=gettext_lazy(
            "A place, by its uid or by its full name in any of its languages (exact, any "
            "case: Ili Kazakh Autonomous Prefecture, Іле Қазақ автономиялық облысы, "
            "伊犁哈萨克自治州): cases with an event in it or anywhere inside it (a prefecture "
            "includes its counties, towns and facilities). A name that several places bear "
            "is refused with their uids and where each lies; an unknown name is refused too."
        ),
    )
    facility = django_filters.UUIDFilter(
        method="filter_facility", help_text="uid of a facility (prison, camp, detention centre)."
    )
    incident = django_filters.UUIDFilter(
        field_name="incidents__uid", help_text="uid of an incident."
    )
    min_evidence_level = django_filters.TypedChoiceFilter(
        field_name="evidence_level",
        lookup_expr="gte",
        choices=EvidenceLevel.choices,
        coerce=int,
        help_text="1 reported · 2 testimony · 3 corroborated · 4 documented.",
    )
    event_kind = django_filters.ChoiceFilter(
        method="filter_event_kind", choices=EventKind.choices, help_text="e.g. sentenced."
    )
    date_from = EDTFFilter(
        method="filter_dates",
        help_text="Cases with an event that may have happened on or after this date (EDTF or "
        "ISO: 2020, 2020-04, 2020-04-05). An event dated 2019/2023 matches date_from=2020.",
    )
    date_to = EDTFFilter(
        method="filter_dates",
        help_text="Cases with an event that may have happened on or before this date.",
    )
    dates = django_filters.ChoiceFilter(
        method="filter_dates",
        choices=[
            ("strict", gettext_lazy("strict: each event's date as written")),
            (
                "approximate",
                gettext_lazy(
                    "approximate: events dated about (~), uncertain (?) or both (%) count one "
                    "unit of their precision wider (a day, month, season or year)"
                ),
            ),
        ],
        help_text="How date_from and date_to read approximate event dates: strict (default) "
        "or approximate. With approximate, an event dated 2018-03~ (about March 2018) also "
        "matches date_to=2018-02.",
    )
    updated_since = TimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="ISO 8601 time, e.g. 2024-11-05T00:00:00Z: cases changed since then, for "
        "incremental sync (see also /api/v1/cases/withdrawn/).",
    )
    search = django_filters.CharFilter(
        method="filter_search",
        help_text="A person's name in any script: Kanat Yerezhep, Қанат Ережеп, قانات ەرەجەپ.",
    )

    class Meta:
        fields = []  # every filter is declared above

    def __init__(self, *args, **kwargs):
        """On cases (staff exports), or on the published snapshots (the partner API and the
        published exports), which hold the case's own columns as partners see them."""
        super().__init__(*args, **kwargs)
        self.on_snapshots = self.queryset.model is PublishedCase
        if self.on_snapshots:
            for name, path in SNAPSHOT_PATHS.items():
                self.filters[name].field_name = path

    @classmethod
    def repeatable(cls) -> set[str]:
        """The filters that take several values (status=detained&status=sentenced)."""
        return {
            name
            for name, f in cls.base_filters.items()
            if isinstance(f, django_filters.MultipleChoiceFilter)
        }

    def filter_charge(self, queryset, name, value):
        events = DetentionEvent.objects.filter(case=OuterRef("pk"), charges__uid=value)
        return queryset.filter(Exists(events))

    def filter_location(self, queryset, name, value):
        place = value if isinstance(value, Location) else Location.objects.filter(uid=value).first()
        if place is None:
            return queryset.none()
        inside = Q(location__path__startswith=place.path) | Q(facility__path__startswith=place.path)
        events = DetentionEvent.objects.filter(inside, case=OuterRef("pk"))
        return queryset.filter(Exists(events))

    def filter_facility(self, queryset, name, value):
        return queryset.filter(
            Exists(DetentionEvent.objects.filter(case=OuterRef("pk"), facility__uid=value))
        )

    def filter_event_kind(self, queryset, name, value):
        return queryset.filter(
            Exists(DetentionEvent.objects.filter(case=OuterRef("pk"), kind=value))
        )

    def filter_dates(self, queryset, name, value):
        # Both ends are applied together, once, in filter_queryset() below.
        return queryset

    def filter_search(self, queryset, name, value):
        # The admin's matching (people.matching): any script, any spelling of the name. A text
        # of separators only ("-") leaves nothing to look for: it finds nothing, not everyone.
        if not fold(value):
            return queryset.none()
        people = search_people(value, Person.objects.all()).values("pk")
        return queryset.filter(
            **{"case__person__in" if self.on_snapshots else "person__in": people}
        )

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.on_snapshots and any(self.form.cleaned_data.get(name) for name in LIVE_FILTERS):
            queryset = queryset.filter(Q(held_since__isnull=True) | Q(filters_current=True))
        start, end = self.form.cleaned_data.get("date_from"), self.form.cleaned_data.get("date_to")
        if not (start or end):
            return queryset
        # An event matches when its interval overlaps the requested one (EventQuerySet.within):
        # strict bounds, or the approximate window on request.
        events = DetentionEvent.objects.filter(case=OuterRef("pk")).within(
            edtf_bounds(start).earliest if start else None,
            edtf_bounds(end).latest if end else None,
            approximate=self.form.cleaned_data.get("dates") == "approximate",
        )
        return queryset.filter(Exists(events))

    def given(self, name) -> list[str]:
        data = self.data
        return list(data.getlist(name)) if hasattr(data, "getlist") else [data[name]]

    def is_valid(self):
        valid = super().is_valid()
        # Refused however the form read them: an empty value (it would filter nothing), and
        # one given twice (only one would count). A NUL is refused by the form fields.
        repeatable = self.repeatable()
        for name in self.filters:
            if name not in self.data:
                continue
            values = self.given(name)
            message = None
            if any(patterns.is_blank(value) for value in values):
                message = empty_message(name)
            elif len(values) > 1 and name not in repeatable:
                message = once_message(name)
            if message:
                self.form.errors.pop(name, None)
                self.form.add_error(name, message)
                valid = False
        if not valid:
            return False
        start, end = self.form.cleaned_data.get("date_from"), self.form.cleaned_data.get("date_to")
        earliest = edtf_bounds(start).earliest if start else None
        latest = edtf_bounds(end).latest if end else None
        if earliest and latest and earliest > latest:
            self.form.add_error("date_to", gettext("date_to is before date_from."))
            return False
        return True
