from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.admin.widgets import AutocompleteSelect, RelatedFieldWidgetWrapper
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from cases import services
from cases.home import my_cases
from cases.models import (
    LOCATION_NAMES,
    STAFF_KINDS,
    STAFF_PARENT_KINDS,
    Case,
    CaseTransition,
    Charge,
    DetentionEvent,
    EvidenceLevel,
    Incident,
    Location,
    LocationKind,
    ReviewState,
    place_labels,
)
from cases.readiness import ERROR, STEPS, readiness, step_checks
from casetracker.admin import DomainAdmin, NameSearchMixin, StampedAdmin, count_of, edtf_column
from casetracker.edtf import edtf_bounds
from casetracker.errors import MissingPermission
from exports.admin import CaseExportMixin
from figures.filters import CountedInFilter


def as_key(value: str) -> int | None:
    """A filter's value as a record's key, or None if it cannot be one (letters, or digits
    beyond any key: the database would refuse to compare them)."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


class PlaceFilter(admin.SimpleListFilter):
    """Cases with an event anywhere inside a region or prefecture (or the place itself)."""

    title = _("place (and everywhere inside it)")
    parameter_name = "place"
    kinds = (LocationKind.COUNTRY, LocationKind.REGION, LocationKind.PREFECTURE)

    def lookups(self, request, model_admin):
        places = Location.objects.filter(kind__in=self.kinds).only("pk", "kind", *LOCATION_NAMES)
        return [(str(place.pk), str(place)) for place in places]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        pk = as_key(self.value())
        place = Location.objects.filter(pk=pk).first() if pk is not None else None
        if place is None:
            return queryset.none()
        # EXISTS, not a join: a join repeats a case per event and needs a DISTINCT over them.
        inside = DetentionEvent.objects.filter(
            case=OuterRef("pk"), location__path__startswith=place.path
        )
        return queryset.filter(Exists(inside))


class EventDateFilter(admin.ListFilter):
    """Cases with an event that may have happened within a window of dates (EDTF at either
    end, either left open), by the partner API's rule (EventQuerySet.within): a year at a
    click among recent ones, any window through the filter's own two fields."""

    title = _("an event dated within")
    template = "admin/cases/event_date_filter.html"
    parameters = ("date_from", "date_to")
    recent_years = 12

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.values = {}
        for name in self.parameters:
            if name in params:
                value = params.pop(name)
                value = (value[-1] if isinstance(value, list) else value).strip()
                if value:
                    self.values[name] = value
        try:
            self.earliest = edtf_bounds(self.values.get("date_from", "")).earliest
            self.latest = edtf_bounds(self.values.get("date_to", "")).latest
        except ValidationError as error:
            raise IncorrectLookupParameters(error) from error
        if self.earliest and self.latest and self.earliest > self.latest:
            raise IncorrectLookupParameters(gettext("The window ends before it begins."))

    def has_output(self):
        return True

    def expected_parameters(self):
        return list(self.parameters)

    def queryset(self, request, queryset):
        if not (self.earliest or self.latest):
            return queryset
        events = DetentionEvent.objects.filter(case=OuterRef("pk")).within(
            self.earliest, self.latest
        )
        return queryset.filter(Exists(events))

    def choices(self, changelist):
        # The list's other parameters, kept by the filter's own form (its template).
        self.kept = [
            (name, value)
            for name, values in changelist.filter_params.items()  # every value of each
            if name not in self.parameters
            for value in values
        ]
        yield {
            "selected": not self.values,
            "query_string": changelist.get_query_string(remove=self.parameters),
            "display": _("All"),
        }
        this_year = timezone.localdate().year
        for year in range(this_year, this_year - self.recent_years, -1):
            window = {"date_from": str(year), "date_to": str(year)}
            yield {
                "selected": self.values == window,
                "query_string": changelist.get_query_string(window),
                "display": str(year),
            }


class VocabularyFilter(admin.SimpleListFilter):
    """Cases linked to one record of a small vocabulary (``model``): the options are the
    vocabulary itself, not a scan of every case's links to find the ones in use; the filter
    is an EXISTS on ``links(pk)``, so a case is listed once however often it is linked."""

    model = None

    def links(self, pk):
        raise NotImplementedError

    def lookups(self, request, model_admin):
        return [(str(record.pk), str(record)) for record in self.model.objects.all()]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        pk = as_key(self.value())
        if pk is None:
            return queryset.none()
        return queryset.filter(Exists(self.links(pk)))


class ChargeFilter(VocabularyFilter):
    title = _("charge")
    parameter_name = "charge"
    model = Charge

    def links(self, pk):
        return DetentionEvent.objects.filter(case=OuterRef("pk"), charges=pk)


