"""The duplicate scan as a background job (started from the jobs page by staff who review
possible duplicates, or by ``manage.py find_duplicates --background``)."""

from django.db import transaction
from django.utils.translation import gettext_noop
from django_tasks import task

from casetracker.audit import acting_as
from jobs import services as jobs
from jobs.models import Job
from people import matching


@task()
def scan_duplicates(job_id: str) -> None:
    jobs.run(job_id, scan)


def scan(job: Job, progress: jobs.Progress) -> dict:
    with acting_as(job.requested_by, "Duplicate scan (background job)."), transaction.atomic():
        if job.parameters.get("rebuild_keys"):
            matching.rebuild_keys(progress.iterate(gettext_noop("Computing the match keys")))
        counts = matching.scan_duplicates(progress.iterate(gettext_noop("Comparing people")))
    return counts
