from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect, RelatedFieldWidgetWrapper
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cases.admin import CaseAdmin, DetentionEventAdmin, DetentionEventInline
from cases.models import Case
from casetracker.admin import (
    AdminInlineVisibility,
    DomainAdmin,
    StampedAdmin,
    count_of,
    edtf_column,
)
from casetracker.audit import because
from people.admin import PersonAdmin
from sources.models import Citation, EvidenceFile, Source


class CitationInline(AdminInlineVisibility, admin.StackedInline):
    # The source picker offers, and accepts, only sources the user may see: citing a hidden
    # source from a visible case would make it visible.
    model = Citation
    fields = (("source", "locator", "credibility"), "claim", "quote")
    autocomplete_fields = ("source",)
    extra = 0


class CaseCitationInline(CitationInline):
    fk_name = "case"
    verbose_name_plural = _("citations supporting the case as a whole")


class EventCitationInline(CitationInline):
    fk_name = "event"
    verbose_name_plural = _("citations supporting this event")


class PersonCitationInline(CitationInline):
    fk_name = "person"
    verbose_name_plural = _("citations about this person")


class CitedEventForm(forms.ModelForm):
    """An event on the case page, with the citation that supports it, in one save: staff
    enter what happened and where it is said without opening the event's own page."""

    cite_source = forms.ModelChoiceField(
        queryset=Source.objects.none(),  # the sources the user may see: CitedEventInline
        required=False,
        label=_("Cited in"),
        help_text=_("The source that reports this event. Every event needs one."),
    )
    cite_locator = forms.CharField(
        required=False,
        max_length=200,
        label=_("Where in the source"),
        help_text=_("Page 3, paragraph 4, 12:30 in the video…"),
    )
    cite_claim = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("What the source says"),
        help_text=_("In your own words. Restricted: never shown to partners."),
    )
    cite_quote = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Exact words"),
        help_text=_("Optional."),
    )

    user = None  # set per request by CitedEventInline
    admin_site = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["cite_source"]  # this form's own copy
        # Only sources the user may see, with the admin's search-as-you-type picker and its
        # "+" to add a new source in a popup without leaving the case.
        if self.user is not None:
            source = Citation._meta.get_field("source")
            field.widget = RelatedFieldWidgetWrapper(
                AutocompleteSelect(source, self.admin_site),
                source.remote_field,
                self.admin_site,
                can_add_related=self.user.has_perm("sources.add_source"),
                can_change_related=False,
                can_delete_related=False,
                can_view_related=False,
            )
            # After the widget: setting the queryset gives the widget its choices.
            field.queryset = Source.objects.visible_to(self.user)

    def clean(self):
        cleaned = super().clean()
        source = cleaned.get("cite_source")
        given = any(cleaned.get(f) for f in ("cite_locator", "cite_claim", "cite_quote"))
        if source and not (cleaned.get("cite_claim") or "").strip():
            self.add_error("cite_claim", _("Say what the source says about this event."))
        elif given and not source:
            self.add_error("cite_source", _("Choose the source that says this."))
        return cleaned

    def save(self, commit=True):
        event = super().save(commit=commit)
        source = self.cleaned_data.get("cite_source")
        if source is not None:
            if not commit:
                raise ValueError("An event with a citation is saved with commit=True.")
            citation = Citation(
                source=source,
                event=event,
                locator=self.cleaned_data.get("cite_locator", ""),
                claim=self.cleaned_data["cite_claim"].strip(),
                quote=self.cleaned_data.get("cite_quote", ""),
            )
            citation.full_clean()
            citation.save()
        return event


class CitedEventInline(DetentionEventInline):
    form = CitedEventForm
    fields = (
        *DetentionEventInline.fields,
        ("cite_source", "cite_locator"),
        ("cite_claim", "cite_quote"),
    )
    show_change_link = True  # more citations of an event: on the event's own page

    def get_formset(self, request, obj=None, **kwargs):
        # A form class of this request's own: declared fields are shared by every class the
        # factory builds, so the user's choices are set on each form's copy (__init__).
        kwargs["form"] = type(
            "CitedEventForm",
            (self.form,),
            {"user": request.user, "admin_site": self.admin_site},
        )
        return super().get_formset(request, obj, **kwargs)


# Citations sit above cases and people: this app adds its inlines to their admins.
CaseAdmin.inlines = (
    *(CitedEventInline if i is DetentionEventInline else i for i in CaseAdmin.inlines),
    CaseCitationInline,
)
DetentionEventAdmin.inlines = (*DetentionEventAdmin.inlines, EventCitationInline)
PersonAdmin.inlines = (*PersonAdmin.inlines, PersonCitationInline)


class SourceCitationInline(AdminInlineVisibility, admin.StackedInline):
    model = Citation
    fk_name = "source"
    fields = (("case", "event", "person"), ("locator", "credibility"), "claim", "quote")
    autocomplete_fields = ("case", "event", "person")
    extra = 0
    verbose_name_plural = _("citations (each supports exactly one case, event or person)")

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)


