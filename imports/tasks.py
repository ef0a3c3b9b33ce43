"""Imports as background jobs: the admin's upload queues the check of the file (its preview),
and its confirmation queues the import; the uploader follows both on the job's page."""

from django.template.loader import render_to_string
from django.utils.translation import gettext, gettext_noop
from django_tasks import task

from imports import services
from imports.models import BatchStatus, ImportBatch
from jobs import services as jobs
from jobs.models import Job

# What each step of imports.services reports is called on the job's page.
STEPS = {
    "checked": gettext_noop("Checking the rows"),
    "written": gettext_noop("Writing the records"),
    "duplicates sought": gettext_noop("Looking for possible duplicates"),
}
# What the preview lists of each kind before saying "and N more".
PREVIEW_LIMIT = 200


@task()
def check_file(job_id: str) -> None:
    jobs.run(job_id, check)


@task()
def import_file(job_id: str) -> None:
    jobs.run(job_id, write)


def reporter(progress: jobs.Progress):
    """imports.services reports ``(step, n)``; the job shows each step with its count."""
    current = []

    def report(step: str, n: int) -> None:
        if current != [step]:
            current[:] = [step]
            progress.step(STEPS.get(step, step))
        progress.advance(n)

    return report


def _batch(job: Job) -> ImportBatch:
    batch = ImportBatch.objects.filter(pk=job.parameters["batch"]).first()
    if batch is None:
        raise jobs.JobFailed(gettext("The import batch of this job no longer exists."))
    return batch


def check(job: Job, progress: jobs.Progress) -> dict:
    batch = _batch(job)
    if batch.status in (BatchStatus.PREVIEWED, BatchStatus.INVALID) and batch.preview:
        # Checked by an earlier run whose worker died before it could say so.
        return {"batch": batch.pk, "rows": batch.rows, "errors": batch.error_count}
    try:
        result = services.preview_batch(
            batch, job.requested_by, progress=reporter(progress), render=render_preview
        )
    except services.ImportRefused as refused:
        raise jobs.JobFailed(str(refused)) from None
    return {"batch": batch.pk, "rows": result.plan.rows, "errors": len(result.plan.errors)}


def write(job: Job, progress: jobs.Progress) -> dict:
    batch = _batch(job)
    try:
        result = services.import_batch(batch, job.requested_by, progress=reporter(progress))
    except services.ImportRefused as refused:
        raise jobs.JobFailed(str(refused)) from None
    if result.batch.status == BatchStatus.FAILED:
        raise jobs.JobFailed(
            gettext("Nothing was imported: %(failure)s") % {"failure": result.batch.failure}
        )
    if result.batch.status == BatchStatus.INVALID:
        services.keep_preview(result.batch, render_preview(result.plan))  # its errors now
        raise jobs.JobFailed(
            gettext(
                "Nothing was imported: the file no longer passes the checks (the records "
                "changed since the preview). The import batch lists the errors."
            )
        )
    counts = result.plan.counts()
    return {"batch": batch.pk, **{k: counts[k] for k in IMPORTED_COUNTS}}


IMPORTED_COUNTS = ["people_created", "cases_created", "cases_updated", "duplicates_flagged"]


def render_preview(plan) -> str:
    """What the check found, as the preview page shows it, in the uploader's language."""
    lists = {
        name: (items[:PREVIEW_LIMIT], max(0, len(items) - PREVIEW_LIMIT))
        for name, items in {
            "people_created": plan.people_created,
            "people_updated": plan.people_updated,
            "cases_created": plan.cases_created,
            "cases_updated": plan.cases_updated,
            "events_created": plan.events_created,
            "events_updated": plan.events_updated,
            "duplicates": plan.possible_duplicates,
        }.items()
    }
    context = {"plan": plan, "counts": plan.counts(), "lists": lists}
    return render_to_string("admin/imports/importbatch/_plan.html", context)
