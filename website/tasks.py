from django.utils.translation import gettext_noop
from django_tasks import task

from exports.bundle import BundleError
from exports.services import ExportError
from jobs import services as jobs
from website import downloads


@task()
def public_bundle(job_id: str) -> None:
    jobs.run(job_id, write_public_bundle)


def write_public_bundle(job, progress) -> dict:
    try:
        download = downloads.write_bundle(progress.counter(gettext_noop("Writing the cases")))
    except (ExportError, BundleError) as error:
        raise jobs.JobFailed(str(error)) from None
    return {"cases": download.cases, "manifest_sha256": download.manifest_sha256}
