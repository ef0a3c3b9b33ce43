"""The reference the partner API is measured against: the case list as a textbook DRF project
writes it (nested ModelSerializers, prefetches, limit/offset pages with their count), on the
same data, behind the same authentication. Kept in benchmarks/ only: it shows nothing a
partner may not see (published cases, public fields), but it is not the project's API.

Mounted at /textbook/cases/ by using this module as ROOT_URLCONF (bench_api_list.py).
"""

from django.urls import include, path
from rest_framework import generics, serializers
from rest_framework.pagination import LimitOffsetPagination

from cases.models import Case, Charge, DetentionEvent, Location
from people.models import Person, PersonName


class NameSerializer(serializers.ModelSerializer):
    class Meta:
        model = PersonName
        fields = ["name", "script", "language", "kind", "is_preferred"]


class PlaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["uid", "name_en", "kind"]


class ChargeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Charge
        fields = ["uid", "name", "article"]


class EventSerializer(serializers.ModelSerializer):
    location = PlaceSerializer()
    facility = PlaceSerializer()
    charges = ChargeSerializer(many=True)

    class Meta:
        model = DetentionEvent
        fields = [
            "uid",
            "kind",
            "date",
            "date_earliest",
            "date_latest",
            "location",
            "facility",
            "charges",
            "sentence",
            "description",
        ]


class PersonSerializer(serializers.ModelSerializer):
    names = NameSerializer(many=True)

    class Meta:
        model = Person
        fields = ["uid", "display_name", "gender", "birth_date", "ethnicity", "names"]


class CaseSerializer(serializers.ModelSerializer):
    person = PersonSerializer()
    events = EventSerializer(many=True)

    class Meta:
        model = Case
        fields = [
            "uid",
            "reference",
            "status",
            "evidence_level",
            "verified_at",
            "updated_at",
            "public_summary",
            "person",
            "events",
        ]


class Pages(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


class CaseList(generics.ListAPIView):
    serializer_class = CaseSerializer
    pagination_class = Pages

    def get_queryset(self):
        return (
            Case.objects.published()
            .select_related("person")
            .prefetch_related(
                "person__names", "events__location", "events__facility", "events__charges"
            )
            .order_by("-updated_at", "-pk")
        )


urlpatterns = [
    path("textbook/cases/", CaseList.as_view()),
    path("", include("casetracker.urls")),
]
