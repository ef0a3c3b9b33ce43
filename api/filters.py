"""Filters of the partner API. Every bad value is a 400 that names the parameter."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q

from cases.models import CaseStatus, DetentionEvent, EventKind, EvidenceLevel, Location
from casetracker.edtf import edtf_bounds
from casetracker.text import fold
from people.matching import search_people
from people.models import Ethnicity, Gender, Person


class EDTFFormField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if value:
            edtf_bounds(value)  # raises a ValidationError with accepted examples
        return value


class EDTFFilter(django_filters.CharFilter):
    field_class = EDTFFormField


class CaseFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=CaseStatus.choices,
        help_text="Current situation; repeat for several: status=detained&status=sentenced.",
    )
    ethnicity = django_filters.ChoiceFilter(
        field_name="person__ethnicity", choices=Ethnicity.choices, help_text="e.g. kazakh."
    )
    gender = django_filters.ChoiceFilter(field_name="person__gender", choices=Gender.choices)
    charge = django_filters.UUIDFilter(
        method="filter_charge", help_text="uid of a charge (see /api/v1/charges/)."
    )
    location = django_filters.UUIDFilter(
        method="filter_location",
        help_text="uid of a place: cases with an event in it or anywhere inside it "
        "(a prefecture includes its counties, towns and facilities).",
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
    updated_since = django_filters.IsoDateTimeFilter(
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

    def filter_charge(self, queryset, name, value):
        events = DetentionEvent.objects.filter(case=OuterRef("pk"), charges__uid=value)
        return queryset.filter(Exists(events))

    def filter_location(self, queryset, name, value):
        place = Location.objects.filter(uid=value).first()
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
        # The admin's matching (people.matching): any script, any spelling of the name.
        if not fold(value):
            return queryset
        return queryset.filter(person__in=search_people(value, Person.objects.all()).values("pk"))

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        start, end = self.form.cleaned_data.get("date_from"), self.form.cleaned_data.get("date_to")
        if not (start or end):
            return queryset
        # An event matches when its interval overlaps the requested one; an open end is endless.
        dated = Q(date_earliest__isnull=False) | Q(date_latest__isnull=False)
        overlap = Q(case=OuterRef("pk")) & dated
        earliest = edtf_bounds(start).earliest if start else None
        latest = edtf_bounds(end).latest if end else None
        if earliest:
            overlap &= Q(date_latest__gte=earliest) | Q(date_latest__isnull=True)
        if latest:
            overlap &= Q(date_earliest__lte=latest) | Q(date_earliest__isnull=True)
        return queryset.filter(Exists(DetentionEvent.objects.filter(overlap)))

    def is_valid(self):
        if not super().is_valid():
            return False
        start, end = self.form.cleaned_data.get("date_from"), self.form.cleaned_data.get("date_to")
        earliest = edtf_bounds(start).earliest if start else None
        latest = edtf_bounds(end).latest if end else None
        if earliest and latest and earliest > latest:
            self.form.add_error("date_to", "date_to is before date_from.")
            return False
        return True
