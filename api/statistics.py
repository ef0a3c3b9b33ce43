"""GET /api/v1/statistics/: the breakdowns of the published cases (figures.breakdowns), with
the case list's filters, small counts hidden (``STATISTICS_MIN_CELL``), cached until the
published set changes (figures.cache).

The serializers here only describe the answer for the OpenAPI schema: the rows are made by
figures.breakdowns, whose places and charges are written by api.public's serializers.
"""

import json

from django.conf import settings
from django.utils import timezone, translation
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from api import openapi, public
from api.filters import CaseFilter
from api.views import Filters, PartnerViewSet, documents_response
from cases.models import Case
from figures import breakdowns, cache
from snapshots.models import PublishedCase


class StatisticsCountSerializer(serializers.Serializer):
    count = serializers.IntegerField(
        allow_null=True, help_text="Null when hidden: from 1 to `min_cell` - 1."
    )


class StatisticsRowSerializer(serializers.Serializer):
    value = serializers.CharField(
        allow_null=True,
        help_text="What the row counts: a code (`detained`), a band (`18-29`), a year, the uid "
        "of a place or charge, `uncertain` (too uncertain for one row) or `unknown`.",
    )
    label = serializers.CharField(help_text="The row's name in the language asked for.")
    count = serializers.IntegerField(
        allow_null=True, help_text="Cases in the row; null when hidden (see `suppressed`)."
    )
    suppressed = serializers.BooleanField(
        help_text="Hidden because it is below `min_cell`, or because it could be worked out "
        "from the total and the other rows."
    )
    year = serializers.IntegerField(
        required=False, allow_null=True, help_text="detention_year only."
    )
    certainty = serializers.ChoiceField(
        choices=["exact", "range", "undated"],
        required=False,
        help_text="detention_year only: dated within the year, or a range covering it.",
    )
    place = public.LocationSerializer(required=False, help_text="Place breakdowns only.")
    charge = public.ChargeSerializer(required=False, help_text="charges only.")


class StatisticsBreakdownSerializer(serializers.Serializer):
    label = serializers.CharField()
    note = serializers.CharField(help_text="How to read it; empty if nothing needs saying.")
    rows = StatisticsRowSerializer(many=True)


class StatisticsBreakdownsSerializer(serializers.Serializer):
    def get_fields(self):
        return {name: StatisticsBreakdownSerializer() for name in breakdowns.NAMES}


class StatisticsSerializer(serializers.Serializer):
    min_cell = serializers.IntegerField(
        help_text="Counts from 1 to this minus one are hidden (null), so that no small count "
        "points at a person."
    )
    total = StatisticsCountSerializer(help_text="The published cases the filters select.")
    breakdowns = StatisticsBreakdownsSerializer()


# The case list's filter errors, but for the parameters this endpoint takes (no paging or
# ordering).
REFUSED = (
    (
        "Unknown parameter",
        {
            "page_size": [
                "Unknown parameter. Accepted: charge, date_from, date_to, dates, ethnicity, "
                "event_kind, facility, format, gender, incident, location, min_evidence_level, "
                "search, status, updated_since."
            ]
        },
    ),
    *(
        example
        for example in openapi.CASE_FILTER_ERRORS[1:]
        if not {"ordering", "page_size", "cursor"} & set(example[1])
    ),
)


class StatisticsViewSet(PartnerViewSet):
    filter_backends = [Filters]
    filterset_class = CaseFilter
    pagination_class = None
    known_params = {"format"}
    serializer_class = StatisticsSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Case.objects.none()
        return PublishedCase.objects.all()

    @extend_schema(
        summary="Statistics of the published cases",
        description=(
            "Breakdowns of the published cases the filters select (the same filters as "
            "`/api/v1/cases/`): first detention by year (a case dated only as a range counts "
            "as “somewhere in a range” in each year it covers, never as known), current "
            "situation, charges, places of detention and origin by prefecture and county, "
            "ethnicity, gender, age at detention, sentences, time until the family was "
            "notified and time in detention so far. Uncertain values are counted as "
            "`uncertain`, not guessed. Counts from 1 to `min_cell` - 1 are hidden."
        ),
        parameters=[*openapi.ERROR_HEADERS, *openapi.FILTER_PARAMETERS],
        responses=openapi.list_responses(StatisticsSerializer, refused=REFUSED),
    )
    def summary(self, request, *args, **kwargs):
        """One object, not a list (an action of another name than "list", so the schema
        says so)."""
        snapshots = self.filter_queryset(self.get_queryset())  # a 400 for a bad filter
        filtered = any(name in request.query_params for name in CaseFilter.base_filters)
        today = timezone.localdate()
        parts = [
            "api",
            translation.get_language(),
            sorted(request.query_params.lists()),
            settings.STATISTICS_MIN_CELL,
            today,
        ]

        def make() -> str:
            counted = breakdowns.compute(snapshots if filtered else None, today=today)
            data = breakdowns.suppress(counted, settings.STATISTICS_MIN_CELL).as_dict()
            return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

        return documents_response(cache.cached(parts, make), request)