class IncidentFilter(VocabularyFilter):
    title = _("incident")
    parameter_name = "incident"
    model = Incident

    def links(self, pk):
        return Case.incidents.through.objects.filter(case=OuterRef("pk"), incident=pk)


class MyCasesFilter(admin.SimpleListFilter):
    """The data-entry work lists of the home page (cases.home.my_cases)."""

    title = _("my cases")
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [
            ("drafts", _("my drafts")),
            ("returned", _("returned to me for changes")),
            ("in_review", _("mine in review")),
        ]

    def queryset(self, request, queryset):
        if self.value() not in {"drafts", "returned", "in_review"}:
            return queryset
        return queryset.filter(pk__in=my_cases(request.user, self.value()).values("pk"))


# --- place pickers ---------------------------------------------------------------------------


class PlaceAutocompleteJsonView(AutocompleteJsonView):
    """The admin's autocomplete for places, each shown with where it lies ("Yining (Ghulja) —
    Ili Kazakh Autonomous Prefecture"), found by any of its names (LocationAdmin.search_fields).
    Picking a place's parent, staff who add places below county level are offered only
    county-level places and those below them."""

    def process_request(self, request):
        term, model_admin, source_field, to_field_name = super().process_request(request)
        if model_admin.model is not Location:
            raise PermissionDenied
        return term, model_admin, source_field, to_field_name

    def get_queryset(self):
        queryset = super().get_queryset()
        picks_parent = self.source_field.model is Location and self.source_field.name == "parent"
        if picks_parent and not self.request.user.has_perm("cases.manage_gazetteer"):
            queryset = queryset.filter(kind__in=STAFF_PARENT_KINDS)
        return queryset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        self.labels = place_labels(context["object_list"])  # one query for the page
        return context

    def serialize_result(self, obj, to_field_name):
        return {**super().serialize_result(obj, to_field_name), "text": self.labels[obj.pk]}


class PlaceAutocomplete(AutocompleteSelect):
    url_name = "%s:cases_location_autocomplete"


class PlaceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.label


class AddsFacility(RelatedFieldWidgetWrapper):
    """The "+" beside a facility picker opens the quick facility form (LocationAdmin)."""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["url_params"] += f"&kind={LocationKind.FACILITY}"
        return context


