"""Imports in the admin: past batches (read-only), and upload → preview → confirm.

Nothing is written until the person who uploaded the file has seen the preview (what will be
created, updated, flagged as a possible duplicate, and every error) and confirmed it."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from casetracker.admin import ReadOnlyAdmin
from imports import services
from imports.models import COUNT_FIELDS, ImportBatch
from imports.parsing import MAX_FILE_BYTES, MAX_ROWS
from imports.tasks import check_file, import_file
from imports.template import COLUMNS, SEPARATOR, template_csv, template_xlsx
from jobs import services as jobs
from jobs.models import OPEN_STATES, Job, Kind
from people.models import Organisation

# Who sees every import batch, not only their own: whoever may see every sensitive case
# (cases.models.CaseQuerySet.visible_to).
SEE_EVERY_CASE = "cases.view_sensitive_case"


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=format_lazy(
            _(
                "CSV (UTF-8) or XLSX with the list on a single sheet (the template's "
                "Instructions sheet may stay), up to {megabytes} MB and {rows} rows, in the "
                "columns of the template, its example rows deleted."
            ),
            megabytes=MAX_FILE_BYTES // 2**20,
            rows=f"{MAX_ROWS:,}",
        ),
    )
    group = forms.ModelChoiceField(
        Organisation.objects.all(),
        label=_("submitted by"),
        help_text=_("The group whose list this is. Its external ids are kept per group."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(megabytes)s MB; split it."),
                code="too_large",
                params={"megabytes": MAX_FILE_BYTES // 2**20},
            )
        return upload


def visible_batches(queryset, user):
    """The import batches of ``queryset`` that ``user`` may see (the admin's rule)."""
    # Never the stored file and preview in lists: large, and decrypted for nothing.
    queryset = queryset.defer("content", "preview")
    if user.has_perm(SEE_EVERY_CASE):
        return queryset
    return queryset.filter(created_by_id=user.pk)


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "file_name",
        "group",
        "created_by",
        "status",
        "last_seen_at",
        "dry_run",
        "rows",
        "people_created",
        "cases_created",
        "events_created",
        "duplicates_flagged",
        "error_count",
    )
    list_filter = ("status", "dry_run", "group")
    list_select_related = ("group", "created_by")
    search_fields = ("file_name", "sha256", "group__name")
    date_hierarchy = "created_at"
    change_list_template = "admin/imports/importbatch/change_list.html"
    fields = (
        "file_name",
        "sha256",
        "size",
        "format",
        "group",
        "created_by",
        "created_at",
        "finished_at",
        "last_seen_at",
        "process",
        "dry_run",
        "status",
        "failure",
        "rows",
        *COUNT_FIELDS,
        "error_count",
        "error_list",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        """The batches this user uploaded, or every batch for those who may see every case.

        A batch repeats its file: its name, counts and stored errors quote cell values, and a
        verifier's batch may name a person or case of a sensitive case. The rule is the one of
        Case.objects.visible_to: only staff entitled to every sensitive case see them all."""
        return visible_batches(super().get_queryset(request), request.user)

    def get_object(self, request, object_id, from_field=None):
        # Someone else's batch is as good as absent: 404 on every page by id (change,
        # history), as for an id that never existed, not the admin's "doesn't exist" redirect.
        batch = super().get_object(request, object_id, from_field)
        if batch is None:
            raise Http404
        return batch

    @admin.display(description=_("process"))
    def process(self, obj):
        if not obj.pid:
            return "-"
        return gettext("%(pid)s on %(host)s") % {"pid": obj.pid, "host": obj.host or "?"}

    @admin.display(description=_("errors found"))
    def error_list(self, obj):
        if not obj.errors:
            return gettext("None.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{}</li>",
                ((str(services.RowError(**error)),) for error in obj.errors),
            ),
        )

    def get_urls(self):
        def view(function):
            # Outside the request's transaction, as the command runs: the batch's "running"
            # state and heartbeat must be visible to other processes while it imports.
            return transaction.non_atomic_requests(self.admin_site.admin_view(function))

        return [
            path("upload/", view(self.upload_view), name="imports_importbatch_upload"),
            path(
                "<path:object_id>/preview/",
                view(self.preview_view),
                name="imports_importbatch_preview",
            ),
            path(
                "<path:object_id>/confirm/",
                view(self.confirm_view),
                name="imports_importbatch_confirm",
            ),
            path(
                "template.<str:fmt>",
                view(self.template_view),
                name="imports_importbatch_template",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        # A batch whose process has gone shows, and filters, as interrupted, not running.
        services.mark_interrupted_batches()
        extra_context = {**(extra_context or {}), "can_import": services.can_import(request.user)}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        services.mark_interrupted_batches()
        return super().change_view(request, object_id, form_url, extra_context)

    def _require_import(self, request):
        if not services.can_import(request.user):
            raise PermissionDenied

    def _render(self, request, template, title, **context):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "columns": COLUMNS,
            "separator": SEPARATOR,
            "max_rows": MAX_ROWS,
            **context,
        }
        response = TemplateResponse(request, f"admin/imports/importbatch/{template}", context)
        response["Cache-Control"] = "no-store"  # a preview shows names from the file
        return response

    def upload_view(self, request):
        self._require_import(request)
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                batch = services.receive_file(
                    upload.read(), upload.name, user=request.user, group=form.cleaned_data["group"]
                )
            except services.ImportRefused as refused:
                self.message_user(request, str(refused), messages.ERROR)
                return HttpResponseRedirect(reverse("admin:imports_importbatch_changelist"))
            job = jobs.start(
                check_file, Kind.IMPORT_CHECK, user=request.user, parameters={"batch": batch.pk}
            )
            self.message_user(
                request,
                gettext(
                    "The file is being checked in the background. When the check is done, "
                    "open the import batch from this page to see what it found and confirm it."
                ),
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))
        return self._render(request, "upload.html", gettext("Import a case list"), form=form)

    def preview_view(self, request, object_id):
        """What the check of a file found, and, for its uploader while it waits, the button
        that imports it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        services.mark_interrupted_batches()
        if not str(object_id).isdigit():
            raise Http404
        batch = self.get_queryset(request).filter(pk=object_id).first()
        if batch is None:
            raise Http404
        return self._render(
            request,
            "preview.html",
            gettext("Preview of %(file_name)s") % {"file_name": batch.file_name},
            batch=batch,
            counts={name: getattr(batch, name) for name in COUNT_FIELDS},
        )

    def confirm_view(self, request, object_id):
        self._require_import(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        batch = self.get_queryset(request).filter(pk=unquote(object_id)).first()
        # Someone else's upload is as good as absent: it may name people not yet shared. Only
        # its uploader confirms it, even among those who may see it.
        if batch is None or batch.created_by_id != request.user.pk:
            raise Http404
        services.expire_stale_previews()
        batch.refresh_from_db()
        try:
            services.check_confirmable(batch, request.user)
        except services.ImportRefused as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return HttpResponseRedirect(
                reverse("admin:imports_importbatch_change", args=[batch.pk])
            )
        job = Job.objects.filter(
            kind=Kind.IMPORT, state__in=OPEN_STATES, parameters__batch=batch.pk
        ).first() or jobs.start(
            import_file, Kind.IMPORT, user=request.user, parameters={"batch": batch.pk}
        )
        self.message_user(
            request,
            gettext("The import is running in the background; this page shows how far it has got."),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))

    def template_view(self, request, fmt):
        self._require_import(request)
        if fmt == "csv":
            content, kind = template_csv(), "text/csv; charset=utf-8"
        elif fmt == "xlsx":
            kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            content = template_xlsx()
        else:
            raise Http404
        response = HttpResponse(content, content_type=kind)
        response["Content-Disposition"] = f'attachment; filename="casetracker-import.{fmt}"'
        return response
