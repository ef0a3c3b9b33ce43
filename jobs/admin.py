"""Background jobs in the admin: the list of one's jobs (every job, for those who may see them
all), each job's page with its progress, how it ended and its file to download, and the buttons
that start the maintenance jobs.

Who may do what:
- every staff member with a role (``cases.view_case``): see their own jobs, download their
  own files, cancel their own jobs;
- ``jobs.view_every_job`` (Administrators): see every job, never download another's file (it
  holds what that person may see) and never cancel another's job;
- start a duplicate scan: whoever reviews possible duplicates
  (``people.change_duplicatecandidate``); rebuild the published snapshots:
  ``jobs.run_maintenance`` (Administrators).
"""

import uuid

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import FileResponse, Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_tasks_db.models import DBTaskResult

from casetracker.admin import ReadOnlyAdmin
from jobs import services
from jobs.models import Job, Kind, State

STAFF_WITH_A_ROLE = "cases.view_case"
SCAN_DUPLICATES = "people.change_duplicatecandidate"
RUN_MAINTENANCE = "jobs.run_maintenance"

# What each figure of a job's outcome is called on its page.
OUTCOME_LABELS = {
    "cases": _("Cases exported"),
    "manifest_sha256": _("SHA-256 of manifest.json"),
    "snapshots written": _("Snapshots written"),
    "snapshots removed": _("Snapshots removed"),
    "pairs compared": _("Pairs of people compared"),
    "created": _("New possible duplicates"),
    "updated": _("Updated"),
    "unchanged": _("Unchanged"),
    "kept": _("Already decided by staff, left so"),
    "rechecked": _("Earlier pairs not listed again, scored once more"),
    "withdrawn": _("No longer alike, withdrawn"),
    "people changed": _("People added or changed since the last scan (with their families)"),
    "big keys": _("Names so common that their bearers were compared in smaller groups"),
    "rows": _("Rows checked"),
    "errors": _("Errors found"),
    "people_created": _("People created"),
    "cases_created": _("Cases created"),
    "cases_updated": _("Cases updated"),
    "duplicates_flagged": _("Possible duplicates to review"),
}


def startable(user) -> list[tuple[str, str, str]]:
    """The jobs ``user`` may start from the jobs page: (kind, label, help)."""
    kinds = []
    if user.has_perm(SCAN_DUPLICATES):
        kinds.append(
            (
                Kind.DUPLICATES,
                gettext("Scan for possible duplicates"),
                gettext(
                    "Compares the people added or changed since the last scan (everyone, the "
                    "first time) with those whose names may be theirs, and lists the likely "
                    "pairs under People › Possible duplicates. A scan that stopped half-way "
                    "is continued."
                ),
            )
        )
    if user.has_perm(RUN_MAINTENANCE) and (
        settings.PUBLIC_SITE or settings.PUBLIC_DOWNLOADS_AFTER_PUBLISHING
    ):
        kinds.append(
            (
                Kind.PUBLIC_DOWNLOAD,
                gettext("Write the public data download"),
                gettext(
                    "Writes every published case into the file the public website offers "
                    "for download, with its manifest and checksums."
                ),
            )
        )
    if user.has_perm(RUN_MAINTENANCE):
        kinds.append(
            (
                Kind.SNAPSHOTS,
                gettext("Rebuild the published snapshots"),
                gettext(
                    "Writes every published case again as partners see it, from the live "
                    "records. Partners are served throughout."
                ),
            )
        )
    return kinds


def batch_url(job, user) -> str:
    if "batch" not in job.parameters or not user.has_perm("imports.view_importbatch"):
        return ""
    view = "preview" if job.kind == Kind.IMPORT_CHECK else "change"
    return reverse(f"admin:imports_importbatch_{view}", args=[job.parameters["batch"]])


def tasks_for():
    # Imported here: the tasks' apps import jobs.services.
    from people.tasks import scan_duplicates
    from snapshots.tasks import rebuild_snapshots
    from website.tasks import public_bundle

    return {
        Kind.DUPLICATES: scan_duplicates,
        Kind.SNAPSHOTS: rebuild_snapshots,
        Kind.PUBLIC_DOWNLOAD: public_bundle,
    }