class EvidenceFileForm(forms.ModelForm):
    class Meta:
        model = EvidenceFile
        fields = ("file", "description")
        # A plain file input: the admin's default widget links to the file's URL, and evidence
        # has none (it is only streamed through the permission-checked download view).
        widgets = {"file": forms.FileInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "file" in self.fields:
            # Evidence is fixed once uploaded: upload a new file instead of replacing this one.
            self.fields["file"].disabled = True
            self.fields["file"].required = False


def download_link(evidence):
    """A link to the permission-checked download, the only way to a stored evidence file.

    The file field itself is never shown read-only: Django would ask the storage for a URL,
    and evidence has none on purpose."""
    if not evidence.pk:
        return "—"
    url = reverse("evidence-download", args=[evidence.uid])
    return format_html('<a href="{}">{}</a>', url, evidence.original_name or _("download"))


class EvidenceFileInline(admin.TabularInline):
    model = EvidenceFile
    form = EvidenceFileForm
    fields = ("file", "description", "sha256", "size", "content_type", "download")
    readonly_fields = ("sha256", "size", "content_type", "download")
    extra = 0

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if not (self.has_add_permission(request, obj) or self.has_change_permission(request, obj)):
            # Read-only rows: the download link stands for the file.
            fields = [f for f in fields if f != "file"]
        return fields

    @admin.display(description=_("download"))
    def download(self, obj):
        return download_link(obj)


@admin.register(Source)
class SourceAdmin(StampedAdmin):
    list_display = (
        "title",
        "kind",
        "publisher",
        "published_in_words",
        "access",
        "reliability",
        "citation_count",
    )
    published_in_words = edtf_column("published", _("publication date"))
    list_filter = (
        "access",
        "kind",
        "reliability",
        "language",
        ("archived_at", admin.EmptyFieldListFilter),
    )
    list_select_related = ("publisher",)
    # author and url are encrypted: a URL is found by its exact address (get_search_results).
    search_fields = ("title", "publisher__name", "=uid")
    autocomplete_fields = ("publisher",)
    inlines = (EvidenceFileInline, SourceCitationInline)
    fieldsets = (
        (None, {"fields": ("title", "kind", "publisher", "author", "published", "language")}),
        (_("Where to find it"), {"fields": ("url", "archive_url")}),
        (_("Assessment and access"), {"fields": ("reliability", "access")}),
        (_("Restricted — staff only"), {"fields": ("notes",)}),
        (_("Record"), {"fields": StampedAdmin.readonly_fields, "classes": ("collapse",)}),
    )

    actions = ("archive_selected",)

    def reopen_warning_cases(self, request, obj):
        # Editing a source changes what every case citing it rests on (sources.signals).
        return list(
            Case.objects.filter(
                Q(citations__source=obj)
                | Q(events__citations__source=obj)
                | Q(person__citations__source=obj)
            ).distinct()
        )

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if "://" in search_term:
            results = results | queryset.with_url(search_term)
        return results, may_have_duplicates

    @admin.action(description=_("Archive selected sources"), permissions=["archive"])
    def archive_selected(self, request, queryset):
        with because("Archived from the source list."):  # the audit trail's words: English
            archived = queryset.filter(archived_at__isnull=True).update(archived_at=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)d source archived.", "%(count)d sources archived.", archived)
            % {"count": archived},
        )

    def has_archive_permission(self, request):
        return request.user.has_perm("sources.archive_source")

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and not (obj and obj.ever_cited_by_verified_case())

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # sources of verified cases are never deleted
        return actions

    def get_queryset(self, request):
        sources = super().get_queryset(request).visible_to(request.user)
        # Count only the citations the user may see: a total would tell that hidden cases
        # cite the source too.
        citations = Citation.objects.visible_to(request.user)
        return self.with_counts(sources, citation_total=count_of(citations, "source"))

    @admin.display(description=_("citations"))
    def citation_count(self, obj):
        return obj.citation_total

    def save_formset(self, request, form, formset, change):
        if formset.model is EvidenceFile:
            for evidence in formset.save(commit=False):
                if evidence.pk is None:
                    evidence.uploaded_by = request.user
                evidence.save()
            for evidence in formset.deleted_objects:
                evidence.delete()
            formset.save_m2m()
            return
        super().save_formset(request, form, formset, change)


@admin.register(Citation)
class CitationAdmin(DomainAdmin):
    def reopen_warning_cases(self, request, obj):
        if obj.case_id:
            return [obj.case]
        if obj.event_id:
            return [obj.event.case]
        return list(obj.person.cases.all())

    list_display = ("__str__", "source", "credibility", "locator")
    list_filter = ("credibility", "source__access")
    list_select_related = ("source", "case__person", "event__case__person", "person")
    search_fields = ("source__title", "case__reference")  # claim, quote, locator encrypted

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    autocomplete_fields = ("source", "case", "event", "person")
    fields = (
        "source",
        ("case", "event", "person"),
        ("locator", "credibility"),
        "claim",
        "quote",
        *DomainAdmin.readonly_fields,
    )


@admin.register(EvidenceFile)
class EvidenceFileAdmin(DomainAdmin):
    form = EvidenceFileForm
    list_display = ("__str__", "source", "size", "content_type", "sha256", "uploaded_by")
    list_select_related = ("source", "uploaded_by")
    search_fields = ("sha256", "source__title")  # original_name is encrypted
    autocomplete_fields = ("source",)
    readonly_fields = (
        *DomainAdmin.readonly_fields,
        "download",
        "sha256",
        "size",
        "content_type",
        "uploaded_by",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def get_fields(self, request, obj=None):
        # A stored file is fixed: its page shows the download link, never the file field.
        upload = ("file",) if obj is None else ()
        return ("source", *upload, "description", *self.readonly_fields)

    @admin.display(description=_("file"))
    def download(self, obj):
        return download_link(obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.uploaded_by = request.user
        super().save_model(request, obj, form, change)
