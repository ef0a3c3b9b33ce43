"""The rebuild of the published snapshots as a background job (started by an administrator
from the jobs page, or by ``manage.py rebuild_snapshots --background``)."""

from django.utils.translation import gettext_noop
from django_tasks import task

from jobs import services as jobs
from jobs.models import Job
from snapshots import writer


@task()
def rebuild_snapshots(job_id: str) -> None:
    jobs.run(job_id, rebuild)


def rebuild(job: Job, progress: jobs.Progress) -> dict:
    result = writer.rebuild(progress.counter(gettext_noop("Writing the snapshots")))
    return {"snapshots written": result["written"], "snapshots removed": result["removed"]}
