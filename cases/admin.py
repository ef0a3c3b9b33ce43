from django.contrib import admin
from django.db.models import Count

from cases.models import Case, Charge, DetentionEvent, Incident, Location, LocationKind
from casetracker.admin import DomainAdmin, NameSearchMixin, StampedAdmin


class PlaceFilter(admin.SimpleListFilter):
    """Cases with an event anywhere inside a region or prefecture (or the place itself)."""

    title = "place (and everywhere inside it)"
    parameter_name = "place"
    kinds = (LocationKind.COUNTRY, LocationKind.REGION, LocationKind.PREFECTURE)

    def lookups(self, request, model_admin):
        places = Location.objects.filter(kind__in=self.kinds).only("pk", "name_en", "kind")
        return [(str(place.pk), place.name_en) for place in places]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        place = Location.objects.filter(pk=self.value()).first()
        if place is None:
            return queryset.none()
        return queryset.filter(events__location__path__startswith=place.path).distinct()


class DetentionEventInline(admin.StackedInline):
    model = DetentionEvent
    fields = (
        ("kind", "date"),
        ("location", "facility", "authority"),
        ("charges", "charge_basis"),
        "sentence",
        "description",
    )
    autocomplete_fields = ("location", "facility", "authority", "charges")
    extra = 0
    show_change_link = True  # event-level citations are added on the event's own page


@admin.register(Case)
class CaseAdmin(NameSearchMixin, StampedAdmin):
    name_search_lookup = "person__names__search_name"
    list_display = (
        "reference",
        "person",
        "status",
        "review_state",
        "event_count",
        "updated_at",
        "updated_by",
    )
    list_filter = (
        "status",
        "review_state",
        "person__ethnicity",
        ("events__charges", admin.RelatedOnlyFieldListFilter),
        PlaceFilter,
        "incidents",
    )
    search_fields = ("reference", "=uid", "person__display_name")
    autocomplete_fields = ("person", "incidents")
    inlines = (DetentionEventInline,)  # sources.admin adds the citations inline
    readonly_fields = (*StampedAdmin.readonly_fields, "reference", "status", "review_state")
    fieldsets = (
        (None, {"fields": ("reference", "person", "incidents")}),
        ("Situation", {"fields": ("status", "status_override", "review_state")}),
        ("Public", {"fields": ("public_summary",)}),
        (
            "Restricted — staff only",
            {"fields": ("internal_notes",), "description": "Never shown to partners or exported."},
        ),
        ("Record", {"fields": StampedAdmin.readonly_fields, "classes": ("collapse",)}),
    )

    def get_queryset(self, request):
        # Here, not in list_select_related: autocomplete and the changelist both need it.
        queryset = super().get_queryset(request).select_related("person", "updated_by")
        return self.with_counts(queryset, event_total=Count("events", distinct=True))

    @admin.display(description="events", ordering="event_total")
    def event_count(self, obj):
        return obj.event_total

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.refresh_status()


@admin.register(DetentionEvent)
class DetentionEventAdmin(DomainAdmin):
    list_display = ("__str__", "case", "kind", "date", "location", "facility")
    list_filter = ("kind", "charge_basis")
    list_select_related = ("case__person", "location", "facility")
    search_fields = ("case__reference", "case__person__display_name", "description")
    autocomplete_fields = ("case", "location", "facility", "authority", "charges")
    fields = (
        "case",
        ("kind", "date"),
        ("location", "facility", "authority"),
        ("charges", "charge_basis"),
        "sentence",
        "description",
        *DomainAdmin.readonly_fields,
    )


@admin.register(Location)
class LocationAdmin(DomainAdmin):
    list_display = ("name_en", "name_kk", "name_zh", "kind", "facility_type", "parent")
    list_filter = ("kind", "facility_type")
    list_select_related = ("parent",)
    search_fields = ("name_en", "name_kk", "name_zh")
    autocomplete_fields = ("parent",)
    fields = (
        ("name_en", "name_kk", "name_zh"),
        ("kind", "facility_type"),
        "parent",
        ("latitude", "longitude"),
        *DomainAdmin.readonly_fields,
    )


@admin.register(Charge)
class ChargeAdmin(DomainAdmin):
    list_display = ("name", "name_zh", "article")
    search_fields = ("name", "name_zh", "article")
    fields = ("name", "name_zh", "article", "description", *DomainAdmin.readonly_fields)


@admin.register(Incident)
class IncidentAdmin(DomainAdmin):
    list_display = ("name", "date", "case_count")
    search_fields = ("name",)
    fields = ("name", "date", "description", *DomainAdmin.readonly_fields)

    def get_queryset(self, request):
        return self.with_counts(
            super().get_queryset(request), case_total=Count("cases", distinct=True)
        )

    @admin.display(description="cases", ordering="case_total")
    def case_count(self, obj):
        return obj.case_total