class PlacePickers:
    """For admins and inlines with place pickers in ``autocomplete_fields``: the pickers show
    where each place lies, and the facility picker's "+" adds a facility in place (shown to
    whoever may add places: Data entry and Verifiers add facilities, README "Roles")."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Location and db_field.name in self.get_autocomplete_fields(
            request
        ):
            kwargs.setdefault(
                "widget", PlaceAutocomplete(db_field, self.admin_site, using=kwargs.get("using"))
            )
            kwargs.setdefault("form_class", PlaceChoiceField)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        widget = getattr(formfield, "widget", None)
        if db_field.name == "facility" and isinstance(widget, RelatedFieldWidgetWrapper):
            formfield.widget = AddsFacility(
                widget.widget,
                widget.rel,
                widget.admin_site,
                can_add_related=widget.can_add_related,
                can_change_related=widget.can_change_related,
                can_delete_related=widget.can_delete_related,
                can_view_related=widget.can_view_related,
            )
        return formfield


class DetentionEventInline(PlacePickers, admin.StackedInline):
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


class CaseTransitionInline(admin.TabularInline):
    model = CaseTransition
    fields = ("at", "action", "from_state", "to_state", "user", "evidence_level", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("workflow log (append-only)")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


class WorkflowForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Kept in the workflow log. Required to request changes, unpublish, archive, "
            "or lower the evidence level."
        ),
    )
    evidence_level = forms.TypedChoiceField(
        label=_("Evidence level"),
        choices=[("", _("As suggested")), *EvidenceLevel.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )


# action name → the service that takes the step (its permission and label: readiness.STEPS)
WORKFLOW_ACTIONS = {
    "submit": services.submit_for_review,
    "request_changes": services.request_changes,
    "verify": services.verify,
    "publish": services.publish,
    "unpublish": services.unpublish,
    "archive": services.archive,
}


@admin.register(Case)
class CaseAdmin(CaseExportMixin, NameSearchMixin, StampedAdmin):
    name_search_lookup = "person__names__search_name"
    change_form_template = "admin/cases/case/change_form.html"
    list_display = (
        "reference",
        "person",
        "status",
        "review_state",
        "is_published",
        "evidence_level",
        "sensitive",
        "event_count",
        "updated_at",
        "updated_by",
    )
    list_filter = (
        MyCasesFilter,
        "review_state",
        "is_published",
        "evidence_level",
        "sensitive",
        "status",
        "person__ethnicity",
        "person__gender",
        EventDateFilter,
        ChargeFilter,
        PlaceFilter,
        IncidentFilter,
        ("archived_at", admin.EmptyFieldListFilter),
        CountedInFilter,  # the statistics page's links (figures.filters)
    )
    # The person's names, in every spelling and script, are searched by NameSearchMixin.
    search_fields = ("reference", "=uid")
    autocomplete_fields = ("person", "incidents", "assigned_staff")
    inlines = (DetentionEventInline,)  # sources.admin adds the citations inline
    readonly_fields = (
        *StampedAdmin.readonly_fields,
        "reference",
        "status",
        "review_state",
        "evidence_level",
        "evidence_level_reason",
        "verified_by",
        "verified_at",
        "is_published",
        "published_at",
        "archived_at",
    )
    fieldsets = (
        (None, {"fields": ("reference", "person", "incidents")}),
        (_("Situation"), {"fields": ("status", "status_override")}),
        (
            _("Verification and publication"),
            {
                "fields": (
                    ("review_state", "is_published", "archived_at"),
                    ("evidence_level", "evidence_level_reason"),
                    ("verified_by", "verified_at", "published_at"),
                )
            },
        ),
        (_("Need to know"), {"fields": ("sensitive", "assigned_staff")}),
        (_("Public"), {"fields": ("public_summary",)}),
        (
            _("Restricted — staff only"),
            {
                "fields": ("internal_notes",),
                "description": _("Never shown to partners or exported."),
            },
        ),
        (_("Record"), {"fields": StampedAdmin.readonly_fields, "classes": ("collapse",)}),
    )
    actions = (
        "submit_selected",
        "publish_selected",
        # exports.admin.CaseExportMixin; "Export published cases" is on the changelist.
        "export_selected",
        "export_selected_unpublished",
    )

    def get_queryset(self, request):
        # Here, not in list_select_related: autocomplete and the changelist both need it.
        queryset = (
            super()
            .get_queryset(request)
            .visible_to(request.user)
            .select_related("person", "updated_by")
        )
        return self.with_counts(queryset, event_total=count_of(DetentionEvent.objects, "case"))

    def get_inlines(self, request, obj):
        inlines = list(super().get_inlines(request, obj))
        return [*inlines, CaseTransitionInline] if obj else inlines

    @admin.display(description=_("events"))
    def event_count(self, obj):
        return obj.event_total

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        case = form.instance
        if case.sensitive and not case.assigned_staff.filter(pk=request.user.pk).exists():
            # Whoever marks a case sensitive keeps seeing it.
            case.assigned_staff.add(request.user)
        case.refresh_status()

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and not (obj and (obj.archived_at or obj.ever_verified()))

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # verified cases are archived, never deleted
        return actions

    # --- workflow ---------------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/workflow/<str:action>/",
                self.admin_site.admin_view(self.workflow_view),
                name="cases_case_workflow",
            ),
            path(
                "<path:object_id>/print/",
                self.admin_site.admin_view(self.print_view),
                name="cases_case_print",
            ),
            *super().get_urls(),
        ]

    def print_view(self, request, object_id):
        """The case file on paper, for review meetings and files: the case, the person with
        every spelling, the events in order with their citations and sources. Staff only,
        and marked so: it holds restricted data (claims, internal notes)."""
        case = self.get_object(request, unquote(object_id))
        if case is None:
            raise Http404
        if not self.has_view_or_change_permission(request, case):
            raise PermissionDenied
        # Only the citations the user may see: the person's citations may belong to a hidden
        # case of theirs too (need to know, sources.models.CitationQuerySet.visible_to).
        citations = services.case_citations(case)
        visible = citations.model.objects.visible_to(request.user).values("pk")
        case_citations = list(
            citations.filter(pk__in=visible).select_related("source__publisher", "event")
        )
        events = list(case.events.select_related("location", "facility", "authority"))
        by_event = {event.pk: [] for event in events}
        general = []
        for citation in case_citations:
            by_event.get(citation.event_id, general).append(citation)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Case file %(reference)s") % {"reference": case.reference},
            "opts": self.model._meta,
            "original": case,
            "case": case,
            "person": case.person,
            "names": case.person.names.order_by("-is_preferred", "pk"),
            "events": [(event, by_event[event.pk]) for event in events],
            "general_citations": general,
            "transitions": case.transitions.select_related("user").order_by("at", "pk"),
        }
        return TemplateResponse(request, "admin/cases/case/print.html", context)

    reopen_warning_in_page = True  # VERIFIED_WARNING, above the form

    def reopen_warning_cases(self, request, obj):
        return [obj]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        case = self.get_object(request, unquote(object_id))
        if case is not None:
            # The panel and the buttons: every step with the reasons it would be refused.
            extra_context["readiness"] = readiness(case, request.user)
            if case.review_state == ReviewState.VERIFIED:
                extra_context["verified_warning"] = VERIFIED_WARNING
            held = (
                Case.objects.filter(pk=case.pk, snapshot__held_since__isnull=False)
                .values_list("snapshot__held_since", flat=True)
                .first()
            )
            if held and case.verified_at:
                extra_context["held_notice"] = HELD_NOTICE % {
                    "verified": formats.date_format(timezone.localtime(case.verified_at)),
                    "since": formats.date_format(timezone.localtime(held)),
                }
        return super().change_view(request, object_id, form_url, extra_context)

    def workflow_view(self, request, object_id, action):
        case = self.get_object(request, unquote(object_id))
        if case is None or action not in WORKFLOW_ACTIONS:
            raise Http404
        service = WORKFLOW_ACTIONS[action]
        permission, label = STEPS[action]
        label = str(label)
        if not request.user.has_perm(permission):
            raise MissingPermission(permission)  # the 403 page names the roles that have it
        form = WorkflowForm(request.POST or None, initial={"evidence_level": None})
        suggested = services.suggest_evidence_level(case) if action == "verify" else None
        if action == "verify" and not request.POST:
            form.initial["evidence_level"] = suggested
        checks = step_checks(case, request.user, action)
        blocked = any(check.level == ERROR for check in checks)
        if request.method == "POST" and form.is_valid():
            kwargs = {"reason": form.cleaned_data["reason"]}
            if action == "verify":
                kwargs["evidence_level"] = form.cleaned_data["evidence_level"]
            try:
                service(case, request.user, **kwargs)
            except services.TransitionRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                self.message_user(
                    request,
                    gettext("%(reference)s: %(step)s — done.")
                    % {"reference": case.reference, "step": label.lower()},
                )
                return HttpResponseRedirect(reverse("admin:cases_case_change", args=[case.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("%(step)s: %(case)s") % {"step": label, "case": case},
            "opts": self.model._meta,
            "original": case,
            "case": case,
            "action": action,
            "action_label": label,
            "form": form,
            "suggested_level": suggested and EvidenceLevel(suggested).label,
            "state_label": services.state_label(case),
            "checks": checks,
            "blocked": blocked,
        }
        return TemplateResponse(request, "admin/cases/case/workflow.html", context)

    def _bulk(self, request, queryset, service, done):
        """``done(count)``: the message for the cases the step went through."""
        succeeded = 0
        for case in queryset:
            try:
                service(case, request.user)
                succeeded += 1
            except services.TransitionRefused as refusal:
                self.message_user(request, f"{case.reference}: {refusal}", messages.WARNING)
        if succeeded:
            self.message_user(request, done(succeeded), messages.SUCCESS)

    # English keeps "case(s)" in both forms; the catalogues give each its plurals.
    @admin.action(description=_("Submit selected cases for review"), permissions=["change"])
    def submit_selected(self, request, queryset):
        def done(count):
            return ngettext(
                "%(count)d case(s) submitted for review.",
                "%(count)d case(s) submitted for review.",
                count,
            ) % {"count": count}

        self._bulk(request, queryset, services.submit_for_review, done)

    @admin.action(description=_("Publish selected verified cases"), permissions=["publish"])
    def publish_selected(self, request, queryset):
        def done(count):
            return ngettext(
                "%(count)d case(s) published.", "%(count)d case(s) published.", count
            ) % {"count": count}

        self._bulk(request, queryset, services.publish, done)

    def has_publish_permission(self, request):
        return request.user.has_perm("cases.publish_case")


VERIFIED_WARNING = _(
    "This case is verified. Saving any change to it, its events, citations, person or names "
    "sends it back to review; until it is verified again, partners keep seeing the version "
    "last verified. To take it away from partners at once, a Verifier unpublishes it."
)

HELD_NOTICE = _(
    "A correction of this published case is in review (since %(since)s). Partners still see "
    "the version verified on %(verified)s until a Verifier verifies the correction. To take "
    "the case away from partners at once, a Verifier unpublishes it."
)


@admin.register(DetentionEvent)
class DetentionEventAdmin(PlacePickers, DomainAdmin):
    list_display = ("__str__", "case", "kind", "date_in_words", "location", "facility")
    date_in_words = edtf_column("date", _("date"))
    list_filter = ("kind", "charge_basis")
    list_select_related = ("case__person", "location", "facility")
    search_fields = ("case__reference", "case__person__display_name", "description")

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def reopen_warning_cases(self, request, obj):
        return [obj.case]

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


class LocationForm(forms.ModelForm):
    """The place form: the model's rules, then who may save the place as it stands
    (Location.check_editor). LocationAdmin.get_form sets ``editor``."""

    editor = None

    def _post_clean(self):
        super()._post_clean()
        if self.editor is None or "kind" in self.errors:
            return
        try:
            self.instance.check_editor(self.editor)
        except ValidationError as error:
            errors = error.update_error_dict({})
            # Each field's first problem is enough: the model's own (e.g. a county inside a
            # county) comes first.
            self._update_errors(
                ValidationError({f: e for f, e in errors.items() if f not in self.errors})
            )


@admin.register(Location)
class LocationAdmin(PlacePickers, DomainAdmin):
    """Places. Administrators keep the gazetteer (countries, regions, prefectures, counties);
    Data entry and Verifiers add townships, villages and facilities below county level, and
    change the ones Location.objects.changeable_by() gives them. Opened with ``?kind=facility``
    (the "+" beside an event's facility picker), the add form asks only for what a facility
    needs."""

    form = LocationForm
    list_display = ("name_en", "name_kk", "name_zh", "name_ru", "kind", "facility_type", "parent")
    list_filter = ("kind", "facility_type")
    list_select_related = ("parent",)
    search_fields = ("name_en", "name_kk", "name_zh", "name_ru")
    autocomplete_fields = ("parent",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("name_en", "name_kk"),
                    ("name_zh", "name_ru"),
                    ("kind", "facility_type"),
                    "parent",
                    ("latitude", "longitude"),
                )
            },
        ),
        (_("Record"), {"fields": DomainAdmin.readonly_fields, "classes": ("collapse",)}),
    )
    quick_facility_fieldsets = (
        (
            None,
            {
                "fields": (
                    "name_en",
                    ("name_kk", "name_zh", "name_ru"),
                    "facility_type",
                    "parent",
                    "kind",
                ),
                "description": _(
                    "A prison, camp, detention centre or other facility, inside the county or "
                    "township where it lies."
                ),
            },
        ),
        (
            _("Coordinates, if known"),
            {"fields": (("latitude", "longitude"),), "classes": ("collapse",)},
        ),
    )

    def get_urls(self):
        return [
            path(
                "autocomplete/",
                self.admin_site.admin_view(
                    PlaceAutocompleteJsonView.as_view(admin_site=self.admin_site)
                ),
                name="cases_location_autocomplete",
            ),
            *super().get_urls(),
        ]

    def is_quick_facility(self, request, obj=None) -> bool:
        return obj is None and request.GET.get("kind") == LocationKind.FACILITY

    def get_fieldsets(self, request, obj=None):
        if self.is_quick_facility(request, obj):
            return self.quick_facility_fieldsets
        return super().get_fieldsets(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.editor = request.user
        kind = form.base_fields.get("kind")
        if kind is not None and self.is_quick_facility(request, obj):
            kind.widget = forms.HiddenInput()
        elif kind is not None and not request.user.has_perm("cases.manage_gazetteer"):
            # Only offered, not enforced, here: LocationForm refuses the others with a reason.
            kind.widget.choices = [
                choice for choice in kind.choices if choice[0] in ("", *STAFF_KINDS)
            ]
        return form

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return (
            obj is None or Location.objects.changeable_by(request.user).filter(pk=obj.pk).exists()
        )


@admin.register(Charge)
class ChargeAdmin(DomainAdmin):
    list_display = ("name", "name_zh", "article")
    search_fields = ("name", "name_zh", "article")
    fields = ("name", "name_zh", "article", "description", *DomainAdmin.readonly_fields)


@admin.register(Incident)
class IncidentAdmin(DomainAdmin):
    list_display = ("name", "date_in_words", "case_count")
    date_in_words = edtf_column("date", _("date"))
    search_fields = ("name",)
    fields = ("name", "date", "description", *DomainAdmin.readonly_fields)

    def get_queryset(self, request):
        # Only the cases the user may see are counted: a total would tell of hidden ones.
        visible = Case.objects.visible_to(request.user)
        links = Case.incidents.through.objects.filter(case__in=visible)
        return self.with_counts(
            super().get_queryset(request), case_total=count_of(links, "incident")
        )

    @admin.display(description=_("cases"))
    def case_count(self, obj):
        return obj.case_total
