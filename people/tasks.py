"""The duplicate scan as a background job (started from the jobs page by staff who review
possible duplicates, or by ``manage.py find_duplicates --background``)."""

from django.db import transaction
from django.utils.translation import gettext, gettext_noop
from django_tasks import task

from casetracker.audit import acting_as
from jobs import services as jobs
from jobs.models import Job
from people import scan as duplicate_scan


@task()
def scan_duplicates(job_id: str) -> None:
    jobs.run(job_id, scan)


def scan(job: Job, progress: jobs.Progress) -> dict:
    """Each batch of blocks commits on its own (people.scan): a job that stopped half-way
    (the worker restarted) is continued where it was when it runs again; a cancelled one
    keeps the batches done, and the next scan continues it."""
    everyone = bool(job.parameters.get("everyone") or job.parameters.get("rebuild_keys"))
    with acting_as(job.requested_by, "Duplicate scan (background job)."):
        if job.parameters.get("rebuild_keys") and not job.parameters.get("keys_rebuilt"):
            with transaction.atomic():
                duplicate_scan.rebuild_keys(
                    progress.iterate(gettext_noop("Computing the match keys"))
                )
                job.parameters["keys_rebuilt"] = True
                job.save(update_fields=["parameters"])
        try:
            return duplicate_scan.scan_duplicates(
                everyone=everyone, progress=progress.counter(gettext_noop("Comparing people"))
            )
        except duplicate_scan.ScanMovedOn:
            raise jobs.JobFailed(
                gettext(
                    "Another run of the duplicate scan (a terminal's find_duplicates) went on "
                    "with it meanwhile; this one stopped. What both found is kept."
                )
            ) from None