# The queue's own rows (django_tasks_db) are machinery: the jobs are what people follow. Its
# admin would show task arguments and tracebacks, untranslated, to superusers.
if admin.site.is_registered(DBTaskResult):
    admin.site.unregister(DBTaskResult)


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = (
        "kind",
        "state_and_progress",
        "requester",
        "requested_at",
        "finished_at",
        "download",
    )
    list_filter = ("state", "kind")
    # A partner's export (exports.PartnerExport) names the partner who asked for it.
    list_select_related = ("requested_by", "partner_export__partner")
    change_list_template = "admin/jobs/job/change_list.html"
    change_form_template = "admin/jobs/job/change_form.html"
    date_hierarchy = None

    fields = (
        "kind",
        "state",
        "requester",
        "requested_at",
        "started_at",
        "finished_at",
        "attempts",
        "parameters",
        "error",
        "file_name",
        "file_size",
        "file_sha256",
        "file_expires_at",
        "downloads",
    )

    @admin.display(description=_("requested by"), ordering="requested_by")
    def requester(self, job):
        if job.requested_by_id:
            return job.requested_by
        try:
            partner = job.partner_export.partner
        except ObjectDoesNotExist:
            return gettext("the command line")
        return gettext("Partner: %(partner)s (partner API)") % {"partner": partner}

    def has_view_permission(self, request, obj=None):
        user = request.user
        # Staff with a role (every role sees cases); a staff account without one, nothing.
        return bool(user.is_active and user.is_staff and user.has_perm(STAFF_WITH_A_ROLE)) and (
            obj is None or obj.requested_by_id == user.pk or user.has_perm("jobs.view_every_job")
        )

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def get_queryset(self, request):
        mine = ExpressionWrapper(Q(requested_by_id=request.user.pk), output_field=BooleanField())
        jobs = super().get_queryset(request).visible_to(request.user).annotate(is_mine=mine)
        # A partner export's partner by name alone: its contact and notes stay encrypted.
        return jobs.defer(
            "partner_export__filters",
            "partner_export__partner__contact_name",
            "partner_export__partner__contact_email",
            "partner_export__partner__notes",
        )

    def get_list_filter(self, request):
        return self.list_filter

    @admin.display(description=_("state"))
    def state_and_progress(self, job):
        if job.state == State.RUNNING and job.percent is not None:
            return format_html("{} ({} %)", job.get_state_display(), job.percent)
        return job.get_state_display()

    @admin.display(description=_("file"))
    def download(self, job):
        if job.is_mine and services.has_file(job):
            return format_html(
                '<a href="{}">{}</a>',
                reverse("admin:jobs_job_download", args=[job.pk]),
                gettext("Download"),
            )
        return ""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/download/", view(self.download_view), name="jobs_job_download"),
            path("<path:object_id>/cancel/", view(self.cancel_view), name="jobs_job_cancel"),
            path("start/<str:kind>/", view(self.start_view), name="jobs_job_start"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        services.recover()
        services.prune()
        extra_context = {
            **(extra_context or {}),
            "startable": startable(request.user),
            "hours": settings.JOB_FILES_KEPT_HOURS,
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        services.recover()
        job = self._job(request, object_id)
        mine = job.requested_by_id == request.user.pk
        outcome = [
            (OUTCOME_LABELS.get(key, key), value)
            for key, value in job.outcome.items()
            if key in OUTCOME_LABELS
        ]
        extra_context = {
            **(extra_context or {}),
            "job": job,
            "stage": gettext(job.stage) if job.stage else "",
            "outcome": outcome,
            "may_download": services.has_file(job) and services.may_download(job, request.user),
            "may_cancel": mine and job.is_open and not job.cancel_requested,
            "title": str(job),
            # An import's batch: what its check found (and the button that imports it), or,
            # once imported, the batch itself; for those who may open batches.
            "batch_url": batch_url(job, request.user),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _job(self, request, object_id) -> Job:
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = self.get_queryset(request).filter(pk=_uuid(object_id)).first()
        if job is None:
            raise Http404
        return job

    def download_view(self, request, object_id):
        job = self._job(request, object_id)
        reader = services.open_file(job, request.user)
        if reader is None:
            raise Http404  # not theirs, expired, or never made: the same answer
        response = FileResponse(reader, as_attachment=True, filename=job.file_name)
        response["Content-Type"] = "application/zip"
        response["Cache-Control"] = "no-store"
        return response

    def cancel_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self._job(request, object_id)
        if job.requested_by_id != request.user.pk:
            raise Http404
        outcome = services.cancel(job)
        if outcome == State.CANCELLED:
            self.message_user(request, gettext("The job is cancelled."), messages.SUCCESS)
        elif outcome == State.RUNNING:
            self.message_user(
                request,
                gettext("The job stops at its next step; the step it is in is undone."),
                messages.SUCCESS,
            )
        else:
            self.message_user(request, gettext("The job had already ended."), messages.WARNING)
        return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))

    def start_view(self, request, kind):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if kind not in {k for k, _label, _help in startable(request.user)}:
            raise PermissionDenied
        # One at a time: a second scan or rebuild would only redo the first.
        job = services.open_job(kind)
        if job is not None:
            self.message_user(
                request,
                gettext("This job is already waiting or running; here it is."),
                messages.WARNING,
            )
            if not self.has_view_permission(request, job):
                return HttpResponseRedirect(reverse("admin:jobs_job_changelist"))
        else:
            job = services.start(tasks_for()[kind], kind, user=request.user)
            self.message_user(
                request,
                gettext("The job is queued. This page shows how far it has got."),
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))


def _uuid(text):
    try:
        return uuid.UUID(unquote(str(text)))
    except ValueError:
        raise Http404 from None
