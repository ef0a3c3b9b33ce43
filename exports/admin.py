"""Exports in the admin: the export log (read-only), and on the Case changelist an "Export
published cases" page and two actions on selected cases (published only; unpublished
included, for Verifiers). cases.admin.CaseAdmin takes CaseExportMixin.

Who may export what:
- every staff member who can view cases (Data entry, Verifier, Administrator): published
  cases, all of them or of a selection;
- only holders of ``exports.export_unpublished`` (Verifiers): a selection with unpublished
  cases, every case of it they may see. Every export is logged.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import get_language, get_language_info, gettext
from django.utils.translation import gettext_lazy as _

from casetracker.admin import ReadOnlyAdmin
from exports import bundle, services
from exports.models import ExportLog
from exports.tasks import export_bundle
from jobs import services as jobs
from jobs.models import Kind
from languages.services import supported


@admin.register(ExportLog)
class ExportLogAdmin(ReadOnlyAdmin):
    list_display = (
        "at",
        "scope",
        "channel",
        "user",
        "partner",
        "case_count",
        "left_out",
        "formats",
        "manifest_sha256",
    )
    list_filter = ("scope", "channel", "partner")
    list_select_related = ("user", "partner")
    search_fields = ("manifest_sha256", "user__username", "partner__name")
    date_hierarchy = "at"
    fields = (
        "at",
        "scope",
        "channel",
        "user",
        "partner",
        "filters",
        "selected",
        "left_out",
        "formats",
        "case_count",
        "counts",
        "manifest_sha256",
    )


class ExportForm(forms.Form):
    formats = forms.MultipleChoiceField(
        label=_("Formats"),
        choices=[
            ("csv", _("CSV (cases, events, names, sources)")),
            ("json", _("JSON (the partner API's representation)")),
            ("xlsx", _("XLSX workbook")),
        ],
        initial=list(bundle.FORMATS),
        widget=forms.CheckboxSelectMultiple,
    )
    jsonl = forms.BooleanField(
        label=_("JSON Lines"), required=False, help_text=_("cases.jsonl, one case a line.")
    )
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,  # the reader's own language
        choices=[
            (code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES
        ],
        help_text=_(
            "Of the data dictionary and of the spreadsheet's column headings. CSV and JSON keep "
            "their English column codes, which programs read."
        ),
    )
    scope = forms.ChoiceField(
        choices=[("all", "all"), ("selected", "selected"), ("unpublished", "unpublished")],
        widget=forms.HiddenInput,
        initial="all",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The reader's own language unless they choose another.
        self.fields["language"].initial = supported(get_language()) or "en"


class CaseExportMixin:
    """For CaseAdmin: the export page, the two actions and the download."""

    change_list_template = "admin/exports/case_change_list.html"

    def get_urls(self):
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="cases_case_export",
            ),
            *super().get_urls(),
        ]

    def has_export_unpublished_permission(self, request):
        return services.may_export_unpublished(request.user)

    @admin.action(description=_("Export selected published cases"), permissions=["view"])
    def export_selected(self, request, queryset):
        return self._confirm(request, queryset, "selected")

    @admin.action(
        description=_("Export selected cases, unpublished included (staff export, logged)"),
        permissions=["export_unpublished"],
    )
    def export_selected_unpublished(self, request, queryset):
        return self._confirm(request, queryset, "unpublished")

    def _confirm(self, request, queryset, scope):
        cases = list(queryset.select_related("person"))
        left_out = {} if scope == "unpublished" else services.not_published_reasons(cases)
        form = ExportForm(initial={"scope": scope})
        return self._page(request, form, scope, cases=cases, left_out=left_out)

    def _page(self, request, form, scope, cases=None, left_out=None):
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Export unpublished cases")
            if scope == "unpublished"
            else gettext("Export cases"),
            "opts": self.model._meta,
            "form": form,
            "scope": scope,
            "cases": cases,
            "left_out": sorted((left_out or {}).items()),
            "left_out_total": sum((left_out or {}).values()),
            "exported_total": len(cases or []) - sum((left_out or {}).values()),
            "published_total": services.export_queryset().count() if scope == "all" else None,
        }
        return TemplateResponse(request, "admin/exports/export.html", context)

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return self._page(request, ExportForm(), "all")
        form = ExportForm(request.POST)
        if not form.is_valid():
            return self._page(request, form, request.POST.get("scope", "all"))
        scope = form.cleaned_data["scope"]
        unpublished = scope == "unpublished"
        if unpublished and not self.has_export_unpublished_permission(request):
            raise PermissionDenied
        selected = None
        if scope != "all":
            ids = [i for i in request.POST.getlist("ids") if i.isdigit()]
            # Only what this user may see (need to know), whatever ids were posted; the job
            # checks again when it runs.
            selected = sorted(
                self.get_queryset(request).filter(pk__in=ids).values_list("pk", flat=True)
            )
        return self._start(request, form.cleaned_data, selected, unpublished)

    def _start(self, request, options, selected, unpublished):
        """Queue the export as a background job and show its page, where the bundle is
        downloaded when it is ready."""
        job = jobs.start(
            export_bundle,
            Kind.EXPORT,
            user=request.user,
            parameters={
                "formats": sorted(options["formats"]),
                "jsonl": options["jsonl"],
                "language": options["language"] or None,
                "unpublished": unpublished,
                "selected": selected,
                "base_url": services.base_url_of(request),
            },
        )
        self.message_user(
            request,
            gettext(
                "The export is being prepared in the background. Its page shows how far it has "
                "got; download the bundle there when it is ready."
            ),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))
